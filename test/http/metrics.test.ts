import { AppProcess } from '../support/appProcess';
import { createTestDatabase } from '../support/db';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { sample } from '../support/prometheus';
import { freePort } from '../support/net';
import { entraUser, startScim, type ScimHarness } from '../support/scim';

/**
 * /metrics (docs/operations.md#metrics): Prometheus' text from prom-client, behind METRICS_TOKEN on
 * the public port or alone on METRICS_PORT; what SCIM, runs, operations and Jira calls did is
 * counted by route templates and kinds — never a site, a user, an email or a connection id.
 */
jest.setTimeout(120_000);

const TOKEN = 'metrics-token-0123456789abcdef';

describe('on the public port', () => {
  let s: ScimHarness;
  beforeAll(async () => {
    s = await startScim('okta', { METRICS_TOKEN: TOKEN });
    await s.storeSiteToken();
  });
  afterAll(() => s.close());

  const scrape = () => fetch(`${s.app.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });

  it('answers only with METRICS_TOKEN', async () => {
    expect((await fetch(`${s.app.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.app.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; .*version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE idp_http_requests_total counter');
    expect(text).toContain('idp_nodejs_eventloop_lag_seconds');
    expect(text).toContain('idp_process_resident_memory_bytes');
  });

  it('counts SCIM requests, the run, its operations and its Jira calls by template and kind, and names no site, user or connection', async () => {
    for (const n of ['ann', 'bob', 'cy']) expect((await s.post('/Users', entraUser(n))).status).toBe(201);
    await s.get('/Users?count=10');
    await s.get('/no/such/thing');
    await s.settle();
    const text = await (await scrape()).text();
    expect(
      sample(text, 'idp_http_requests_total', { method: 'POST', route: '/scim/v2/{id}/Users', status: '201' }),
    ).toBe(3);
    expect(
      sample(text, 'idp_scim_requests_total', { provider: 'okta', method: 'POST', resource: 'Users', status: '201' }),
    ).toBe(3);
    expect(
      sample(text, 'idp_scim_requests_total', { provider: 'okta', method: 'GET', resource: 'Users', status: '200' }),
    ).toBe(1);
    expect(sample(text, 'idp_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'idp_http_request_duration_seconds_count', { route: '/scim/v2/{id}/Users' })).toBe(4);
    expect(sample(text, 'idp_sync_runs_total', { trigger: 'scim', outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'idp_sync_operations_total', { kind: 'ensureUser', outcome: 'done' })).toBe(3);
    const creates = s.jira.callsTo('POST', '/rest/api/3/user').length;
    expect(sample(text, 'idp_jira_calls_total', { endpoint: 'POST /rest/api/3/user', credential: 'token' })).toBe(
      creates,
    );
    expect(sample(text, 'idp_jira_calls_total')).toBe(s.jira.calls.length); // every call the fake Jira saw, counted
    expect(sample(text, 'idp_executor_queue_depth')).toBe(0);
    expect(text).toMatch(/idp_db_pool_connections\{state="idle"\} \d+/);
    for (const secret of [s.clientKey, s.connectionId, 'ann@contoso.com', s.token, s.jira.url])
      expect(text).not.toContain(secret);
  });
});

it('is 404 on the public port without METRICS_TOKEN; METRICS_PORT serves it alone, without a token (a real process)', async () => {
  const keys = await new KeyServer().start();
  const jira = await new FakeJira().start();
  const db = await createTestDatabase();
  const port = await freePort();
  const p = await AppProcess.create({ databaseUrl: db.url, jira, keys, env: { METRICS_PORT: String(port) } });
  try {
    await p.start();
    expect((await fetch(`${p.url}/metrics`)).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(
      sample(await res.text(), 'idp_http_requests_total', { route: '/healthz', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(404); // nothing else there
  } finally {
    await p.stop();
    await db.drop();
    await jira.stop();
    await keys.stop();
  }
});
