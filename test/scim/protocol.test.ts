import request from 'supertest';
import { ENTERPRISE, patchBody, startScim, type ScimHarness } from '../support/scim';

/** RFC 7644 behaviour beyond any one client: PATCH semantics, projection, sorting, paging, ETags, discovery. */
let s: ScimHarness;
beforeAll(async () => {
  s = await startScim('generic');
});
afterAll(() => s.close());

let n = 0;
const newUser = async (extra: Record<string, unknown> = {}) => {
  const res = await s.post('/Users', {
    userName: `user${++n}@example.com`,
    emails: [{ value: `user${n}@example.com`, type: 'work', primary: true }],
    name: { givenName: 'Given', familyName: `Family${n}` },
    ...extra,
  });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body as { id: string; userName: string };
};
const patch = async (id: string, ...ops: unknown[]) => {
  const res = await s.patch(`/Users/${id}`, patchBody(...ops));
  if (res.status !== 204) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return (await s.get(`/Users/${id}`)).body;
};

describe('PATCH semantics', () => {
  it('add appends to a multi-valued attribute once; a new primary takes over', async () => {
    const u = await newUser();
    const after = await patch(
      u.id,
      { op: 'add', path: 'emails', value: [{ value: 'second@example.com', type: 'home', primary: true }] },
      { op: 'add', path: 'emails', value: [{ value: 'second@example.com', type: 'home' }] },
    );
    expect(after.emails).toEqual([
      { value: u.userName, type: 'work', primary: false },
      { value: 'second@example.com', type: 'home', primary: true },
    ]);
  });

  it('replace without a filter replaces every value; with a filter only the matching ones', async () => {
    const u = await newUser({
      phoneNumbers: [
        { value: '1', type: 'work' },
        { value: '2', type: 'mobile' },
      ],
    });
    let after = await patch(u.id, { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '22' });
    expect(after.phoneNumbers).toEqual([
      { value: '1', type: 'work' },
      { value: '22', type: 'mobile' },
    ]);
    after = await patch(u.id, { op: 'replace', path: 'phoneNumbers', value: [{ value: '3', type: 'fax' }] });
    expect(after.phoneNumbers).toEqual([{ value: '3', type: 'fax' }]);
  });

  it('remove with a filter removes the matching values only; the last one leaves the attribute unassigned', async () => {
    const u = await newUser({
      phoneNumbers: [
        { value: '1', type: 'work' },
        { value: '2', type: 'mobile' },
      ],
    });
    let after = await patch(u.id, { op: 'remove', path: 'phoneNumbers[type eq "work"]' });
    expect(after.phoneNumbers).toEqual([{ value: '2', type: 'mobile' }]);
    after = await patch(u.id, { op: 'remove', path: 'phoneNumbers[value eq "2"]' });
    expect(after.phoneNumbers).toBeUndefined();
  });

  it('adds a sub-attribute through a filter that matches nothing yet by creating the element (Entra)', async () => {
    const u = await newUser();
    const after = await patch(
      u.id,
      { op: 'add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
      { op: 'replace', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
    );
    expect(after.addresses).toEqual([{ type: 'work', streetAddress: '1 Main St', locality: 'Springfield' }]);
  });

  it('sets and removes sub-attributes of complex attributes', async () => {
    const u = await newUser();
    let after = await patch(
      u.id,
      { op: 'replace', path: 'name.givenName', value: 'New' },
      { op: 'remove', path: 'name.familyName' },
    );
    expect(after.name).toEqual({ givenName: 'New' });
    after = await patch(u.id, { op: 'replace', path: 'name', value: { middleName: 'M' } });
    expect(after.name).toEqual({ givenName: 'New', middleName: 'M' });
  });

  it('reads path-less values with extension objects, URN keys and dotted keys; unknown keys are ignored', async () => {
    const u = await newUser();
    const after = await patch(u.id, {
      op: 'add',
      value: {
        [ENTERPRISE]: { department: 'Ops', costCenter: 'CC1' },
        'name.honorificPrefix': 'Dr',
        nonsense: 1,
        title: 'Boss',
      },
    });
    expect(after).toMatchObject({
      [ENTERPRISE]: { department: 'Ops', costCenter: 'CC1' },
      name: { honorificPrefix: 'Dr' },
      title: 'Boss',
    });
    expect(after.nonsense).toBeUndefined();
    expect(after.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
  });

  it('accepts the manager as a string, an object or an array', async () => {
    const u = await newUser();
    for (const value of ['m-1', { value: 'm-2' }, [{ value: 'm-3', $ref: null }]]) {
      const after = await patch(u.id, { op: 'replace', path: `${ENTERPRISE}:manager`, value });
      expect(after[ENTERPRISE].manager.value).toMatch(/^m-/);
    }
    expect((await patch(u.id, { op: 'remove', path: `${ENTERPRISE}:manager` }))[ENTERPRISE]?.manager).toBeUndefined();
  });

  it('answers 200 with the resource when attributes are asked for, and changes nothing for a no-op', async () => {
    const u = await newUser();
    const res = await s.patch(
      `/Users/${u.id}?attributes=title`,
      patchBody({ op: 'replace', path: 'title', value: 'CTO' }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: expect.any(Array), id: u.id, title: 'CTO' });
    const before = (await s.get(`/Users/${u.id}`)).body.meta.version;
    await s.patch(`/Users/${u.id}`, patchBody({ op: 'replace', path: 'title', value: 'CTO' }));
    expect((await s.get(`/Users/${u.id}`)).body.meta.version).toBe(before);
  });

  it('keeps userName unique on rename (409)', async () => {
    const a = await newUser();
    const b = await newUser();
    const res = await s.patch(
      `/Users/${b.id}`,
      patchBody({ op: 'replace', path: 'userName', value: a.userName.toUpperCase() }),
    );
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });
});

describe('attributes and excludedAttributes', () => {
  it('returns only what is asked for, plus id and schemas', async () => {
    const u = await newUser({ [ENTERPRISE]: { employeeNumber: '7', department: 'D' } });
    const one = async (q: string) => (await s.get(`/Users/${u.id}?${q}`)).body;
    expect(await one('attributes=userName,emails')).toEqual({
      schemas: expect.any(Array),
      id: u.id,
      userName: u.userName,
      emails: expect.any(Array),
    });
    expect(await one('attributes=name.givenName')).toEqual({
      schemas: expect.any(Array),
      id: u.id,
      name: { givenName: 'Given' },
    });
    expect(await one(`attributes=${ENTERPRISE}:employeeNumber`)).toEqual({
      schemas: expect.any(Array),
      id: u.id,
      [ENTERPRISE]: { employeeNumber: '7' },
    });
    expect(await one('attributes=emails[type eq "work"]')).toEqual({
      schemas: expect.any(Array),
      id: u.id,
      emails: expect.any(Array),
    });
    const excluded = await one('excludedAttributes=emails,groups,meta,id');
    expect(excluded.emails).toBeUndefined();
    expect(excluded.groups).toBeUndefined();
    expect(excluded.meta).toBeUndefined();
    expect(excluded.id).toBe(u.id); // always returned
    expect(excluded.userName).toBe(u.userName);
  });

  it('shows a user its groups unless excluded', async () => {
    const u = await newUser();
    const g = await s.post('/Groups', { displayName: `G-${u.id}`, members: [{ value: u.id }] });
    const got = (await s.get(`/Users/${u.id}`)).body;
    expect(got.groups).toEqual([
      {
        value: g.body.id,
        display: `G-${u.id}`,
        $ref: expect.stringMatching(new RegExp(`/Groups/${g.body.id}$`)),
        type: 'direct',
      },
    ]);
  });
});

describe('sorting and paging', () => {
  let conn: { base: string; token: string };
  const list = (q: string) =>
    request(s.app.url).get(`${conn.base}/Users?${q}`).set('Authorization', `Bearer ${conn.token}`);

  beforeAll(async () => {
    conn = await s.newConnection('Paging');
    for (const [name, family] of [
      ['c', 'Alpha'],
      ['a', 'Charlie'],
      ['b', 'bravo'],
    ]) {
      await request(s.app.url)
        .post(`${conn.base}/Users`)
        .set('Authorization', `Bearer ${conn.token}`)
        .set('Content-Type', 'application/scim+json')
        .send(
          JSON.stringify({
            userName: `${name}@sort.example`,
            name: { familyName: family },
            emails: [{ value: `${name}@sort.example`, primary: true }],
          }),
        );
    }
  });

  it('sorts by any attribute, either way, case-insensitively', async () => {
    const names = async (q: string) =>
      (await list(q)).body.Resources.map((u: { userName: string }) => u.userName[0]).join('');
    expect(await names('sortBy=userName')).toBe('abc');
    expect(await names('sortBy=userName&sortOrder=descending')).toBe('cba');
    expect(await names('sortBy=name.familyName')).toBe('cba');
    expect(await names('sortBy=emails&sortOrder=descending')).toBe('cba');
    expect(await names('')).toBe('cab'); // default: creation order, stable
  });

  it('reads odd paging parameters the way RFC 7644 says', async () => {
    expect((await list('startIndex=0&count=1')).body).toMatchObject({
      startIndex: 1,
      itemsPerPage: 1,
      totalResults: 3,
    });
    expect((await list('count=-5')).body).toMatchObject({ itemsPerPage: 0, totalResults: 3, Resources: [] });
    expect((await list('count=0')).body).toMatchObject({ itemsPerPage: 0, totalResults: 3 });
    expect((await list('count=5000')).body.itemsPerPage).toBe(3);
    expect((await list('startIndex=10')).body).toMatchObject({
      startIndex: 10,
      itemsPerPage: 0,
      totalResults: 3,
      Resources: [],
    });
  });

  it('refuses malformed paging and sorting parameters with 400 invalidValue', async () => {
    for (const q of ['startIndex=abc', 'count=1.5', 'sortBy=nosuch', 'sortBy=userName&sortOrder=sideways']) {
      const res = await list(q);
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
  });

  it('keeps connections apart: the same userName may exist in each, and each lists only its own', async () => {
    expect((await s.post('/Users', { userName: 'a@sort.example' })).status).toBe(201);
    expect((await list('filter=userName eq "a@sort.example"')).body.totalResults).toBe(1);
    expect((await list('')).body.totalResults).toBe(3);
  });
});

describe('ETags', () => {
  it('sends a weak ETag, answers If-None-Match with 304 and a stale If-Match with 412', async () => {
    const u = await newUser();
    const got = await s.get(`/Users/${u.id}`);
    expect(got.headers.etag).toBe('W/"1"');
    expect((await s.get(`/Users/${u.id}`).set('If-None-Match', 'W/"1"')).status).toBe(304);
    await patch(u.id, { op: 'replace', path: 'title', value: 'x' });
    const stale = await s.put(`/Users/${u.id}`, { userName: u.userName }).set('If-Match', 'W/"1"');
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ status: '412', detail: expect.stringContaining('W/"2"') });
    expect(
      (
        await s
          .patch(`/Users/${u.id}`, patchBody({ op: 'replace', path: 'title', value: 'y' }))
          .set('If-Match', 'W/"1"')
      ).status,
    ).toBe(412);
    expect((await s.del(`/Users/${u.id}`).set('If-Match', '"1"')).status).toBe(412);
    expect((await s.put(`/Users/${u.id}`, { userName: u.userName }).set('If-Match', 'W/"2"')).status).toBe(200);
    expect((await s.del(`/Users/${u.id}`).set('If-Match', '*')).status).toBe(204);
  });
});

describe('discovery', () => {
  it('describes the service provider truthfully', async () => {
    const res = await s.get('/ServiceProviderConfig');
    expect(res.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
      sort: { supported: true },
      etag: { supported: true },
      changePassword: { supported: false },
    });
    expect(res.body.authenticationSchemes[0].type).toBe('oauthbearertoken');
  });

  it('lists resource types and schemas, each also by id', async () => {
    const types = (await s.get('/ResourceTypes')).body;
    expect(types.Resources.map((t: { id: string }) => t.id)).toEqual(['User', 'Group']);
    expect((await s.get('/ResourceTypes/User')).body).toMatchObject({
      endpoint: '/Users',
      schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
      schemaExtensions: [{ schema: ENTERPRISE, required: false }],
    });
    const schemas = (await s.get('/Schemas')).body;
    expect(schemas.totalResults).toBe(3);
    const user = (await s.get('/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')).body;
    expect(user.attributes.find((a: { name: string }) => a.name === 'userName')).toMatchObject({
      required: true,
      caseExact: false,
      uniqueness: 'server',
    });
    expect((await s.get(`/Schemas/${ENTERPRISE}`)).body.name).toBe('EnterpriseUser');
    expect((await s.get('/Schemas/urn:nope')).status).toBe(404);
    expect((await s.get('/ResourceTypes/Device')).status).toBe(404);
  });
});
