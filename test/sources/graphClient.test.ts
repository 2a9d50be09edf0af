import crypto from 'node:crypto';
import net from 'node:net';
import { FakeEntra, type FakeApp } from '../support/fakeEntra';
import { explainEntraError } from '../../src/sources/entra/errors';
import { GraphClient, GraphError, OutboundHttp } from '../../src/sources/entra/graph';
import type { RetryInfo } from '../../src/sources/entra/middleware';
import type { EntraSettings } from '../../src/sources/entra/settings';

/** The Graph client on its own (the SDK's middleware, our transport) against the fake Entra ID over HTTPS. */
describe('Graph client', () => {
  let entra: FakeEntra;
  let reg: FakeApp;
  let http: OutboundHttp;
  const retries: RetryInfo[] = [];

  beforeAll(async () => {
    entra = await new FakeEntra().start();
    reg = entra.addApp({
      tenantId: crypto.randomUUID(),
      clientId: crypto.randomUUID(),
      secret: 'secret-value',
      roles: ['User.Read.All', 'GroupMember.Read.All'],
    });
    for (let i = 0; i < 7; i++) entra.addUser({ userPrincipalName: `u${i}@contoso.com` });
    http = new OutboundHttp({ caPem: entra.ca, timeoutMs: 5_000, maxAttempts: 2, sleep: () => Promise.resolve() });
  });
  afterAll(async () => {
    http.close();
    await entra.stop();
  });
  beforeEach(() => {
    entra.calls.length = 0;
    entra.linkBase = undefined;
    retries.length = 0;
  });

  const settings = (graphUrl = entra.url): EntraSettings =>
    ({
      tenantId: reg.tenantId,
      clientId: reg.clientId,
      cloud: 'custom',
      authorityHost: entra.url,
      graphUrl,
    }) as EntraSettings;
  const client = (graphUrl?: string) =>
    new GraphClient(settings(graphUrl), reg.secret, http, { retries: 3, onRetry: (i) => retries.push(i) });

  it('follows next links through the page iterator, counting the pages each batch took', async () => {
    const batches = [];
    for await (const b of client().pages<{ id: string }>('/users?$select=id&$top=3')) batches.push(b);
    expect(batches).toHaveLength(1); // seven users fit one batch of up to 999
    expect(batches[0].value).toHaveLength(7);
    expect(batches[0].pages).toBe(3);
    const graph = entra.graphCalls();
    expect(graph.map((c) => c.path.split('?')[0])).toEqual(['/v1.0/users', '/v1.0/page', '/v1.0/page']);
    expect(graph.every((c) => String(c.headers.authorization).startsWith('Bearer '))).toBe(true);
    expect(graph.every((c) => c.headers['x-ms-throttle-priority'] === 'low')).toBe(true);
  });

  it('hands the delta link over with the last batch', async () => {
    const batches = [];
    for await (const b of client().pages('/users/delta?$select=id')) batches.push(b);
    expect(batches.at(-1)?.deltaLink).toMatch(/deltatoken=/);
  });

  it('waits out Retry-After through the SDK RetryHandler and says so', async () => {
    entra.throttle('graph', 1, 1, 429);
    const page = await client().page('/users?$select=id&$top=999');
    expect(page.value).toHaveLength(7);
    expect(retries).toEqual([expect.objectContaining({ status: 429, waitMs: 1000, attempt: 1 })]);
  });

  it('refuses a next link to another host and sends it no token', async () => {
    entra.linkBase = entra.url.replace('127.0.0.1', 'localhost');
    const read = async () => {
      for await (const _ of client().pages('/users?$select=id&$top=2'));
    };
    await expect(read()).rejects.toMatchObject({ code: 'foreign_link' });
    expect(entra.calls.filter((c) => String(c.headers.host).startsWith('localhost'))).toEqual([]);
  });

  it("keeps Graph's error code and message", async () => {
    const err = (await client()
      .get('/groups/00000000-0000-0000-0000-000000000000?$select=id')
      .catch((e: unknown) => e)) as GraphError;
    expect(err).toBeInstanceOf(GraphError);
    expect(err).toMatchObject({ status: 404, code: 'Request_ResourceNotFound' });
  });

  it('keeps the network code of an unreachable Graph, so the admin reads what to check', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const err = await client(`https://127.0.0.1:${closed}`)
      .get('/users')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect(explainEntraError(err, { authorityHost: 'a', graphHost: 'g' })).toMatch(
      /^Could not reach a or g \(ECONNREFUSED\)/,
    );
  });
});
