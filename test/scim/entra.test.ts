import { QueryTypes } from 'sequelize';
import { ENTERPRISE, patchBody, startScim, type ScimHarness } from '../support/scim';

/**
 * Microsoft Entra ID's provisioning service, request by request (docs/scim.md),
 * in both PATCH dialects: legacy, and the one its tenant URL flag ?aadOptscim062020 selects.
 */
let s: ScimHarness;
beforeAll(async () => {
  s = await startScim('entra');
});
afterAll(() => s.close());

const FLAG = '?aadOptscim062020';

/** Entra's create body, with its habits: roles [], explicit nulls, a meta block, string booleans. */
const entraUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  externalId: userName.split('@')[0],
  userName,
  active: 'True',
  displayName: 'Ada Lovelace',
  emails: [{ primary: true, type: 'work', value: userName }],
  meta: { resourceType: 'User' },
  name: { formatted: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada' },
  roles: [],
  addresses: null,
  [ENTERPRISE]: { employeeNumber: '1001', department: 'Engineering' },
  ...extra,
});

const outbox = (subjectId: string) =>
  s.app.db.sequelize
    .query<{ change: string }>('SELECT change FROM sync_requests WHERE subject_id = $1 ORDER BY id', {
      bind: [subjectId],
      type: QueryTypes.SELECT,
    })
    .then((r) => r.map((x) => x.change));

describe('Entra ID: test connection', () => {
  it('answers a lookup of a random GUID with 200 and an empty ListResponse', async () => {
    const res = await s.get(`/Users?filter=userName eq "${crypto.randomUUID()}"`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      Resources: [],
      startIndex: 1,
      itemsPerPage: 0,
    });
  });

  it('tolerates the flag query string on the base URL', async () => {
    const res = await s.get(`/Users${FLAG}&filter=${encodeURIComponent('userName eq "nobody@x"')}`);
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(0);
  });
});

