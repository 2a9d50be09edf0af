import { GOOGLE_SCOPES } from '../../src/sources/google/settings';
import { FakeGoogle, type FakeGoogleUser } from './fakeGoogle';
import { startPullHarness, type PullHarness } from './pullHarness';

export interface GoogleHarness extends PullHarness {
  google: FakeGoogle;
  /** The service account's JSON key, delegated every scope the app reads. */
  key: string;
  clientId: string;
  /** The super admin the connection impersonates. */
  admin: FakeGoogleUser;
}

/** An installed app with its site-admin token, a fake Jira, and a fake Google Workspace the app is pointed at (the operator's GOOGLE_* settings). */
export async function startGoogle(env: Record<string, string> = {}): Promise<GoogleHarness> {
  let sa: ReturnType<FakeGoogle['addServiceAccount']> | undefined;
  let admin: FakeGoogleUser | undefined;
  const h = await startPullHarness(
    {
      fake: () => new FakeGoogle().start(),
      env: (google) => ({
        GOOGLE_API_URL: google.url,
        GOOGLE_TOKEN_URL: google.tokenUrl,
        GOOGLE_CA_FILE: google.certFile,
        GOOGLE_MAX_ATTEMPTS: '4',
      }),
      connection: (google) => {
        sa = google.addServiceAccount();
        google.delegate(sa.clientId, GOOGLE_SCOPES);
        admin = google.addUser(
          { primaryEmail: 'admin@example.com', isAdmin: true, orgUnitPath: '/IT' },
          { event: false },
        );
        return {
          kind: 'google',
          settingsField: 'google',
          secret: { serviceAccountKey: sa.key },
          settings: { adminEmail: admin.primaryEmail },
        };
      },
    },
    env,
  );
  return { ...h, google: h.fake, key: sa!.key, clientId: sa!.clientId, admin: admin! };
}
