/// <reference lib="dom" />
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ALL_ROLES } from '../support/entra';
import { FakeEntra } from '../support/fakeEntra';
import { FakeGoogle } from '../support/fakeGoogle';
import { FakeKeycloak } from '../support/fakeKeycloak';
import { FakeOkta } from '../support/fakeOkta';
import { FakeWebhooks } from '../support/fakeWebhooks';
import { GOOGLE_SCOPES } from '../../src/sources/google/settings';
import { patchBody, startScim, type Host, type ScimHarness } from '../support/scim';
import { serveCustomUi } from '../support/fakeForge';
import { itWithSlapd, Slapd } from '../support/slapd';
import { buildAdminBundle } from '../../scripts/adminBundle';

/**
 * The admin pages in a real browser (Debian's Chromium driven by playwright-core), every scenario
 * under both hosts:
 * - Connect: served by the test app with the JWT Jira signs for a page load; the fake Jira serves
 *   the host script, whose AP.context.getToken hands the page a context JWT, as Jira's does.
 * - Forge: the static Custom UI bundle (`npm run build:admin-page`) served from a CDN origin of its
 *   own; the page's bundled @forge/bridge calls Forge's `__bridge`, which the fake Forge platform
 *   answers (invokeRemote to our remote with a signed invocation token and the app system token).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts');
const SCREENSHOTS = path.join(__dirname, '../../docs/screenshots');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true')
  throw new Error(`Chromium is required in CI (${CHROMIUM}); .ci/run installs it with apt-get.`);
if (!haveChromium) {
  console.warn(
    `\n*** SKIPPING the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH) ***\n`,
  );
}
const describeBrowser = haveChromium ? describe : describe.skip;
jest.setTimeout(120_000);

let browser: Browser;
let s: ScimHarness;
let entra: FakeEntra;
let google: FakeGoogle;
let okta: FakeOkta;
let kc: FakeKeycloak;
let hooks: FakeWebhooks;
let context: BrowserContext;
let page: Page;
let problems: string[];
let cdn: { url: string; stop: () => Promise<void> };
let bundleDir: string;

beforeAll(async () => {
  if (!haveChromium) return;
  bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-admin-bundle-'));
  await buildAdminBundle(bundleDir);
  cdn = await serveCustomUi(bundleDir);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await cdn?.stop();
  if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
});

async function setUp(host: Host): Promise<void> {
  entra = await new FakeEntra().start();
  google = await new FakeGoogle().start();
  okta = await new FakeOkta().start();
  kc = await new FakeKeycloak().start();
  hooks = await new FakeWebhooks().start();
  s = await startScim(
    'entra',
    {
      ENTRA_CA_FILE: entra.certFile,
      GOOGLE_API_URL: google.url,
      GOOGLE_TOKEN_URL: google.tokenUrl,
      GOOGLE_CA_FILE: google.certFile,
      OKTA_CA_FILE: okta.certFile,
      KEYCLOAK_CA_FILE: kc.certFile,
      NOTIFY_CA_FILE: hooks.certFile,
      NOTIFY_CHECK_MS: '3600000',
    },
    { host },
  );
  await s.storeSiteToken();
  // Jira's admin iframe is about 1,000 px wide on a laptop.
  context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: host === 'forge' ? cdn.url : s.app.url,
  });
  if (s.installation) {
    // Forge's Custom UI host: the bridge the page's @forge/bridge calls, answered by the fake Forge platform.
    const inst = s.installation;
    await context.exposeFunction('__fakeForgeInvoke', (payload: Parameters<typeof inst.invokeRemote>[0]) =>
      inst.invokeRemote(payload, s.jira.pageUserAccountId ?? s.jira.admin.accountId),
    );
    await context.addInitScript(() => {
      const w = window as unknown as { __bridge: unknown; __fakeForgeInvoke: (p: unknown) => Promise<unknown> };
      w.__bridge = {
        callBridge: (name: string, payload: unknown) =>
          name === 'invoke'
            ? w.__fakeForgeInvoke(payload)
            : Promise.reject(new Error(`the fake Forge bridge does not know ${name}`)),
      };
    });
  }
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  problems = [];
  // The browser logs every 4xx answer as an error; the admin API's validation answers (400, 409) and
  // the refusal of a non-administrator (403) are expected where a test provokes them. Anything else — a script error, a 404, a 500 — is a problem.
  page.on(
    'console',
    (m) => m.type() === 'error' && !/status of (400|403|409) /.test(m.text()) && problems.push(`console: ${m.text()}`),
  );
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
}

async function tearDown(): Promise<void> {
  await context?.close();
  await s?.close();
  await entra?.stop();
  await google?.stop();
  await okta?.stop();
  await kc?.stop();
  await hooks?.stop();
}

/** Opens the admin page at a route, as Jira's iframe would load it (Connect), or as Forge shows the Custom UI resource. */
async function open(route = '', accountId = s.jira.admin.accountId): Promise<void> {
  const hash = route ? `#${route}` : '';
  if (s.host === 'forge') return void (await page.goto(`${cdn.url}/index.html${hash}`));
  const jwt = s.jira.appJwt('GET', '/admin', accountId);
  await page.goto(`${s.app.url}/admin?jwt=${jwt}${hash}`);
}