describe.each([
  ['legacy', ''],
  ['aadOptscim062020', FLAG],
])('Entra ID user cycle (%s dialect)', (dialect, flag) => {
  const userName = `ada.${dialect}@contoso.com`;
  let id: string;

  it('looks up, finds nothing, creates (201 with id), and the string boolean is stored as a boolean', async () => {
    expect(
      (await s.get(`/Users${flag}${flag ? '&' : '?'}filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body
        .totalResults,
    ).toBe(0);
    const res = await s.post(`/Users${flag}`, entraUser(userName));
    expect(res.status).toBe(201);
    id = res.body.id;
    expect(res.body).toMatchObject({
      userName,
      active: true,
      externalId: userName.split('@')[0],
      [ENTERPRISE]: { employeeNumber: '1001' },
    });
    expect(res.headers.location).toMatch(new RegExp(`/Users/${id}$`));
    expect(res.body.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"' });
    expect(res.body.roles).toBeUndefined();
    expect(await outbox(id)).toEqual(['created']);
  });

  it('finds the user by userName case-insensitively, and by externalId unquoted', async () => {
    const byName = await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`);
    expect(byName.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    const byExternal = await s.get(`/Users?filter=${encodeURIComponent(`externalId eq ${userName.split('@')[0]}`)}`);
    expect(byExternal.body.totalResults).toBe(1);
  });

  it('updates attributes in its dialect', async () => {
    const ops =
      dialect === 'legacy'
        ? [
            { op: 'Replace', path: 'displayName', value: 'Ada King' },
            { op: 'Replace', path: 'name.familyName', value: 'King' },
            { op: 'Add', path: 'emails[type eq "home"].value', value: 'ada@home.example' },
            { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '2002' },
            { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'manager-id-1' },
          ]
        : [
            {
              op: 'replace',
              value: { displayName: 'Ada King', 'name.familyName': 'King', [`${ENTERPRISE}:employeeNumber`]: '2002' },
            },
            { op: 'add', path: 'emails[type eq "home"].value', value: 'ada@home.example' },
            { op: 'add', path: 'manager', value: [{ value: 'manager-id-1', $ref: null }] },
          ];
    const res = await s.patch(`/Users/${id}${flag}`, patchBody(...ops));
    expect(res.status).toBe(204);
    const user = (await s.get(`/Users/${id}`)).body;
    expect(user).toMatchObject({
      displayName: 'Ada King',
      name: { familyName: 'King', givenName: 'Ada' },
      [ENTERPRISE]: { employeeNumber: '2002', manager: { value: 'manager-id-1' } },
    });
    expect(user.emails).toEqual(
      expect.arrayContaining([
        { type: 'home', value: 'ada@home.example' },
        expect.objectContaining({ type: 'work', primary: true }),
      ]),
    );
    expect(user.meta.version).toBe('W/"2"');
  });

  it('disables with active false ("False" in the legacy dialect); GET still returns the user', async () => {
    const op =
      dialect === 'legacy'
        ? { op: 'Replace', path: 'active', value: 'False' }
        : { op: 'replace', path: 'active', value: false };
    expect((await s.patch(`/Users/${id}${flag}`, patchBody(op))).status).toBe(204);
    const res = await s.get(`/Users/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(
      (await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.Resources[0].active,
    ).toBe(false);
  });

  it('deletes with 204, then the user is 404 with an Error body', async () => {
    expect((await s.del(`/Users/${id}${flag}`)).status).toBe(204);
    const res = await s.get(`/Users/${id}`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    expect(await outbox(id)).toEqual(['created', 'updated', 'updated', 'deleted']);
  });
});

describe.each([
  ['legacy', ''],
  ['aadOptscim062020', FLAG],
])('Entra ID group cycle (%s dialect)', (dialect, flag) => {
  it('creates a group without members, adds and removes members by PATCH (204 each), looks it up excluding members', async () => {
    const a = (await s.post('/Users', entraUser(`a.${dialect}@contoso.com`))).body.id;
    const b = (await s.post('/Users', entraUser(`b.${dialect}@contoso.com`))).body.id;
    const name = `Engineers ${dialect}`;
    const lookup = await s.get(
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`,
    );
    expect(lookup.body.totalResults).toBe(0);
    const created = await s.post(`/Groups${flag}`, {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
      ],
      externalId: `ext-${dialect}`,
      displayName: name,
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    const gid = created.body.id;
    const op = dialect === 'legacy' ? 'Add' : 'add';
    expect(
      (
        await s.patch(
          `/Groups/${gid}${flag}`,
          patchBody({
            op,
            path: 'members',
            value: [
              { $ref: null, value: a },
              { $ref: null, value: b },
            ],
          }),
        )
      ).status,
    ).toBe(204);
    expect((await s.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value).sort()).toEqual(
      [a, b].sort(),
    );

    const remove =
      dialect === 'legacy'
        ? { op: 'Remove', path: 'members', value: [{ value: a }] }
        : { op: 'remove', path: `members[value eq "${a}"]` };
    expect((await s.patch(`/Groups/${gid}${flag}`, patchBody(remove))).status).toBe(204);
    const after = await s.get(`/Groups/${gid}`);
    expect(after.body.members.map((m: { value: string }) => m.value)).toEqual([b]);

    const excluded = await s.get(`/Groups/${gid}?excludedAttributes=members`);
    expect(excluded.body.members).toBeUndefined();
    expect(excluded.body.displayName).toBe(name);
    const found = await s.get(
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name.toLowerCase()}"`)}`,
    );
    expect(found.body.Resources).toEqual([expect.objectContaining({ id: gid, displayName: name })]);
    expect(found.body.Resources[0].members).toBeUndefined();
    // a member change asks for a run about the members it concerns (incremental reconciliation), not the group
    expect(await outbox(gid)).toEqual(['created']);
    expect(await outbox(a)).toEqual(['created', 'members', 'members']);
    expect(await outbox(b)).toEqual(['created', 'members']);
  });
});
