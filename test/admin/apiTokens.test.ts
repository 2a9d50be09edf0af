import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { QueryTypes } from 'sequelize';
import { PROJECT_ROOT } from '../../src/config';
import { ApiTokenRepository } from '../../src/db/apiTokens';
import { Sql } from '../../src/db/sql';
import { startScim, type ScimHarness } from '../support/scim';

/**
 * The site's admin API tokens (docs/admin-api.md#scripts-api-tokens-apiv1): created by a Jira
 * administrator (shown once, stored hashed), read-only or read-write, revocable, expiring, last
 * use shown, every change audit-logged with the token's name — for a site installed through Forge
 * too, and the doc's curl lines run as they are written.
 */
jest.setTimeout(60_000);

const run = promisify(execFile);

describe.each(['connect', 'forge'] as const)('a site installed through %s', (host) => {
  let s: ScimHarness;
  beforeEach(async () => {
    s = await startScim('okta', {}, { host });
  });
  afterEach(() => s.close());

  /** A script's call: the token as a bearer on /api/v1, whichever host the site installed through. */
  const script = async (token: string, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${s.app.url}/api/v1${p}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const create = async (name: string, access: 'read' | 'write', extra: object = {}) => {
    const res = await s.adminApi('POST', '/api-tokens', { name, access, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; token: string; tokenHint: string; expiresAt: string | null };
  };

  it('is shown once and stored as a hash; read-only reads, read-write changes (in the audit trail by name); neither manages tokens', async () => {
    const reader = await create('Nightly report', 'read');
    const writer = await create('Terraform', 'write', { expiresInDays: null });
    expect(reader.token).toMatch(/^igs_[A-Za-z0-9_-]{43}$/);
    expect(reader.tokenHint).toBe(`…${reader.token.slice(-4)}`);
    expect(writer.expiresAt).toBeNull();
    const listed = await s.adminApi('GET', '/api-tokens');
    expect(listed.body.tokens.map((t: { name: string }) => t.name)).toEqual(['Terraform', 'Nightly report']);
    expect(JSON.stringify(listed.body)).not.toContain(reader.token);
    const stored = JSON.stringify(
      await s.app.db.sequelize.query('SELECT * FROM api_tokens', { type: QueryTypes.SELECT }),
    );
    expect(stored).not.toContain(reader.token.slice(4));

    expect((await script(reader.token, 'GET', '/connections')).body.connections).toHaveLength(1);
    const refused = await script(reader.token, 'PATCH', `/connections/${s.connectionId}`, { name: 'x' });
    expect(refused).toMatchObject({
      status: 403,
      body: { error: 'forbidden', message: expect.stringContaining('read-only') },
    });
    const renamed = await script(writer.token, 'PATCH', `/connections/${s.connectionId}`, {
      name: 'Renamed by script',
    });
    expect(renamed.status).toBe(200);
    for (const t of [reader, writer]) {
      const made = await script(t.token, 'POST', '/api-tokens', { name: 'more', access: 'write' });
      expect(made.status).toBe(403);
    }
    const trail = await s.adminApi('GET', '/audit?kind=connection.updated');
    expect(trail.body.events[0]).toMatchObject({
      actor: { kind: 'api-token', id: writer.id, name: 'Terraform' },
      via: 'api-token',
      summary: 'Connection "Renamed by script" updated',
    });
    const created = await s.adminApi('GET', '/audit?kind=api-token');
    expect(created.body.events.map((e: { summary: string }) => e.summary)).toEqual([
      'API token "Terraform" created (read-write)',
      'API token "Nightly report" created (read-only)',
    ]);
    const used = (await s.adminApi('GET', '/api-tokens')).body.tokens as Array<{
      name: string;
      lastUsedAt: string | null;
    }>;
    expect(used.every((t) => t.lastUsedAt !== null)).toBe(true);
    // The last use is written at most once a minute: a script calling every second writes once.
    const repo = new ApiTokenRepository(new Sql(s.app.db.sequelize));
    const t0 = new Date(Date.now() + 120_000);
    expect(await repo.verify(reader.token, t0)).toMatchObject({ lastUsedAt: t0 });
    expect(await repo.verify(reader.token, new Date(t0.getTime() + 59_000))).toMatchObject({ lastUsedAt: t0 });
    const later = new Date(t0.getTime() + 61_000);
    expect(await repo.verify(reader.token, later)).toMatchObject({ lastUsedAt: later });
  });

  it('a revoked or expired token is refused with a 401 saying which; an unknown one too; none is taken on /forge/api/v1', async () => {
    const t = await create('CI', 'write');
    expect((await script(t.token, 'GET', '/connections')).status).toBe(200);
    const revoked = await s.adminApi('DELETE', `/api-tokens/${t.id}`);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect(await script(t.token, 'GET', '/connections')).toMatchObject({
      status: 401,
      body: { error: 'unauthorized', message: 'This API token was revoked.' },
    });
    const e = await create('Old', 'read', { expiresInDays: 1 });
    await s.app.db.sequelize.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", {
      bind: [e.id],
    });
    expect((await script(e.token, 'GET', '/connections')).body.message).toBe('This API token has expired.');
    expect((await script('igs_' + 'A'.repeat(43), 'GET', '/connections')).status).toBe(401);
    expect((await s.adminApi('DELETE', '/api-tokens/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const live = await create('Live', 'read');
    const viaForge = await fetch(`${s.app.url}/forge/api/v1/connections`, {
      headers: { Authorization: `Bearer ${live.token}` },
    });
    expect([401, 404]).toContain(viaForge.status);
    const nul = await s.adminApi('POST', '/api-tokens', { name: 'a\u0000b', access: 'read' });
    expect(nul).toMatchObject({ status: 400, body: { fields: { name: 'must not contain control characters' } } });
    expect((await s.adminApi('GET', '/audit?actor=a%00b')).status).toBe(400);
    const bad = await s.adminApi('POST', '/api-tokens', { name: '', access: 'admin', expiresInDays: 1000 });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        error: 'validation_failed',
        fields: { name: expect.any(String), access: expect.any(String), expiresInDays: expect.any(String) },
      },
    });
  });

  it("the docs' curl lines work as written (with the token and a connection id put in)", async () => {
    const t = await create('curl', 'write');
    const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/admin-api.md'), 'utf8');
    const block = /### A script's first calls[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)![1];
    const lines = block
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .filter((l) => l.startsWith('curl '));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const { stdout } = await run('bash', ['-c', line.replace('<connection id>', s.connectionId)], {
        env: { ...process.env, IGS_URL: s.app.url, IGS_TOKEN: t.token },
      });
      expect(JSON.parse(stdout)).toBeDefined();
    }
  });
});
