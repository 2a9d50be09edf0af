import request from 'supertest';
import { QueryTypes } from 'sequelize';
import { patchBody, startScim, type ScimHarness } from '../support/scim';

/** Every kind of bad input gets a SCIM Error with the right status and scimType — never a 500. */
let s: ScimHarness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  s = await startScim('generic');
  userId = (await s.post('/Users', { userName: 'victim@example.com' })).body.id;
  groupId = (await s.post('/Groups', { displayName: 'Victims' })).body.id;
});
afterAll(() => s.close());

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const expectError = (res: request.Response, status: number, scimType?: string) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body).toEqual({
    schemas: [ERROR],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail: expect.any(String),
  });
};
const raw = (method: 'post' | 'put' | 'patch', path: string, body: string, type = 'application/scim+json') => {
  const call = request(s.app.url)[method](s.base + path);
  return call.set('Authorization', `Bearer ${s.token}`).set('Content-Type', type).send(body);
};

it('malformed JSON → 400 invalidSyntax', async () => {
  expectError(await raw('post', '/Users', '{"userName": '), 400, 'invalidSyntax');
  expectError(await raw('patch', `/Users/${userId}`, '{"Operations": [}'), 400, 'invalidSyntax');
});

it('a body that is not an object → 400 invalidSyntax', async () => {
  expectError(await raw('post', '/Users', '[1,2]'), 400, 'invalidSyntax');
  expectError(await raw('post', '/Groups', '"text"'), 400, 'invalidSyntax');
});

it('wrong content type → 415', async () => {
  expectError(await raw('post', '/Users', 'userName=x', 'application/x-www-form-urlencoded'), 415);
  expectError(await raw('post', '/Users', '{"userName":"x"}', 'text/plain'), 415);
});

it('a body over 1 MB → 413, and nothing is stored', async () => {
  expectError(
    await raw('post', '/Users', JSON.stringify({ userName: 'big@example.com', title: 'x'.repeat(1_100_000) })),
    413,
  );
  expect((await s.get('/Users?filter=userName eq "big@example.com"')).body.totalResults).toBe(0);
});

it('missing required attributes → 400 invalidValue', async () => {
  expectError(await s.post('/Users', { displayName: 'No Name' }), 400, 'invalidValue');
  expectError(await s.post('/Users', { userName: '   ' }), 400, 'invalidValue');
  expectError(await s.post('/Groups', { members: [] }), 400, 'invalidValue');
  expectError(await s.put(`/Users/${userId}`, { id: userId, userame: 'typo' }), 400, 'invalidValue');
});

it('wrong types → 400 invalidValue', async () => {
  expectError(await s.post('/Users', { userName: 'x1@example.com', active: 'maybe' }), 400, 'invalidValue');
  expectError(await s.post('/Users', { userName: { first: 'x' } }), 400, 'invalidValue');
  expectError(await s.post('/Users', { userName: 'x2@example.com', name: 'Just A String' }), 400, 'invalidValue');
  expectError(await s.post('/Users', { userName: 'x3@example.com', schemas: 'not-an-array' }), 400, 'invalidSyntax');
  expectError(
    await s.patch(`/Users/${userId}`, patchBody({ op: 'replace', path: 'active', value: 'sometimes' })),
    400,
    'invalidValue',
  );
});

it('members that are not users of this connection → 400 invalidValue, and nothing changes', async () => {
  expectError(
    await s.patch(
      `/Groups/${groupId}`,
      patchBody({
        op: 'add',
        path: 'members',
        value: [{ value: userId }, { value: '00000000-0000-0000-0000-000000000000' }],
      }),
    ),
    400,
    'invalidValue',
  );
  expect((await s.get(`/Groups/${groupId}`)).body.members).toEqual([]);
  expectError(
    await s.post('/Groups', { displayName: 'Bad Members', members: [{ value: 'not-a-uuid' }] }),
    400,
    'invalidValue',
  );
  expect((await s.get('/Groups?filter=displayName eq "Bad Members"')).body.totalResults).toBe(0);
});

it('invalid PATCH requests → 400 with the RFC scimType', async () => {
  const p = (body: unknown) => s.patch(`/Users/${userId}`, body);
  expectError(await p({ schemas: [] }), 400, 'invalidSyntax');
  expectError(await p(patchBody({ op: 'move', path: 'title', value: 'x' })), 400, 'invalidSyntax');
  expectError(await p(patchBody({ op: 'remove' })), 400, 'noTarget');
  expectError(await p(patchBody({ op: 'replace', path: 'nosuch', value: 'x' })), 400, 'invalidPath');
  expectError(await p(patchBody({ op: 'replace', path: 'emails[type eq "work"', value: 'x' })), 400, 'invalidPath');
  expectError(await p(patchBody({ op: 'replace', path: 'title[value eq "x"]', value: 'x' })), 400, 'invalidPath');
  expectError(
    await p(patchBody({ op: 'replace', path: 'emails[type eq "work"].nosuch', value: 'x' })),
    400,
    'invalidPath',
  );
  expectError(await p(patchBody({ op: 'replace', path: '', value: 'x' })), 400, 'invalidPath');
  expectError(await p(patchBody({ op: 'add', value: 'not an object' })), 400, 'invalidValue');
});

