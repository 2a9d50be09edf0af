import request from 'supertest';
import { jwtHeader } from '../support/app';
import { patchBody, startScim, type ScimHarness } from '../support/scim';

/**
 * JSM Customer Sync end to end: a SCIM connection whose target is `customers`, its rules, and the
 * fake Jira's service desks and organizations afterwards — as strict as JSM (experimental header,
 * 409 for an email with an account, 400 for an open-access desk, token-only removals).
 */
jest.setTimeout(60_000);

let s: ScimHarness;
let c: { id: string; base: string; token: string };
beforeEach(async () => {
  s = await startScim('okta');
  c = await s.newConnection('Customers', 'okta', 'customers');
  const desk = (id: string, key: string, openAccess = false) => s.jira.state.addServiceDesk(id, key, key, openAccess);
  desk('1', 'HELP');
  desk('2', 'IT');
  desk('3', 'PUB', true);
  s.jira.state.organizations.set('10', { id: '10', name: 'Staff', members: new Set() });
});
afterEach(() => s.close());

const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));
const api = () => request(s.app.url);
const scim = (method: 'post' | 'patch', path: string, body: unknown) =>
  (method === 'post' ? api().post(c.base + path) : api().patch(c.base + path))
    .set('Authorization', `Bearer ${c.token}`)
    .set('Content-Type', 'application/scim+json')
    .send(JSON.stringify(body));
const setRules = (customers: object) => api().put(`/api/v1/connections/${c.id}/rules`).set(admin()).send({ customers });
const user = (name: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: `${name}@corp.example`,
  emails: [{ value: `${name}@corp.example`, primary: true }],
  displayName: name.toUpperCase(),
  active: true,
});
const group = (name: string, members: string[]) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  displayName: name,
  members: members.map((value) => ({ value })),
});
const accountOf = (name: string) => s.jira.state.userByEmail(`${name}@corp.example`)?.accountId;
const deskHas = (id: string) =>
  [...s.jira.state.serviceDesks.get(id)!.customers].map((a) => s.jira.state.users.get(a)?.emailAddress).sort();
const orgHas = (id: string) =>
  [...s.jira.state.organizations.get(id)!.members].map((a) => s.jira.state.users.get(a)?.emailAddress).sort();
const patched = (r: { status: number }) => expect([200, 204]).toContain(r.status);
const lastRun = async () => (await s.app.runs.runs(c.id)).find((r) => r.total > 0)!;

