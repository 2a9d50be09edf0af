import request from 'supertest';
import { FakeWebhooks } from '../support/fakeWebhooks';
import { startKeycloak, type KeycloakHarness } from '../support/keycloak';

/**
 * The same alert is sent at most once per repeat window (docs/notifications.md#never-a-flood) even
 * when two instances process two such notices at the very same moment: one is sent, the other
 * folded into it.
 */
jest.setTimeout(90_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let h: KeycloakHarness;
let hooks: FakeWebhooks;

beforeAll(async () => {
  hooks = await new FakeWebhooks().start();
  h = await startKeycloak({ NOTIFY_CA_FILE: hooks.certFile, NOTIFY_CHECK_MS: '3600000' });
});
afterAll(async () => {
  await h.close();
  await hooks.stop();
});

it('two notices of one alert processed at the same moment (as by two instances): one sent, one folded', async () => {
  await request(h.app.url)
    .put('/api/v1/notifications')
    .set(h.auth())
    .send({ webhookUrl: hooks.hook('json') })
    .expect(200);
  const id = await h.createConnection({ scheduleMinutes: 0 }, { keycloakClientSecret: 'not-the-secret' });
  expect((await h.syncAndWait(id)).status).toBe('failed');
  expect((await h.syncAndWait(id)).status).toBe('failed');

  // Each of two instances has claimed one of the two notices and processes it now.
  const notifier = h.app.notifier as Any;
  const claimed = [...(await notifier.d.notices.claimNew(1)), ...(await notifier.d.notices.claimNew(1))];
  expect(claimed.map((n: Any) => n.kind)).toEqual(['credentials.failed', 'credentials.failed']);
  await Promise.all(claimed.map((n: Any) => notifier.process(n)));

  const [rows] = (await h.app.db.sequelize.query(
    'SELECT status, repeats FROM notices WHERE connection_id = $1 ORDER BY status',
    { bind: [id] },
  )) as [Array<{ status: string; repeats: number }>, unknown];
  expect(rows).toEqual([
    { status: 'folded', repeats: 0 },
    { status: 'sent', repeats: 1 },
  ]);
  await h.app.notifier.round();
  expect(hooks.to(hooks.hook('json')).map((r) => (r.body as Any).event)).toEqual(['credentials.failed']);
});