it('mutability violations → 400 mutability', async () => {
  const p = (...ops: unknown[]) => s.patch(`/Users/${userId}`, patchBody(...ops));
  expectError(await p({ op: 'replace', path: 'id', value: 'mine' }), 400, 'mutability');
  expectError(await p({ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }), 400, 'mutability');
  expectError(await p({ op: 'add', path: 'groups', value: [{ value: groupId }] }), 400, 'mutability');
  expectError(await p({ op: 'remove', path: 'userName' }), 400, 'mutability');
  expectError(await p({ op: 'replace', value: { id: 'another-id' } }), 400, 'mutability');
  expectError(
    await s.patch(`/Groups/${groupId}`, patchBody({ op: 'replace', path: 'members.value', value: 'x' })),
    400,
    'invalidPath',
  );
});

it('unknown ids → 404, for every verb', async () => {
  for (const id of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
    expectError(await s.get(`/Users/${id}`), 404);
    expectError(await s.put(`/Users/${id}`, { userName: 'a@b.c' }), 404);
    expectError(await s.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'title', value: 'x' })), 404);
    expectError(await s.del(`/Users/${id}`), 404);
    expectError(await s.get(`/Groups/${id}`), 404);
    expectError(await s.del(`/Groups/${id}`), 404);
  }
  expectError(await s.get('/Devices'), 404);
});

it('missing, malformed or wrong tokens → 401', async () => {
  const url = `${s.base}/Users`;
  expectError(await request(s.app.url).get(url), 401);
  expectError(
    await request(s.app.url)
      .get(url)
      .set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`),
    401,
  );
  expectError(await request(s.app.url).get(url).set('Authorization', `Bearer ${s.token}x`), 401);
  expectError(await request(s.app.url).get(url).set('Authorization', 'Bearer'), 401);
  expectError(await request(s.app.url).get('/scim/v2/not-a-uuid/Users').set('Authorization', `Bearer ${s.token}`), 401);
});

it('a response that would carry more than 100,000 members → 400 tooMany', async () => {
  const db = s.app.db.sequelize;
  const g = (await s.post('/Groups', { displayName: 'Huge' })).body.id;
  await db.query(
    `INSERT INTO directory_users (connection_id, id, user_name, resource)
    SELECT $1::uuid, gen_random_uuid(), 'bulk' || i || '@example.com', jsonb_build_object('userName', 'bulk' || i || '@example.com') FROM generate_series(1, 100001) i`,
    { bind: [s.connectionId] },
  );
  await db.query(
    `INSERT INTO directory_memberships (connection_id, group_id, user_id) SELECT connection_id, $2::uuid, id FROM directory_users WHERE connection_id = $1::uuid AND user_name LIKE 'bulk%'`,
    { bind: [s.connectionId, g] },
  );
  expectError(await s.get(`/Groups/${g}`), 400, 'tooMany');
  const light = await s.get(`/Groups/${g}?excludedAttributes=members`);
  expect(light.status).toBe(200);
  expect(light.body.displayName).toBe('Huge');
  await db.query("DELETE FROM directory_users WHERE connection_id = $1::uuid AND user_name LIKE 'bulk%'", {
    bind: [s.connectionId],
    type: QueryTypes.DELETE,
  });
}, 60_000);

it('the NUL character, which Postgres cannot store → 400, never a 500', async () => {
  expectError(await s.get(`/Users?filter=${encodeURIComponent('userName eq "a\u0000b"')}`), 400, 'invalidFilter');
  expectError(await s.post('/Users', { userName: 'nul\u0000@example.com' }), 400, 'invalidValue');
  expectError(
    await s.post('/Users', { userName: 'ok@example.com', 'urn:example:custom:User': { deep: ['x\u0000'] } }),
    400,
    'invalidValue',
  );
  expectError(
    await s.patch(`/Users/${userId}`, patchBody({ op: 'replace', path: 'title', value: '\u0000' })),
    400,
    'invalidValue',
  );
  expectError(
    await s.patch(`/Groups/${groupId}`, patchBody({ op: 'add', path: 'members', value: [{ value: '\u0000' }] })),
    400,
    'invalidValue',
  );
});

it('a path with a malformed percent-encoding → 400 in SCIM format, for every verb', async () => {
  for (const path of ['/Users/%00%ff', '/Users/%ff', '/Groups/%E0%A4%A', '/Users/%C0%AF']) {
    expectError(await s.get(path), 400);
    expectError(await s.del(path), 400);
    expectError(await s.patch(path, patchBody()), 400);
    expectError(await s.put(path, { userName: 'x@example.com' }), 400);
  }
});

it('a number, a boolean, an object or an array where a string belongs → 400 invalidValue, never stored as text', async () => {
  for (const extra of [
    { userName: 42 },
    { userName: true },
    { userName: { x: 1 } },
    { userName: ['a'] },
    { userName: 'typed@example.com', displayName: 7 },
    { userName: 'typed@example.com', emails: [{ value: 12, primary: true }] },
  ]) {
    const res = await s.post('/Users', extra);
    expectError(res, 400, 'invalidValue');
    expect(res.body.detail).toMatch(/must be a string/);
  }
  for (const name of ['42', 'true', 'typed@example.com'])
    expect((await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`)).body.totalResults).toBe(0);
});