it('creates customers, gives portal access and organizations by group, withdraws what it granted, and links a licensed user', async () => {
  await s.storeSiteToken();
  await setRules({
    serviceDesksForAll: ['1'],
    groups: [
      { idpGroup: 'IT staff', serviceDesks: ['2'], organizations: ['10'] },
      { idpGroup: 'Public', serviceDesks: ['3'] },
    ],
  }).expect(200);
  // The site's users connection makes Cy a licensed user; through this one Cy is also a customer: linked, not created again.
  await s.post('/Users', user('cy')).expect(201);
  await s.settle();
  const licensed = s.jira.state.userByEmail('cy@corp.example')!;
  expect(licensed).toMatchObject({ accountType: 'atlassian', products: ['jira-software'] });
  // A customer an agent gave access by hand: keep-existing never withdraws it.
  const manual = s.jira.state.addUser({ emailAddress: 'walk-in@else.example', accountType: 'customer', products: [] });
  s.jira.state.serviceDesks.get('1')!.customers.add(manual.accountId);

  const ann = (await scim('post', '/Users', user('ann')).expect(201)).body.id as string;
  const bob = (await scim('post', '/Users', user('bob')).expect(201)).body.id as string;
  await scim('post', '/Users', user('cy')).expect(201);
  const it = (await scim('post', '/Groups', group('IT staff', [ann])).expect(201)).body.id as string;
  const pub = (await scim('post', '/Groups', group('Public', [ann, bob])).expect(201)).body.id as string;
  const callsBefore = s.jira.calls.length;
  await s.settle();

  expect(s.jira.state.userByEmail('ann@corp.example')).toMatchObject({ accountType: 'customer', products: [] });
  expect(accountOf('cy')).toBe(licensed.accountId);
  expect(deskHas('1')).toEqual(['ann@corp.example', 'bob@corp.example', 'cy@corp.example', 'walk-in@else.example']);
  expect(deskHas('2')).toEqual(['ann@corp.example']);
  expect(deskHas('3')).toEqual(['ann@corp.example', 'bob@corp.example']);
  expect(orgHas('10')).toEqual(['ann@corp.example']);
  // One call per customer created, one search for the account that existed, one call per desk or organization.
  const calls = s.jira.calls.slice(callsBefore).filter((x) => x.path.startsWith('/rest/'));
  const writes = (method: string, re: RegExp) => calls.filter((x) => x.method === method && re.test(x.path)).length;
  expect(writes('POST', /\/servicedeskapi\/customer$/)).toBe(3);
  expect(writes('POST', /\/servicedesk\/\d+\/customer$/)).toBe(3);
  expect(writes('POST', /\/organization\/\d+\/user$/)).toBe(1);
  expect((await lastRun()).counts).toMatchObject({ customersCreated: 2, customersLinked: 1, accessGrants: 4 });

  // Ann leaves IT staff and Public; Bob is disabled (deprovision: removeAccess).
  await scim('patch', `/Groups/${it}`, patchBody({ op: 'remove', path: `members[value eq "${ann}"]` })).expect(patched);
  await scim('patch', `/Groups/${pub}`, patchBody({ op: 'remove', path: `members[value eq "${ann}"]` })).expect(
    patched,
  );
  await scim('patch', `/Users/${bob}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(patched);
  await s.settle();
  expect(deskHas('1')).toEqual(['ann@corp.example', 'cy@corp.example', 'walk-in@else.example']);
  expect(deskHas('2')).toEqual([]);
  expect(orgHas('10')).toEqual([]);
  // Desk 3 is open to everyone: JSM refuses removals there; the run says so and parks nothing.
  expect(deskHas('3')).toEqual(['ann@corp.example', 'bob@corp.example']);
  const run = await lastRun();
  expect(run.counts).toMatchObject({ openAccessDesks: 1 });
  const shown = (await api().get(`/api/v1/runs/${run.id}?limit=0`).set(admin()).expect(200)).body;
  expect(shown.notes).toContainEqual(
    expect.stringMatching(/^1 withdrawal was refused by a service desk open to everyone/),
  );
  expect(await s.app.runs.operations(run.id, 'parked')).toEqual([]);
  // The experimental removal went with its opt-in header and the site-admin token.
  const removal = s.jira.calls.filter((x) => x.method === 'DELETE' && /\/servicedesk\/2\/customer$/.test(x.path));
  expect(removal).toEqual([expect.objectContaining({ auth: 'token', status: 204 })]);

  // Bob comes back: his portal access too.
  await scim('patch', `/Users/${bob}`, patchBody({ op: 'replace', path: 'active', value: true })).expect(patched);
  await s.settle();
  expect(deskHas('1')).toContain('bob@corp.example');
});

it('a dry run shows the customer plan and changes nothing', async () => {
  await setRules({ serviceDesksForAll: ['1', '2'] }).expect(200);
  await scim('post', '/Users', user('dee')).expect(201);
  const res = await api().post(`/api/v1/connections/${c.id}/sync`).set(admin()).send({ dryRun: true });
  expect(res.status).toBe(200);
  const kinds = (res.body.plan?.operations ?? res.body.operations ?? []).map((o: { kind: string }) => o.kind);
  expect(kinds).toEqual(['ensureCustomer', 'grantAccess', 'grantAccess']);
  expect(res.body.operations[0]).toMatchObject({
    user: { email: 'dee@corp.example', displayName: 'DEE' },
    details: { kind: 'ensureCustomer', create: true },
  });
  expect(res.body.operations[1]).toMatchObject({
    subject: 'desk:1',
    details: { kind: 'grantAccess', target: 'desk', targetId: '1', userIds: [expect.any(String)] },
  });
  expect(accountOf('dee')).toBeUndefined();
});

it('refuses rules that name service desks or organizations the site does not have, each field named, and stores nothing', async () => {
  const before = await api().get(`/api/v1/connections/${c.id}/rules`).set(admin());
  const res = await setRules({
    serviceDesksForAll: ['1', '999'],
    organizationsForAll: ['997'],
    groups: [{ idpGroup: 'IT staff', serviceDesks: ['2', '998'], organizations: ['10'] }],
  });
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    error: 'validation_failed',
    fields: {
      'customers.serviceDesksForAll.1': 'service desk 999 does not exist on this site',
      'customers.organizationsForAll.0': 'JSM organization 997 does not exist on this site',
      'customers.groups.0.serviceDesks.1': 'service desk 998 does not exist on this site',
    },
  });
  expect(Object.keys(res.body.fields)).toHaveLength(3);
  expect((await api().get(`/api/v1/connections/${c.id}/rules`).set(admin())).body).toEqual(before.body);
  // A desk made a moment ago counts at once (an unknown id is looked up again before it is refused).
  s.jira.state.addServiceDesk('999', 'NEW', 'New desk', false);
  await setRules({ serviceDesksForAll: ['1', '999'] }).expect(200);
  // Reads of JSM's lists: one paged read per check, none for rules that name no id.
  const reads = () => s.jira.callsTo('GET', '/rest/servicedeskapi/servicedesk').length;
  const n = reads();
  await setRules({ deprovision: 'keep' }).expect(200);
  expect(reads()).toBe(n);
});

it('rules naming desks are refused on a site without JSM, and answered 502 while JSM does not answer; nothing saved', async () => {
  const before = await api().get(`/api/v1/connections/${c.id}/rules`).set(admin());
  s.jira.failNextOn('/rest/servicedeskapi/servicedesk', {
    status: 404,
    body: { errorMessage: 'No such resource', errorMessages: [] },
  });
  const noJsm = await setRules({ serviceDesksForAll: ['1'] });
  expect(noJsm.status).toBe(400);
  expect(noJsm.body).toMatchObject({
    error: 'validation_failed',
    fields: { customers: 'Jira Service Management is not on this site' },
  });
  const down = { status: 503, body: { errorMessages: ['Service Unavailable'] } };
  s.jira.failNextOn('/rest/servicedeskapi/servicedesk', ...Array.from({ length: 10 }, () => down));
  const away = await setRules({ serviceDesksForAll: ['1'] });
  s.jira.clearPlanned();
  expect(away.status).toBe(502);
  expect(away.body).toMatchObject({
    error: 'jira_unavailable',
    message: expect.stringMatching(/service desks and organizations/),
  });
  expect((await api().get(`/api/v1/connections/${c.id}/rules`).set(admin())).body).toEqual(before.body);
});

it("a desk or organization that disappears later is said in the run in words, with JSM's own message, once", async () => {
  await s.storeSiteToken();
  await setRules({ serviceDesksForAll: ['1', '2'], organizationsForAll: ['10'] }).expect(200);
  s.jira.state.serviceDesks.delete('2'); // an agent deleted the IT desk
  s.jira.state.organizations.delete('10');
  await scim('post', '/Users', user('gil')).expect(201);
  await s.settle();
  expect(deskHas('1')).toEqual(['gil@corp.example']);
  const run = await lastRun();
  const page = await api().get(`/api/v1/runs/${run.id}`).set(admin());
  expect(page.body.status).toBe('partial');
  expect(page.body.notes).toEqual(
    expect.arrayContaining([
      'JSM organization 10 no longer exists: remove it from the rules (JSM: The organization does not exist.).',
      'Service desk 2 no longer exists: remove it from the rules (JSM: The service desk does not exist.).',
    ]),
  );
  expect(JSON.stringify(page.body.notes)).not.toMatch(/\/rest\//);
});

it('refuses bad customer rules and targets in words', async () => {
  const bad = await setRules({ serviceDesksForAll: ['HELP'], groups: [{ idpGroup: 'X' }] });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toMatch(/must be an id as JSM lists it/);
  expect(JSON.stringify(bad.body)).toMatch(/at least one service desk or organization/);
  const target = await api()
    .post('/api/v1/connections')
    .set(admin())
    .send({ name: 'X', kind: 'scim', target: 'agents' });
  expect(target.status).toBe(400);
  expect(JSON.stringify(target.body)).toMatch(/must be \\"users\\" or \\"customers\\"/);
});

it('lists the service desks and organizations for the pickers, page by page; bad paging is refused in words', async () => {
  for (let i = 11; i <= 13; i++)
    s.jira.state.organizations.set(String(i), { id: String(i), name: `Org ${i}`, members: new Set() });
  const desks = await api().get('/api/v1/jsm/service-desks').set(admin()).expect(200);
  expect(desks.body).toEqual({
    values: [
      { id: '1', projectKey: 'HELP', name: 'HELP' },
      { id: '2', projectKey: 'IT', name: 'IT' },
      { id: '3', projectKey: 'PUB', name: 'PUB' },
    ],
    start: 0,
    limit: 50,
    isLastPage: true,
  });
  const first = await api().get('/api/v1/jsm/organizations?limit=2').set(admin()).expect(200);
  expect(first.body).toMatchObject({ values: [{ id: '10', name: 'Staff' }, { id: '11' }], isLastPage: false });
  const next = await api().get('/api/v1/jsm/organizations?start=2&limit=2').set(admin()).expect(200);
  expect(next.body).toMatchObject({ values: [{ id: '12' }, { id: '13' }], isLastPage: true });
  for (const q of ['limit=0', 'limit=abc', 'start=-1', 'limit=101', 'page=2']) {
    const res = await api().get(`/api/v1/jsm/organizations?${q}`).set(admin());
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/.+/);
  }
});

it("without a site-admin token: customers are created and given access with the app's own JWT; a withdrawal waits for the token and says so", async () => {
  await setRules({ serviceDesksForAll: ['1'], organizationsForAll: ['10'] }).expect(200);
  const eve = (await scim('post', '/Users', user('eve')).expect(201)).body.id as string;
  await s.settle();
  expect(deskHas('1')).toEqual(['eve@corp.example']);
  expect(orgHas('10')).toEqual(['eve@corp.example']);
  const writes = s.jira.calls.filter((x) => x.method === 'POST' && x.path.startsWith('/rest/servicedeskapi/'));
  expect(writes.map((x) => x.auth)).toEqual(['jwt', 'jwt', 'jwt']);

  await scim('patch', `/Users/${eve}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(patched);
  await s.takeUp();
  const [held] = await s.app.runs.runs(c.id, 1);
  expect(held).toMatchObject({
    status: 'failed',
    error: expect.stringMatching(/needs a site-admin API token: .*withdrawal/),
  });
  expect(deskHas('1')).toEqual(['eve@corp.example']);
  // Saving the token: the connection stops waiting and the withdrawal goes through.
  await api()
    .put('/api/v1/site-credentials')
    .set(admin())
    .send({ email: s.jira.admin.emailAddress, apiToken: s.jira.adminToken })
    .expect(200);
  await s.settle();
  expect(deskHas('1')).toEqual([]);
  expect(orgHas('10')).toEqual([]);
});

it('mirroring (keep existing off): a full sync withdraws whoever the IdP does not give a desk, and links an existing customer instead of withdrawing it', async () => {
  await s.storeSiteToken();
  const walkIn = s.jira.state.addUser({ emailAddress: 'walk-in@else.example', accountType: 'customer', products: [] });
  const known = s.jira.state.addUser({ emailAddress: 'fay@corp.example', accountType: 'customer', products: [] });
  for (const a of [walkIn, known]) s.jira.state.serviceDesks.get('1')!.customers.add(a.accountId);
  s.jira.state.organizations.get('10')!.members.add(walkIn.accountId);
  await setRules({ serviceDesksForAll: ['1'], organizationsForAll: ['10'], keepExisting: false }).expect(200);
  await scim('post', '/Users', user('fay')).expect(201);
  // The rules changed: the next run is a full one, and it mirrors.
  await s.settle();
  expect(accountOf('fay')).toBe(known.accountId);
  expect(deskHas('1')).toEqual(['fay@corp.example']);
  expect(orgHas('10')).toEqual(['fay@corp.example']);
  expect((await lastRun()).counts).toMatchObject({ customersLinked: 1, accessWithdrawals: 2 });
  // Who each desk and organization had was read page by page, the desks' list with the experimental header.
  const reads = s.jira.calls.filter(
    (x) => x.method === 'GET' && /\/(servicedesk\/1\/customer|organization\/10\/user)$/.test(x.path),
  );
  expect(reads.map((x) => x.status)).toEqual([200, 200]);
});
