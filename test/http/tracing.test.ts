import crypto from 'node:crypto';
import { AppProcess, installSite, type ProcessSite } from '../support/appProcess';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { FakeCollector, type ReceivedSpan } from '../support/fakeCollector';
import { FakeJira } from '../support/fakeJira';
import { KeyServer } from '../support/keyServer';
import { scimCall } from '../support/scimLoad';

/**
 * Optional OpenTelemetry tracing (docs/operations.md#traces), through real processes (the OTLP
 * exporter as it runs in production): a SCIM request on one instance (continuing the IdP's W3C
 * `traceparent`) → the run its change starts, taken up by **another** instance → the operation →
 * the Jira call, one trace exported over OTLP/HTTP to a collector; Jira receives the trace context;
 * no email, secret or token in any attribute.
 */
jest.setTimeout(180_000);

const secretKey = crypto.randomBytes(32).toString('hex');
let keys: KeyServer;
let db: TestDatabase;
let jira: FakeJira;
let collector: FakeCollector;
const processes: AppProcess[] = [];

beforeAll(async () => {
  keys = await new KeyServer().start();
  db = await createTestDatabase();
  jira = await new FakeJira().start();
  collector = await new FakeCollector().start();
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await db.drop();
  await jira.stop();
  await keys.stop();
  await collector.stop();
});

async function instance(id: string, env: Record<string, string> = {}): Promise<AppProcess> {
  const app = await AppProcess.create({
    databaseUrl: db.url,
    jira,
    keys,
    secretKey,
    env: {
      INSTANCE_ID: id,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: 'idp-sync-test',
      // Long enough that the instance that took the request stops before the change is taken up.
      SYNC_DEBOUNCE_MS: '3000',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  processes.push(app);
  await app.start();
  return app;
}

async function spansOf(traceId: string, names: string[]): Promise<ReceivedSpan[]> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const spans = collector.spans.filter((x) => x.traceId === traceId);
    if (names.every((n) => spans.some((x) => x.name === n))) return spans;
  }
  throw new Error(`spans of trace ${traceId}: ${JSON.stringify(collector.spans.map((x) => [x.traceId, x.name]))}`);
}

it('follows a SCIM request on one instance into the run, operation and Jira call another instance makes', async () => {
  const a = await instance('inst-a');
  const b = await instance('inst-b');
  const site: ProcessSite = await installSite(a, jira, keys);
  const traceId = crypto.randomBytes(16).toString('hex');
  const idpSpan = crypto.randomBytes(8).toString('hex');
  const res = await scimCall(
    site,
    'POST',
    '/Users',
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'ann@contoso.com',
      emails: [{ primary: true, value: 'ann@contoso.com' }],
      active: true,
    },
    { traceparent: `00-${traceId}-${idpSpan}-01` },
  );
  expect(res.status).toBe(201);
  await a.stop('SIGTERM'); // flushes its spans; the change waits in the outbox for instance b

  const spans = await spansOf(traceId, [
    'SCIM POST Users',
    'sync run',
    'apply ensureUser',
    'Jira POST /rest/api/3/user',
  ]);
  const one = (name: string) => spans.find((x) => x.name === name)!;
  const scim = one('SCIM POST Users');
  expect(scim).toMatchObject({
    parentSpanId: idpSpan,
    kind: 2, // SERVER
    attributes: {
      'http.request.method': 'POST',
      'http.route': '/scim/v2/{connectionId}/Users',
      'http.response.status_code': 201,
      'scim.provider': 'generic',
      'idp.connection.id': site.connectionId,
    },
    resource: { 'service.name': 'idp-sync-test', 'service.instance.id': 'inst-a' },
  });
  const run = one('sync run');
  expect(run).toMatchObject({ parentSpanId: scim.spanId, resource: { 'service.instance.id': 'inst-b' } });
  expect(run.attributes).toMatchObject({ 'idp.run.trigger': 'scim', 'idp.run.result': 'started' });
  const apply = one('apply ensureUser');
  expect(apply.parentSpanId).toBe(run.spanId);
  expect(apply.attributes).toMatchObject({
    'idp.operation.kind': 'ensureUser',
    'idp.run.id': run.attributes['idp.run.id'],
  });
  const call = one('Jira POST /rest/api/3/user');
  expect(call).toMatchObject({
    parentSpanId: apply.spanId,
    kind: 3, // CLIENT
    attributes: { 'http.request.method': 'POST', 'url.template': '/rest/api/3/user', 'http.response.status_code': 201 },
  });
  // Jira got that call's W3C trace context.
  const [created] = jira.callsTo('POST', '/rest/api/3/user');
  expect(created.traceparent).toBe(`00-${traceId}-${call.spanId}-01`);
  // Never an email, a token or a secret in what was exported.
  const exported = JSON.stringify(collector.spans);
  expect(exported).not.toMatch(/contoso/);
  expect(exported).not.toContain(site.token);
  expect(exported).not.toContain(jira.adminToken);
  await b.stop('SIGTERM');
});

it('makes no span and sends no trace context when no OTLP endpoint is set', async () => {
  const c = await instance('inst-c', { OTEL_EXPORTER_OTLP_ENDPOINT: '' });
  const other = await new FakeJira().start(); // another site
  const site = await installSite(c, other, keys);
  const before = collector.spans.length;
  const res = await scimCall(
    site,
    'POST',
    '/Users',
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'bob@contoso.com',
      emails: [{ primary: true, value: 'bob@contoso.com' }],
      active: true,
    },
    { traceparent: `00-${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(8).toString('hex')}-01` },
  );
  expect(res.status).toBe(201);
  for (const deadline = Date.now() + 30_000; other.callsTo('POST', '/rest/api/3/user').length === 0;)
    if (Date.now() > deadline) throw new Error('the user never reached Jira');
    else await new Promise((r) => setTimeout(r, 100));
  expect(other.callsTo('POST', '/rest/api/3/user')[0].traceparent).toBeUndefined();
  await c.stop('SIGTERM');
  await other.stop();
  expect(collector.spans.length).toBe(before);
});
