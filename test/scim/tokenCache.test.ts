import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { startScim, type ScimHarness } from '../support/scim';
import { jwtHeader } from '../support/app';

/** Two app instances on one database: a token revoked through one is refused by the other at once. */
let s: ScimHarness;
let other: TestApp;
beforeAll(async () => {
  s = await startScim('generic');
  other = await startTestApp({ keys: s.keys, db: s.app.db, secretKey: s.app.secretKey });
});
afterAll(async () => {
  await other.close();
  await s.close();
});

const viaOther = (base: string, token: string) =>
  request(other.url).get(`${base}/Users`).set('Authorization', `Bearer ${token}`);
const admin = () => jwtHeader(s.jira.contextJwt(s.jira.admin.accountId));

/** The other instance learns of the change through Postgres: give the notification a moment. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

it('a rotated token stops working on every instance', async () => {
  const c = await s.newConnection('Rotate across instances');
  expect((await viaOther(c.base, c.token)).status).toBe(200); // now cached on the other instance
  const rotated = await request(s.app.url).post(`/api/v1/connections/${c.id}/token`).set(admin());
  expect(rotated.status).toBe(200);
  expect(await eventually(async () => (await viaOther(c.base, c.token)).status === 401)).toBe(true);
  expect((await viaOther(c.base, rotated.body.token)).status).toBe(200);
});

it('a deleted connection, or an uninstalled site, stops working on every instance', async () => {
  const c = await s.newConnection('Delete across instances');
  expect((await viaOther(c.base, c.token)).status).toBe(200);
  expect((await request(s.app.url).delete(`/api/v1/connections/${c.id}`).set(admin())).status).toBe(204);
  expect(await eventually(async () => (await viaOther(c.base, c.token)).status === 401)).toBe(true);

  const d = await s.newConnection('Uninstall across instances');
  expect((await viaOther(d.base, d.token)).status).toBe(200);
  expect((await s.jira.uninstall(s.app.url, s.keys)).status).toBe(204);
  expect(await eventually(async () => (await viaOther(d.base, d.token)).status === 401)).toBe(true);
});
