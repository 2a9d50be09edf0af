import { FakeOkta } from './fakeOkta';
import { startPullHarness, type PullHarness } from './pullHarness';

export interface OktaHarness extends PullHarness {
  okta: FakeOkta;
  /** The API service app the connection signs for (DPoP required, every read scope, Read-only Administrator). */
  clientId: string;
  /** Its private key as Okta's console gives it (JSON with its kid). */
  privateKey: string;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Okta org whose certificate the operator trusts (OKTA_CA_FILE). */
export async function startOkta(env: Record<string, string> = {}): Promise<OktaHarness> {
  let sa: ReturnType<FakeOkta['addServiceApp']> | undefined;
  const h = await startPullHarness(
    {
      fake: () => new FakeOkta().start(),
      env: (okta) => ({ OKTA_CA_FILE: okta.certFile, OKTA_MAX_ATTEMPTS: '4' }),
      connection: (okta) => {
        sa = okta.addServiceApp();
        return {
          kind: 'okta',
          settingsField: 'okta',
          secret: { oktaCredential: sa.privateKey },
          // a null in a test's settings leaves a field out (an API token's connection has no client ID)
          settings: { orgUrl: okta.url, clientId: sa.clientId },
        };
      },
    },
    env,
  );
  return { ...h, okta: h.fake, clientId: sa!.clientId, privateKey: sa!.privateKey };
}
