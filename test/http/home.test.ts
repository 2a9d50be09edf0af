import request from 'supertest';
import { KeyServer } from '../support/keyServer';
import { startTestApp, type TestApp } from '../support/app';

/** The server's front door: what it is, its health and how to install it, for a browser or a script. */
let keys: KeyServer;
let app: TestApp;
beforeAll(async () => {
  keys = await new KeyServer().start();
  app = await startTestApp({ keys });
});
afterAll(async () => {
  await app.close();
  await keys.stop();
});

it('shows a browser what this server is, that it is healthy, and how to install it through Forge', async () => {
  const res = await request(app.url).get('/').set('Accept', 'text/html');
  expect(res.status).toBe(200);
  expect(res.type).toBe('text/html');
  expect(res.text).toContain('IdP User &amp; Group Sync for Jira Cloud');
  expect(res.text).toContain('Database up');
  for (const step of ['npm run manifest', 'forge register', 'forge deploy', 'forge install', 'docs/install.md'])
    expect(res.text).toContain(step);
  expect(res.text).toContain(`${app.url}/atlassian-connect.json`);
  // The test app's base URL is plain HTTP: the page says Jira needs HTTPS.
  expect(res.text).toContain('Jira reaches only an HTTPS address');
});

it('answers a script in JSON, and a browser with no preference in HTML', async () => {
  const json = await request(app.url).get('/').set('Accept', 'application/json');
  expect(json.body).toMatchObject({
    status: 'ok',
    database: 'up',
    baseUrl: app.url,
    descriptor: `${app.url}/atlassian-connect.json`,
  });
  expect((await request(app.url).get('/')).type).toBe('text/html');
});

it('keeps /healthz for probes, and unknown paths still get the JSON 404', async () => {
  expect((await request(app.url).get('/healthz')).body).toEqual({ status: 'ok', database: 'up' });
  const missing = await request(app.url).get('/no-such-page');
  expect(missing.status).toBe(404);
  expect(missing.body).toMatchObject({ error: 'not_found' });
});
