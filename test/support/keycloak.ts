import { FakeKeycloak } from './fakeKeycloak';
import { startPullHarness, type PullHarness } from './pullHarness';

export interface KeycloakHarness extends PullHarness {
  kc: FakeKeycloak;
  /** The realm read (admin events recorded) and the confidential client the connection uses (view-users, view-events). */
  realm: string;
  clientId: string;
  secret: string;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Keycloak whose certificate the operator trusts (KEYCLOAK_CA_FILE). */
export async function startKeycloak(env: Record<string, string> = {}): Promise<KeycloakHarness> {
  const realm = 'acme';
  let secret = '';
  const h = await startPullHarness(
    {
      fake: () => new FakeKeycloak().start(),
      env: (kc) => ({ KEYCLOAK_CA_FILE: kc.certFile, KEYCLOAK_MAX_ATTEMPTS: '3' }),
      connection: (kc) => {
        kc.addRealm(realm, { adminEvents: true });
        secret = kc.addClient(realm, 'jira-sync');
        return {
          kind: 'keycloak',
          settingsField: 'keycloak',
          secret: { keycloakClientSecret: secret },
          settings: { serverUrl: kc.url, realm, clientId: 'jira-sync' },
        };
      },
    },
    env,
  );
  return { ...h, kc: h.fake, realm, clientId: 'jira-sync', secret };
}