/** Runs a test body; on failure, saves a screenshot under test-artifacts/ before failing. */
async function scenario(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    expect(problems).toEqual([]);
    // Under Forge the page reached the server only through invokeRemote (Forge's endpoint, our /forge/api/v1).
    if (s.installation)
      expect(s.installation.calls.filter((c) => c.endpoint === 'admin-api').map((c) => c.path)).toContainEqual(
        expect.stringMatching(/^\/forge\/api\/v1\//),
      );
  } catch (err) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page
      .screenshot({ path: path.join(ARTIFACTS, `${name}-${s.host}.png`), fullPage: true })
      .catch(() => undefined);
    throw err;
  }
}

/** With SCREENSHOTS=1, keeps a picture of the page for the docs. */
async function shot(name: string): Promise<void> {
  if (!process.env.SCREENSHOTS || s.host !== 'connect') return; // the pages look the same under both hosts
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const entraUser = (name: string) => ({
  userName: `${name}@contoso.com`,
  active: true,
  displayName: name,
  emails: [{ primary: true, type: 'work', value: `${name}@contoso.com` }],
});

const HOSTS: Host[] = ['connect', 'forge'];

describeBrowser.each(HOSTS)('admin pages in Chromium, installed through %s', (host) => {
  beforeEach(() => setUp(host), 60_000);
  afterEach(tearDown);

  it('lists the connections, creates a SCIM connection and copies its token, which then works', () =>
    scenario('create-scim', async () => {
      await open('/');
      await page.getByRole('heading', { name: 'Configured IdPs' }).waitFor();
      await page.locator('#connections').getByRole('link', { name: 'Test IdP', exact: true }).waitFor();
      await shot('connections');

      await page.getByRole('link', { name: 'Add new app' }).first().click();
      await shot('add-new-app');
      await page.getByRole('link', { name: /Okta \(SCIM\)/ }).click();
      await page.getByLabel('Name').fill('Okta production');
      await page.getByRole('button', { name: 'Create' }).click();
      const token = (await page.locator('#scim-token').textContent())!.trim();
      expect(token).toMatch(/^scim_/);
      const baseUrl = (await page.locator('#scim-base-url').textContent())!.trim();
      await page
        .locator('.idp-steps')
        .getByText(/SCIM connector base URL/)
        .waitFor(); // Okta's setup steps beside the details
      await page.getByRole('button', { name: 'Copy token' }).click();
      await page.getByText('Copied').waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
      await shot('scim-details');
      const res = await request(s.app.url)
        .get(`${new URL(baseUrl).pathname}/Users`)
        .set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);

      // Delete from the list asks first, then the connection and its token are gone
      await open('/');
      await page.locator('#connections').getByRole('link', { name: 'Delete Okta production' }).click();
      await page.getByRole('button', { name: 'Delete connection' }).click();
      await page.locator('#connections').waitFor();
      expect(await page.locator('#connections').getByText('Okta production').count()).toBe(0);
      expect(
        (
          await request(s.app.url)
            .get(`${new URL(baseUrl).pathname}/Users`)
            .set('Authorization', `Bearer ${token}`)
        ).status,
      ).toBe(401);

      // a name clash is shown next to the field
      await open('/new/scim-generic');
      await page.getByLabel('Name').fill('test IDP');
      await page.getByRole('button', { name: 'Create' }).click();
      await page
        .locator('#name-error')
        .getByText(/already has this name/)
        .waitFor();
    }));

  it('tells a user who is not a Jira administrator that the page is for administrators, and shows nothing else', () =>
    scenario('not-admin', async () => {
      const dev = s.jira.state.addUser({ emailAddress: 'dev@example.com', displayName: 'Dev' });
      s.jira.pageUserAccountId = dev.accountId;
      await open('/', dev.accountId);
      await page.getByText('Administrators only').waitFor();
      expect(await page.getByText('Test IdP').count()).toBe(0);
    }));

  it('edits group mapping: the regex preview follows the form, a bad regex is named, and the rules are saved', () =>
    scenario('group-mapping', async () => {
      await open(`/c/${s.connectionId}/groups`);
      await page.getByRole('heading', { name: 'Preview' }).waitFor();
      await page.getByLabel(/On-the-fly mapping/).check();
      expect(await page.getByLabel(/On-the-fly mapping/).isChecked()).toBe(true);
      await page.getByLabel('Rewrite: regular expression').fill('^AAD-(.*)$');
      const preview = page.locator('#preview tbody');
      await preview.getByRole('row', { name: /AAD-Engineering Engineering/ }).waitFor();
      expect(await preview.getByRole('row', { name: /Contractors not mapped/ }).count()).toBe(1);

      await page.getByLabel('Rewrite: regular expression').fill('^AAD-(');
      await page
        .locator('#groups-onTheFly-pattern-error')
        .getByText(/regular expression/i)
        .waitFor();
      await page.getByLabel('Rewrite: regular expression').fill('^AAD-(.*)$');
      await page.getByRole('button', { name: 'Add mapping' }).click();
      await page.getByLabel('IdP group 1').fill('AAD-Sales');
      await page.getByLabel('Jira groups 1').fill('sales, crm-users');
      await preview
        .getByRole('row', { name: /AAD-Sales/ })
        .filter({ hasText: 'crm-users' })
        .waitFor();
      await shot('group-sync-settings');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#rules-status').getByText('Saved.').waitFor();
      const rules = (await s.adminApi('GET', `/connections/${s.connectionId}/rules`)).body;
      expect(rules.groups).toMatchObject({
        onTheFly: { enabled: true, pattern: '^AAD-(.*)$' },
        manual: [{ idpGroup: 'AAD-Sales', jiraGroups: ['sales', 'crm-users'] }],
      });

      // another form: a wrong product is refused next to its field
      await page.getByRole('link', { name: 'User Sync Settings' }).click();
      await page.getByLabel('Products granted to new users').fill('jira-software, confluence');
      await page.getByRole('button', { name: 'Save' }).click();
      await page
        .locator('#users-products-error')
        .getByText(/must be one of/)
        .waitFor();
      await shot('user-sync-settings');
      await page.getByRole('link', { name: 'Attribute Mapping' }).click();
      await page.getByRole('button', { name: 'Add attribute' }).waitFor();
      await shot('attribute-mapping');
    }));

  it('adds a JSM customers app and sets its Customer Sync: desks and organizations picked from the site, a mapping that gives nothing named', () =>
    scenario('customers', async () => {
      for (const [id, key, name] of [
        ['1', 'HELP', 'Help desk'],
        ['2', 'IT', 'IT support'],
      ])
        s.jira.state.addServiceDesk(id, key, name);
      s.jira.state.organizations.set('10', { id: '10', name: 'Contractors Ltd', members: new Set() });
      await open('/new');
      await page.getByRole('link', { name: /Okta \(SCIM\)/ }).click();
      await page.getByLabel('Name').fill('Okta customers');
      await page.getByLabel('Provision as').selectOption('customers');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.locator('#scim-token').waitFor();
      await page.getByText('Customer base URL').waitFor(); // its own base URL and token, as customers'
      await page.getByRole('link', { name: 'Done' }).click();
      await page.getByRole('link', { name: 'Customer Sync Settings' }).click();
      await page.getByLabel('HELP — Help desk').check();
      await page.getByRole('button', { name: 'Add mapping' }).click();
      await page.getByLabel('IdP group 1').fill('Contractors');
      await page.getByRole('button', { name: 'Save' }).click();
      await page
        .locator('#customers-groups-error')
        .getByText(/at least one service desk or organization/)
        .waitFor();
      await page.getByLabel('Service desks for mapping 1').selectOption(['2']);
      await page.getByLabel('Organizations for mapping 1').selectOption(['10']);
      expect(await page.getByLabel('Keep access this connection did not grant').isChecked()).toBe(true);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#rules-status').getByText('Saved.').waitFor();
      await shot('customer-sync-settings');
      const id = (await s.adminApi('GET', '/connections')).body.connections.find(
        (c: { name: string }) => c.name === 'Okta customers',
      ).id as string;
      const rules = (await s.adminApi('GET', `/connections/${id}/rules`)).body;
      expect(rules.customers).toEqual({
        serviceDesksForAll: ['1'],
        organizationsForAll: [],
        groups: [{ idpGroup: 'Contractors', serviceDesks: ['2'], organizations: ['10'] }],
        deprovision: 'removeAccess',
        keepExisting: true,
      });
      // The list of configured IdPs says what each connection provisions.
      await open('/');
      await page
        .locator('#connections')
        .getByRole('row', { name: /Okta customers.*JSM customers/ })
        .waitFor();
    }));

  it('dry run shows the plan; Synchronize shows live progress until done; the history and a run open', () =>
    scenario('synchronize', async () => {
      expect(
        (await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, { groups: { onTheFly: { enabled: true } } }))
          .status,
      ).toBe(200);
      const ids: string[] = [];
      for (const n of ['ann', 'bob', 'cy', 'dee', 'eve', 'fay'])
        ids.push((await s.post('/Users', entraUser(n))).body.id);
      const eng = (await s.post('/Groups', { displayName: 'Engineering' })).body.id;
      await s.patch(
        `/Groups/${eng}`,
        patchBody({ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }),
      );

      await open('/');
      await page.locator('#connections').getByRole('button', { name: 'Dry run Test IdP' }).click();
      await page.locator('#plan').waitFor();
      expect(await page.locator('#plan tbody tr').count()).toBe(1 + 6 + 6); // the group, six users, six memberships
      await page.getByText('Nothing has been changed').waitFor();
      await shot('dry-run');
      expect(s.jira.state.groupByName('Engineering')).toBeUndefined();

      s.jira.setLatency(700); // a run long enough to watch
      await page.getByRole('button', { name: 'Synchronize now' }).click();
      const bar = page.getByRole('progressbar', { name: 'Sync progress' });
      await bar.waitFor();
      const seen = new Set<string>();
      // Watch until the run ends (a deadline, not a count of polls: a loaded CI machine is slower).
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        seen.add((await bar.getAttribute('aria-valuenow'))!);
        if ((await bar.getAttribute('data-status')) !== 'running') break;
        await page.waitForTimeout(100);
      }
      expect(await bar.getAttribute('data-status')).toBe('succeeded');
      expect(await bar.getAttribute('aria-valuenow')).toBe('100');
      expect([...seen].some((v) => v !== '0' && v !== '100')).toBe(true); // it moved while the run went on
      await page
        .locator('#progress')
        .getByText(/Finished: 13 of 13 operations/)
        .waitFor();
      await shot('synchronize');
      s.jira.setLatency(0);
      expect(s.jira.state.groupMembers('Engineering')).toHaveLength(6);

      await page.getByRole('link', { name: 'Sync History' }).click();
      await page.locator('svg.idp-chart rect').first().waitFor();
      expect(await page.locator('#runs tbody tr').count()).toBe(1);
      await page.locator('#runs tbody tr').getByText('6 created, 0 linked, 0 updated, 0 deprovisioned').waitFor();
      await page.locator('#runs tbody tr').getByText('+6 / −0').waitFor();
      await page.locator('#runs tbody tr').getByText('Synchronize', { exact: true }).waitFor(); // what started it, in words
      await shot('sync-history');
      await page.locator('#runs tbody tr a').first().click();
      await page.locator('#operations tbody tr').first().waitFor();
      expect(await page.locator('#operations tbody tr').count()).toBe(13);
      // what the run says once, not per user: no org key, so the IdP's display names were not written
      await page
        .locator('#run-notes')
        .getByText(/display name, job title or department .* organization API key/)
        .waitFor();
      await page.getByLabel('Show').selectOption('parked');
      await page.getByText('No operations with this outcome.').waitFor();
      await page.getByLabel('Show').selectOption('done');
      await page.locator('#operations tbody tr').nth(12).waitFor();
      await shot('run');
    }));

  it('a run with parked operations says so on its page, and "Retry parked operations" puts them back', () =>
    scenario('retry-parked', async () => {
      // Jira refuses two creations outright: they park at once, with Jira's words.
      const refusal = { status: 400, body: { errorMessages: ['Jira is read-only for maintenance.'], errors: {} } };
      s.jira.failNextOn('/rest/api/3/user', refusal, refusal);
      await s.post('/Users', entraUser('gil'));
      await s.post('/Users', entraUser('hal'));
      await s.settle();
      const [run] = (await s.adminApi('GET', `/connections/${s.connectionId}/runs`)).body.runs;
      expect(run).toMatchObject({ status: 'partial', counts: { failed: 2 } });

      await open(`/run/${run.id}?status=parked`);
      await page.getByText('2 operation(s) parked', { exact: true }).waitFor();
      await page
        .locator('#operations tbody tr')
        .getByText(/read-only for maintenance/)
        .first()
        .waitFor();
      await shot('retry-parked');
      await page.getByRole('button', { name: 'Retry parked operations' }).click();
      const bar = page.getByRole('progressbar', { name: 'Sync progress' });
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await page.waitForTimeout(100))
        if ((await bar.getAttribute('data-status')) === 'succeeded') break;
      expect(await bar.getAttribute('data-status')).toBe('succeeded');
      expect(
        [...s.jira.state.users.values()]
          .map((u) => u.emailAddress)
          .filter((e) => /^(gil|hal)@/.test(e))
          .sort(),
      ).toEqual(['gil@contoso.com', 'hal@contoso.com']);
      // A second retry has nothing to put back (the API says so; the button is gone with the parked operations).
      expect((await s.adminApi('POST', `/runs/${run.id}/retry`)).body.error).toBe('nothing_to_retry');
    }));

  it('creates an API token shown once, a script changes a connection with it, the audit log shows who did what and downloads it; the token is revoked', () =>
    scenario('api-tokens-audit', async () => {
      await open('/api-tokens');
      await page.getByRole('heading', { name: 'API tokens' }).waitFor();
      await page.getByLabel('Name').fill('Terraform');
      await page.getByLabel('Access').selectOption('write');
      await page.getByRole('button', { name: 'Create token' }).click();
      const token = (await page.locator('#api-token-value').textContent())!.trim();
      expect(token).toMatch(/^igs_/);
      await page.getByRole('button', { name: 'Copy token' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
      await page.locator('#api-tokens').getByText('Terraform').waitFor();
      await shot('api-tokens');
      // The script: a connection renamed with the token, on /api/v1, whichever host the site installed through.
      const renamed = await fetch(`${s.app.url}/api/v1/connections/${s.connectionId}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Renamed by Terraform' }),
      });
      expect(renamed.status).toBe(200);

      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      const row = page.locator('#audit tbody tr').filter({ hasText: 'Connection "Renamed by Terraform" updated' });
      await row.getByText('API token “Terraform”').waitFor();
      await row.getByText('1 change').click();
      await row.getByText(/"Test IdP" → "Renamed by Terraform"/).waitFor();
      await page.locator('#audit tbody tr').filter({ hasText: 'API token "Terraform" created (read-write)' }).waitFor();
      await shot('audit-log');
      // Filtered to API token events only.
      await page.getByLabel('Change').selectOption('api-token');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 1);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download CSV' }).click(),
      ]);
      const csv = fs.readFileSync(await download.path(), 'utf8');
      expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/);
      expect(csv.split('\r\n')[0]).toBe('id,at,actorKind,actorId,actorName,via,kind,connectionId,summary,details');
      expect(csv).toContain('api-token.created');
      expect(csv).not.toContain('connection.updated');
      expect(csv).not.toContain(token);

      await open('/api-tokens');
      await page.getByRole('button', { name: 'Revoke Terraform' }).click();
      await page.getByRole('button', { name: /^Confirm: revoke Terraform/ }).click();
      await page.locator('#api-tokens').getByText('revoked').waitFor();
      const refused = await fetch(`${s.app.url}/api/v1/connections`, { headers: { Authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(401);
    }));

  it('sets a Slack webhook, sends a test notification that arrives, lists it; a paused connection says why and resumes', () =>
    scenario('notifications', async () => {
      await open('/notifications');
      await page.getByRole('heading', { name: 'Notifications' }).waitFor();
      await page.getByLabel('Webhook URL').fill(hooks.hook('slack'));
      await page.getByLabel('Format').selectOption('slack');
      await page.getByLabel('Repeat the same alert at most').selectOption('6');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Notification settings saved').waitFor();
      // The URL is never shown again: only its host, as the placeholder of a field left empty.
      expect(await page.getByLabel('Webhook URL').inputValue()).toBe('');
      expect(await page.content()).not.toContain('secretpart');
      await page.getByRole('button', { name: 'Send a test notification' }).click();
      await page
        .locator('#test-deliveries')
        .getByText(/^Webhook to 127\.0\.0\.1:\d+: sent$/)
        .waitFor();
      await page.locator('#notices').getByText('Test notification from IdP User & Group Sync').waitFor();
      expect(hooks.to(hooks.hook('slack'))).toHaveLength(1);
      await shot('notifications');

      await s.app.db.sequelize.query(
        "UPDATE connections SET paused_at = now(), pause_reason = '5 runs in a row failed' WHERE id = $1",
        { bind: [s.connectionId] },
      );
      await open('/');
      await page.locator(`[data-connection="${s.connectionId}"]`).getByText('paused').waitFor();
      await page.getByRole('link', { name: 'Test IdP', exact: true }).click();
      await page.getByText('Paused: 5 runs in a row failed').waitFor();
      expect(await page.locator('#scim-last-request').textContent()).toBe('none yet');
      await shot('paused-connection');
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.getByText('Paused: 5 runs in a row failed').waitFor({ state: 'detached' });
      expect((await s.adminApi('GET', `/connections/${s.connectionId}`)).body.paused).toBeNull();
    }));

  it('says what blocks work: no site-admin token, held changes; forms are labelled and keyboard reachable at iframe width', () =>
    scenario('banners', async () => {
      await s.app.db.sequelize.query('DELETE FROM site_credentials');
      s.app.jira.forget(s.clientKey);
      await s.post('/Users', entraUser('ann'));
      await s.settle();
      await page.setViewportSize({ width: 760, height: 900 });
      await open('/');
      await page.getByText('No site-admin API token').waitFor();
      // the run held its writes rather than queue them: one failed run says how many wait, and for what
      await page.getByText(/the last sync failed/).waitFor();
      await page.getByText(/needs a site-admin API token: 1 change\(s\) wait for it/).waitFor();
      await shot('banners');
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
      ).toBe(true);

      // every form control has a label
      for (const route of [
        '/credentials',
        `/c/${s.connectionId}`,
        `/c/${s.connectionId}/users`,
        `/c/${s.connectionId}/attributes`,
        `/c/${s.connectionId}/groups`,
      ]) {
        await open(route);
        await page.locator('form').first().waitFor();
        const unlabelled = await page.evaluate(() =>
          Array.from(document.querySelectorAll('input, select, textarea'))
            .filter((el) => {
              const e = el as HTMLInputElement;
              if (e.type === 'hidden' || e.getAttribute('aria-hidden') === 'true') return false;
              return !(e.labels && e.labels.length) && !e.getAttribute('aria-label');
            })
            .map((el) => el.id || el.outerHTML.slice(0, 60)),
        );
        expect({ route, unlabelled }).toEqual({ route, unlabelled: [] });
      }
      await shot('site-credentials-form');

      // keyboard: Tab from the top reaches the navigation and the first form field
      await open('/credentials');
      await page.locator('#email').waitFor();
      const reached: string[] = [];
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        reached.push(
          await page.evaluate(
            () =>
              (document.activeElement as HTMLElement).id || (document.activeElement as HTMLElement).textContent.trim(),
          ),
        );
      }
      expect(reached).toEqual(expect.arrayContaining(['Configured IdPs', 'Add new app', 'Site credentials', 'email']));
      await page.locator('#email').fill('someone@example.com');
      await page.keyboard.press('Enter');
      await page
        .locator('#apiToken-error')
        .getByText(/Required/)
        .waitFor();
    }));

  it('adds an Entra ID (Graph) connection, tests it with a one-line fix, and synchronizes it', () =>
    scenario('entra', async () => {
      const reg = entra.addApp({
        tenantId: '3f1a7c2e-5b9d-4c8e-a1f0-6d2b8e9c4a71',
        clientId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
        secret: 'the-right-secret',
        roles: [...ALL_ROLES],
      });
      const eng = entra.addGroup('Engineering');
      for (const n of ['ann', 'bob'])
        entra.addMember(eng.id, entra.addUser({ userPrincipalName: `${n}@contoso.com` }).id as string);
      expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, {})).status).toBe(200);

      await open('/new');
      await page.getByRole('link', { name: /Microsoft Entra ID \(Graph\)/ }).click();
      await page.getByRole('textbox', { name: /^Name/ }).fill('Contoso directory');
      await page.getByLabel('Directory (tenant) ID').fill(reg.tenantId);
      await page.getByLabel('Application (client) ID').fill(reg.clientId);
      await page.getByLabel('Client secret').fill('a-wrong-secret');
      await page.getByLabel('Cloud', { exact: true }).selectOption('custom');
      await page.getByLabel('Login host (other clouds)').fill(entra.url);
      await page.getByLabel('Graph URL (other clouds)').fill(entra.url);
      await page.getByLabel('Synchronize automatically').selectOption('0');
      await shot('add-entra');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Connection created').waitFor();

      await page.getByRole('button', { name: 'Test connection' }).click();
      await page
        .locator('#test-result')
        .getByText(/client secret is wrong/)
        .waitFor();
      await page.getByLabel('Client secret').fill('the-right-secret');
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('#test-result').getByText('Connection works').waitFor();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('#connection-status').getByText('Saved.').waitFor();
      await shot('entra-connection');

      await page.getByRole('button', { name: 'Synchronize' }).first().click();
      const bar = page.getByRole('progressbar', { name: 'Sync progress' });
      await bar.waitFor();
      await page.locator('.idp-bar[data-status="succeeded"]').waitFor({ timeout: 30_000 });
      expect(s.jira.state.userByEmail('ann@contoso.com')).toBeDefined();
      expect(s.jira.state.userByEmail('bob@contoso.com')).toBeDefined();
    }));

  it('adds a Google Workspace connection: the key pasted, its client ID shown to delegate, the missing delegation said, Test Sync, a sync', () =>
    scenario('google', async () => {
      const sa = google.addServiceAccount();
      google.addUser({ primaryEmail: 'admin@example.com', isAdmin: true }, { event: false });
      const eng = google.addGroup('Engineering');
      for (const n of ['gina', 'hal'])
        google.addMember(eng.id, google.addUser({ primaryEmail: `${n}@example.com` }).id);
      expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, {})).status).toBe(200);

      await open('/new');
      await page.getByRole('link', { name: /Google Workspace/ }).click();
      await page.getByRole('textbox', { name: /^Name/ }).fill('Example Workspace');
      await page.getByLabel('Service account key (JSON)').fill(sa.key);
      await page.locator('#google-delegation-clientId').getByText(sa.clientId).waitFor();
      await page.getByLabel('Admin to act as').fill('admin@example.com');
      await page.getByLabel('Synchronize automatically').selectOption('0');
      await shot('add-google');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Connection created').waitFor();

      await page.getByRole('button', { name: 'Test connection' }).click();
      await page
        .locator('#test-result')
        .getByText(new RegExp(`client ID ${sa.clientId} is not granted domain-wide delegation`))
        .waitFor();
      google.delegate(sa.clientId, GOOGLE_SCOPES);
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('#test-result').getByText('Connection works').waitFor();

      await page.getByLabel('Username', { exact: true }).fill('gina@example.com');
      await page.getByRole('button', { name: 'Test Sync' }).click();
      await page.locator('#test-sync-result').getByText('Engineering').first().waitFor();
      await page.locator('#test-sync-output').getByText('In scope').waitFor();
      await shot('google-test-sync');

      await page.getByRole('button', { name: 'Synchronize' }).first().click();
      await page.locator('.idp-bar[data-status="succeeded"]').waitFor({ timeout: 30_000 });
      expect(s.jira.state.userByEmail('gina@example.com')).toBeDefined();
      expect(s.jira.state.userByEmail('hal@example.com')).toBeDefined();
    }));

  it("adds an Okta connection: the service app's key and client ID, a missing role said, Test Sync, a sync", () =>
    scenario('okta', async () => {
      const sa = okta.addServiceApp({ adminRole: false });
      const eng = okta.addGroup('Engineering');
      for (const n of ['ida', 'jay']) okta.addMember(eng.id, okta.addUser({ login: `${n}@example.com` }).id);
      expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, {})).status).toBe(200);

      await open('/new');
      await page.getByRole('link', { name: /Okta \(Management API\)/ }).click();
      await page.getByRole('textbox', { name: /^Name/ }).fill('Example Okta');
      await page.getByLabel('Okta org URL').fill(okta.url);
      await page.getByLabel('Private key or API token').fill(sa.privateKey);
      await page.getByLabel('Client ID').fill(sa.clientId);
      await page.locator('#okta-scopes').getByText('okta.logs.read').waitFor();
      await page.getByLabel('Synchronize automatically').selectOption('0');
      await shot('add-okta');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Connection created').waitFor();

      await page.getByRole('button', { name: 'Test connection' }).click();
      await page
        .locator('#test-result')
        .getByText(/no admin role .*Read-only Administrator/)
        .waitFor();
      okta.serviceApps.get(sa.clientId)!.adminRole = true;
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('#test-result').getByText('Connection works').waitFor();

      await page.getByLabel('Username', { exact: true }).fill('ida@example.com');
      await page.getByRole('button', { name: 'Test Sync' }).click();
      await page.locator('#test-sync-result').getByText('Engineering').first().waitFor();
      await page.locator('#test-sync-output').getByText('In scope').waitFor();
      await shot('okta-test-sync');

      await page.getByRole('button', { name: 'Synchronize' }).first().click();
      await page.locator('.idp-bar[data-status="succeeded"]').waitFor({ timeout: 30_000 });
      expect(s.jira.state.userByEmail('ida@example.com')).toBeDefined();
      expect(s.jira.state.userByEmail('jay@example.com')).toBeDefined();
    }));

  it('adds a Keycloak connection: the realm and client, a missing role said, Test Sync, a sync', () =>
    scenario('keycloak', async () => {
      kc.addRealm('acme', { adminEvents: true });
      const secret = kc.addClient('acme', 'jira-sync', []);
      const eng = kc.addGroup('acme', 'Engineering');
      for (const n of ['kim', 'lee'])
        kc.addMember('acme', eng.id, kc.addUser('acme', { username: n, email: `${n}@example.com` }).id);
      expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, {})).status).toBe(200);

      await open('/new');
      await page.getByRole('link', { name: /^Keycloak/ }).click();
      await page.getByRole('textbox', { name: /^Name/ }).fill('Example Keycloak');
      await page.getByLabel('Keycloak server URL').fill(kc.url);
      await page.getByRole('textbox', { name: /^Realm/ }).fill('acme');
      await page.getByLabel('Client ID').fill('jira-sync');
      await page.getByLabel('Client secret').fill(secret);
      await page.locator('#keycloak-role-list').getByText('view-users').waitFor();
      await page.getByLabel('Synchronize automatically').selectOption('0');
      await shot('add-keycloak');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByText('Connection created').waitFor();

      await page.getByRole('button', { name: 'Test connection' }).click();
      await page
        .locator('#test-result')
        .getByText(/lacks a realm-management role/)
        .waitFor();
      kc.client('acme', 'jira-sync').roles = new Set(['view-users', 'view-events']);
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('#test-result').getByText('Connection works').waitFor();

      await page.getByLabel('Username', { exact: true }).fill('kim');
      await page.getByRole('button', { name: 'Test Sync' }).click();
      await page.locator('#test-sync-result').getByText('Engineering').first().waitFor();
      await page.locator('#test-sync-output').getByText('In scope').waitFor();
      await shot('keycloak-test-sync');

      await page.getByRole('button', { name: 'Synchronize' }).first().click();
      await page.locator('.idp-bar[data-status="succeeded"]').waitFor({ timeout: 30_000 });
      expect(s.jira.state.userByEmail('kim@example.com')).toBeDefined();
      expect(s.jira.state.userByEmail('lee@example.com')).toBeDefined();
    }));

  itWithSlapd(
    'adds an LDAP directory, tests it (the wrong password said in words, then counts), runs Test Sync (an injection attempt finds nobody), and synchronizes it',
    () =>
      scenario('ldap', async () => {
        const slapd = await new Slapd().start();
        try {
          const ou = await slapd.ou('corp');
          const people = await slapd.ou2(ou, 'people');
          const groups = await slapd.ou2(ou, 'groups');
          const dee = await slapd.addUser(people, 'dee', { mail: 'dee@corp.test' });
          const eve = await slapd.addUser(people, 'eve', { mail: 'eve@corp.test' });
          await slapd.addGroup(groups, 'Finance', [dee, eve]);
          expect((await s.adminApi('PUT', `/connections/${s.connectionId}/rules`, {})).status).toBe(200);

          await open('/new');
          await page.getByRole('link', { name: /LDAP \/ Active Directory/ }).click();
          await page.getByRole('textbox', { name: /^Name/ }).fill('Corp LDAP');
          await page.getByLabel('Directory type').selectOption('openldap');
          await page.getByLabel('Server URLs').fill(slapd.url);
          await page.getByLabel('CA certificate (PEM)').fill(slapd.caPem);
          await page.getByLabel('Bind account').fill(slapd.adminDn);
          await page.getByLabel('Bind password').fill('not-the-password');
          await page.getByLabel('Users base DN').fill(people);
          await page.getByLabel('Groups base DN').fill(groups);
          await page.getByLabel('Synchronize automatically').selectOption('0');
          await shot('add-ldap');
          await page.getByRole('button', { name: 'Create' }).click();
          await page.getByText('Connection created').waitFor();

          await page.getByRole('button', { name: 'Test connection' }).click();
          await page
            .locator('#test-result')
            .getByText(/refused the bind .*the password is wrong/)
            .waitFor();
          await page.getByLabel('Bind password').fill(slapd.adminPassword);
          await page.getByRole('button', { name: 'Test connection' }).click();
          await page
            .locator('#test-result')
            .getByText(/2 users and 1 groups match the filters/)
            .waitFor();
          await page.getByRole('button', { name: 'Save' }).click();
          await page.locator('#connection-status').getByText('Saved.').waitFor();

          // Test Sync: one user, what a sync makes of them; an injection attempt finds nobody.
          await page.getByLabel('Username', { exact: true }).fill('dee');
          await page.getByRole('button', { name: 'Test Sync' }).click();
          const result = page.locator('#test-sync-result');
          await result.getByText('dee@corp.test').waitFor();
          await result.getByText('Finance').first().waitFor();
          await page.locator('#test-sync-output').getByText('In scope').waitFor();
          await shot('ldap-test-sync');
          await page.getByLabel('Username', { exact: true }).fill('*)(uid=*');
          await page.getByRole('button', { name: 'Test Sync' }).click();
          await page.locator('#test-sync-output').getByText('Not found').waitFor();

          await page.getByRole('button', { name: 'Synchronize' }).first().click();
          await page.locator('.idp-bar[data-status="succeeded"]').waitFor({ timeout: 30_000 });
          expect(s.jira.state.userByEmail('dee@corp.test')).toBeDefined();
          expect(s.jira.state.userByEmail('eve@corp.test')).toBeDefined();
        } finally {
          await slapd.stop();
        }
      }),
  );
});
