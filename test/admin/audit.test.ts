import { QueryTypes } from 'sequelize';
import { csvField } from '../../src/admin/audit/handlers';
import { AuditRepository } from '../../src/db/audit';
import { Sql } from '../../src/db/sql';
import request from 'supertest';
import { jwtHeader } from '../support/app';
import { startScim, type ScimHarness } from '../support/scim';

/**
 * The audit trail (docs/admin-api.md#audit-trail): every change made through the admin API is
 * recorded — who, when, through which host, what (with the difference, never a secret) — and read
 * back filtered and paged, exported as CSV and JSON, pruned by age, removed with the site.
 */
jest.setTimeout(60_000);

describe.each(['connect', 'forge'] as const)('through %s', (host) => {
  let s: ScimHarness;
  beforeEach(async () => {
    s = await startScim('okta', {}, { host });
  });
  afterEach(() => s.close());

  const rows = (sql: string, bind: unknown[] = []) =>
    s.app.db.sequelize.query<Record<string, unknown>>(sql, { bind, type: QueryTypes.SELECT });

  it('records each change with who, the host and what changed (a secret only as "set"); reads and refused changes are not recorded', async () => {
    const c = `/connections/${s.connectionId}`;
    expect((await s.adminApi('PATCH', c, { name: 'Okta production' })).status).toBe(200);
    await s.saveRules({ groups: { keepExisting: false, defaultForNewUsers: ['jira-users'] } });
    const rotated = await s.adminApi('POST', `${c}/token`);
    expect(rotated.status).toBe(200);
    expect((await s.adminApi('POST', `${c}/sync`, { dryRun: true })).status).toBeLessThan(300);
    const saved = await s.adminApi('PUT', '/site-credentials', {
      email: s.jira.admin.emailAddress,
      apiToken: s.jira.adminToken,
    });
    expect(saved.status).toBe(200);
    // Reads, a preview and a refused change leave no trace.
    await s.adminApi('GET', c);
    await s.adminApi('POST', `${c}/rules/preview`, { samples: ['Sales'] });
    expect((await s.adminApi('PATCH', c, { name: '' })).status).toBe(400);

    const trail = await s.adminApi('GET', '/audit');
    expect(trail.status).toBe(200);
    const events = trail.body.events as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(events.map((e) => e.kind)).toEqual([
      'site-credentials.saved',
      'sync.dry-run',
      'scim-token.rotated',
      'rules.changed',
      'connection.updated',
      'connection.created',
    ]);
    for (const e of events)
      expect(e).toMatchObject({
        actor: { kind: 'user', id: s.jira.admin.accountId, name: s.jira.admin.displayName },
        via: host,
      });
    const byKind = Object.fromEntries(events.map((e) => [e.kind, e]));
    expect(byKind['connection.updated']).toMatchObject({
      connectionId: s.connectionId,
      summary: 'Connection "Okta production" updated',
      details: { changes: [{ path: 'name', before: expect.any(String), after: 'Okta production' }] },
    });
    expect(byKind['rules.changed'].details.changes).toEqual([
      { path: 'groups.defaultForNewUsers', before: [], after: ['jira-users'] },
      { path: 'groups.keepExisting', before: true, after: false },
    ]);
    expect(byKind['scim-token.rotated'].summary).toBe('SCIM token of "Okta production" rotated');
    expect(byKind['site-credentials.saved']).toMatchObject({
      connectionId: null,
      details: { email: s.jira.admin.emailAddress, secrets: 'apiToken set' },
    });
    expect(byKind['sync.dry-run'].details).toMatchObject({ dryRun: true });
    // Never a secret or a token, anywhere in the stored trail.
    const stored = JSON.stringify(await rows('SELECT * FROM audit_events'));
    for (const secret of [s.jira.adminToken, rotated.body.token, s.token]) expect(stored).not.toContain(secret);
  });

  it('filters by connection, kind (or its first part) and actor, and pages with `next`; a bad filter is a 400 naming it', async () => {
    const other = await s.newConnection('Second IdP');
    const calls = s.jira.calls.length;
    await s.adminApi('PATCH', `/connections/${s.connectionId}`, { name: 'First' });
    expect(s.jira.calls.slice(calls)).toEqual([]); // a change costs no Jira call (names are asked when the trail is read)
    await s.adminApi('DELETE', `/connections/${other.id}`);
    const of = async (q: string) =>
      ((await s.adminApi('GET', `/audit?${q}`)).body.events as Array<{ kind: string }>).map((e) => e.kind);
    expect(await of(`connectionId=${other.id}`)).toEqual(['connection.deleted', 'connection.created']);
    expect(await of('kind=connection')).toEqual([
      'connection.deleted',
      'connection.updated',
      'connection.created',
      'connection.created',
    ]);
    expect(await of('kind=connection.deleted')).toEqual(['connection.deleted']);
    expect(await of(`actor=${s.jira.admin.accountId}`)).toHaveLength(4);
    expect(await of('actor=someone-else')).toEqual([]);
    const first = await s.adminApi('GET', '/audit?limit=3');
    expect(first.body.events).toHaveLength(3);
    const second = await s.adminApi('GET', `/audit?limit=3&before=${first.body.next}`);
    expect(second.body).toMatchObject({ events: [{ kind: 'connection.created' }], next: null });
    const bad = await s.adminApi('GET', '/audit?connectionId=nope&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      error: 'validation_failed',
      fields: { connectionId: expect.any(String), limit: expect.any(String) },
    });
  });

  it('exports as JSON (and the page builds its CSV from it), keeps AUDIT_RETENTION_DAYS, and goes with the site', async () => {
    await s.adminApi('PATCH', `/connections/${s.connectionId}`, { name: 'Exported' });
    const exported = await s.adminApi('GET', '/audit/export?format=json');
    expect(exported.status).toBe(200);
    expect((exported.body as Array<{ kind: string }>).map((e) => e.kind)).toEqual([
      'connection.updated',
      'connection.created',
    ]);
    await s.app.db.sequelize.query(
      "UPDATE audit_events SET at = now() - interval '400 days' WHERE kind = 'connection.created'",
    );
    expect(await new AuditRepository(new Sql(s.app.db.sequelize)).purge(365)).toBe(1);
    expect(await rows('SELECT kind FROM audit_events')).toEqual([{ kind: 'connection.updated' }]);
    if (host === 'connect') expect((await s.jira.uninstall(s.app.url, s.keys)).status).toBe(204);
    else expect((await s.installation!.uninstall()).statuses).toEqual([204]);
    expect(await rows('SELECT kind FROM audit_events')).toEqual([]);
  });
});

describe('CSV export (scripts, and the Connect page)', () => {
  let s: ScimHarness;
  beforeAll(async () => {
    s = await startScim('okta');
  });
  afterAll(() => s.close());

  it('is RFC 4180 with a header, quoting what must be; a cell a spreadsheet would run as a formula is made text', async () => {
    await s.adminApi('PATCH', `/connections/${s.connectionId}`, { name: 'Sales, "EU"' });
    const res = await request(s.app.url)
      .get('/api/v1/audit/export?format=csv&kind=connection.updated')
      .set(jwtHeader(s.jira.contextJwt(s.jira.admin.accountId)));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,at,actorKind,actorId,actorName,via,kind,connectionId,summary,details');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`,connect,connection.updated,${s.connectionId},"Connection ""Sales, ""EU"""" updated",`);
    // A Jira display name (someone else's to choose) such as =cmd|' /C calc'!A0 must not run in Excel.
    expect(csvField("=cmd|' /C calc'!A0")).toBe(`"'=cmd|' /C calc'!A0"`);
    expect(csvField('+1')).toBe(`"'+1"`);
    expect(csvField('-2')).toBe(`"'-2"`);
    expect(csvField('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvField('plain')).toBe('plain');
  });
});
