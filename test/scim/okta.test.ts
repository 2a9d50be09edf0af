import request from 'supertest';
import { patchBody, startScim, type ScimHarness } from '../support/scim';

/** Okta's SCIM 2.0 app, request by request, and miniOrange's test connection. */
let s: ScimHarness;
beforeAll(async () => {
  s = await startScim('okta');
});
afterAll(() => s.close());

const oktaUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  name: { givenName: 'Grace', familyName: 'Hopper' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: 'Grace Hopper',
  locale: 'en-US',
  externalId: `okta-${userName}`,
  groups: [],
  password: 'Sup3r$ecret!',
  active: true,
  ...extra,
});

describe('Okta', () => {
  it('looks users up with paging: integers, stable order, startIndex steps of count', async () => {
    for (let i = 0; i < 5; i++) expect((await s.post('/Users', oktaUser(`page${i}@okta.example`))).status).toBe(201);
    const first = await s.get('/Users?filter=' + encodeURIComponent('userName sw "page"') + '&startIndex=1&count=2');
    expect(first.body).toMatchObject({ totalResults: 5, startIndex: 1, itemsPerPage: 2 });
    const second = await s.get('/Users?filter=' + encodeURIComponent('userName sw "page"') + '&startIndex=3&count=2');
    const third = await s.get('/Users?filter=' + encodeURIComponent('userName sw "page"') + '&startIndex=5&count=2');
    const names = [...first.body.Resources, ...second.body.Resources, ...third.body.Resources].map(
      (u: { userName: string }) => u.userName,
    );
    expect(names).toEqual([
      'page0@okta.example',
      'page1@okta.example',
      'page2@okta.example',
      'page3@okta.example',
      'page4@okta.example',
    ]);
    expect(third.body).toMatchObject({ startIndex: 5, itemsPerPage: 1 });
    const lookup = await s.get(
      `/Users?filter=${encodeURIComponent('userName eq "page3@okta.example"')}&startIndex=1&count=100`,
    );
    expect(lookup.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
  });

  it('creates with a password, locale and groups: 201, and the password is neither stored nor returned', async () => {
    const res = await s.post('/Users', oktaUser('grace@okta.example'));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userName: 'grace@okta.example', locale: 'en-US', active: true });
    expect(JSON.stringify(res.body)).not.toContain('Sup3r');
    const [row] = await s.app.db.sequelize.query<{ resource: unknown }>(
      'SELECT resource FROM directory_users WHERE id = $1',
      { bind: [res.body.id], type: 'SELECT' as never },
    );
    expect(JSON.stringify(row)).not.toContain('Sup3r');
  });

  it('answers a duplicate userName (any case) with 409 uniqueness', async () => {
    const res = await s.post('/Users', oktaUser('GRACE@okta.example'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      status: '409',
      scimType: 'uniqueness',
      detail: expect.stringContaining('already in use'),
    });
  });

  it('updates with GET then PUT of the whole resource, including active false', async () => {
    const found = (await s.get(`/Users?filter=${encodeURIComponent('userName eq "grace@okta.example"')}`)).body
      .Resources[0];
    const put = await s.put(`/Users/${found.id}`, {
      ...found,
      name: { givenName: 'Grace', familyName: 'Brewster Hopper' },
      active: false,
      password: 'x',
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: found.id, active: false, name: { familyName: 'Brewster Hopper' } });
    expect(put.body.meta.version).toBe('W/"2"');
    // PUT replaces: attributes left out are gone.
    const { locale: _l, ...withoutLocale } = put.body;
    expect((await s.put(`/Users/${found.id}`, withoutLocale)).body.locale).toBeUndefined();
  });

  it('deactivates with a path-less replace', async () => {
    const id = (await s.post('/Users', oktaUser('linus@okta.example'))).body.id;
    expect((await s.patch(`/Users/${id}`, patchBody({ op: 'replace', value: { active: false } }))).status).toBe(204);
    expect((await s.get(`/Users/${id}`)).body.active).toBe(false);
  });

  it('pushes a group, renames it with its id, and changes members in both styles', async () => {
    const u1 = (await s.post('/Users', oktaUser('m1@okta.example'))).body.id;
    const u2 = (await s.post('/Users', oktaUser('m2@okta.example'))).body.id;
    const created = await s.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Okta Admins',
      members: [],
    });
    expect(created.status).toBe(201);
    const gid = created.body.id;
    const rename = await s.patch(
      `/Groups/${gid}`,
      patchBody({ op: 'replace', value: { id: gid, displayName: 'Okta Administrators' } }),
    );
    expect(rename.status).toBe(204);
    expect((await s.get(`/Groups/${gid}`)).body.displayName).toBe('Okta Administrators');

    await s.patch(
      `/Groups/${gid}`,
      patchBody({
        op: 'add',
        path: 'members',
        value: [
          { value: u1, display: 'm1@okta.example' },
          { value: u2, display: 'm2@okta.example' },
        ],
      }),
    );
    await s.patch(`/Groups/${gid}`, patchBody({ op: 'remove', path: `members[value eq "${u1}"]` }));
    expect((await s.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value)).toEqual([u2]);
    await s.patch(
      `/Groups/${gid}`,
      patchBody(
        { op: 'replace', value: { id: gid, displayName: 'Okta Administrators' } },
        { op: 'replace', path: 'members', value: [{ value: u1 }] },
      ),
    );
    expect((await s.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value)).toEqual([u1]);
    expect((await s.del(`/Groups/${gid}`)).status).toBe(204);
    expect((await s.get(`/Groups/${gid}`)).status).toBe(404);
  });

  it('accepts Content-Type: application/json', async () => {
    const res = await request(s.app.url)
      .post(`${s.base}/Users`)
      .set('Authorization', `Bearer ${s.token}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(oktaUser('json@okta.example')));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  });

  it('gets 401 with an Error body when the token is wrong', async () => {
    const res = await request(s.app.url).get(`${s.base}/Users`).set('Authorization', 'Bearer wrong');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
      detail: expect.any(String),
    });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('miniOrange', () => {
  it('"Test Connection" succeeds: ServiceProviderConfig and a user list with the bearer token', async () => {
    const c = await s.newConnection('miniOrange', 'miniorange');
    const auth = { Authorization: `Bearer ${c.token}` };
    const spc = await request(s.app.url).get(`${c.base}/ServiceProviderConfig`).set(auth);
    expect(spc.status).toBe(200);
    expect(spc.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
    });
    const list = await request(s.app.url).get(`${c.base}/Users?startIndex=1&count=1`).set(auth);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ totalResults: 0, Resources: [] });
  });
});
