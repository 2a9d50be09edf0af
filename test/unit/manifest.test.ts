import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { validate } from '@forge/manifest';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../src/config';
import {
  buildManifest,
  buildRemoteManifest,
  FORGE_ENDPOINTS,
  FORGE_REMOTE_SCOPES,
  forgeScope,
  type ConnectDescriptor,
  type ForgeManifest,
  type ForgeRemoteManifest,
} from '../../src/forge/manifest';

/**
 * manifest.yml ("Connect on Forge") is generated from atlassian-connect.json: it validates with
 * Forge's own validator (offline) and carries exactly the descriptor's key, modules, URLs and scopes.
 */
const run = promisify(execFile);
const descriptor = JSON.parse(
  fs.readFileSync(path.join(PROJECT_ROOT, 'atlassian-connect.json'), 'utf8'),
) as ConnectDescriptor & {
  modules: Record<string, unknown>;
  lifecycle: Record<string, string>;
  scopes: string[];
};
const APP_ID = 'ari:cloud:ecosystem::app/4f3c1a52-9f0e-4d0b-8a51-3d6f2f0c9e11';
const BASE = 'https://idp-sync.example.ngrok.app';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-sync-manifest-'));
  fs.mkdirSync(path.join(dir, 'static/admin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'static/admin/index.html'), '<!DOCTYPE html>');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function validateObject(manifest: unknown) {
  const file = path.join(dir, `m-${Math.random().toString(36).slice(2)}.yml`);
  fs.writeFileSync(file, YAML.stringify(manifest));
  const cwd = process.cwd();
  process.chdir(dir); // the validator finds resources relative to the working folder
  const result = await validate(false, file).finally(() => process.chdir(cwd));
  return {
    success: result.success,
    errors: (result.errors ?? []).filter((e) => e.level === 'error').map((e) => e.message),
  };
}

describe('the generated manifest', () => {
  const manifest = buildManifest(descriptor, { appId: APP_ID, baseUrl: BASE });

  it("passes @forge/manifest's full validation", async () => {
    expect(await validateObject(manifest)).toEqual({ success: true, errors: [] });
  });

  it('keeps the Connect key, with our server as the Connect remote and JWT authentication', () => {
    expect(manifest.app).toMatchObject({
      id: APP_ID,
      connect: { key: descriptor.key, remote: 'connect', authentication: 'jwt' },
    });
    expect(manifest.remotes).toEqual([{ key: 'connect', baseUrl: BASE }]);
  });

  it("carries exactly the descriptor's modules and lifecycle URLs, each with a key", () => {
    const expected: ForgeManifest['connectModules'] = {
      'jira:lifecycle': [{ key: 'lifecycle', ...descriptor.lifecycle }],
    };
    for (const [type, value] of Object.entries(descriptor.modules))
      expected[`jira:${type}`] = (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>;
    expect(Object.keys(manifest.connectModules).sort()).toEqual(Object.keys(expected).sort());
    const withoutKey = (es: Array<Record<string, unknown>>) => es.map(({ key, ...rest }) => rest);
    for (const [type, entries] of Object.entries(manifest.connectModules)) {
      expect(withoutKey(entries)).toEqual(withoutKey(expected[type]));
      expected[type].forEach((e, i) => expect(entries[i].key).toEqual(e.key ?? expect.stringMatching(/^[a-z0-9-]+$/)));
    }
    expect(manifest.connectModules['jira:webhooks']).toContainEqual({
      key: 'user-created',
      event: 'user_created',
      url: '/webhooks/user-created',
    });
  });

  it("carries the descriptor's scopes in their Forge form, and refuses one it cannot carry", () => {
    expect(manifest.permissions.scopes).toEqual([
      'read:connect-jira',
      'write:connect-jira',
      'admin:connect-jira',
      'access-email-addresses:connect-jira',
    ]);
    expect(manifest.permissions.scopes).toHaveLength(descriptor.scopes.length);
    expect(forgeScope('ACCESS_EMAIL_ADDRESSES')).toBe('access-email-addresses:connect-jira');
    expect(() =>
      buildManifest({ ...descriptor, scopes: ['READ', 'NO_SUCH_SCOPE'] }, { appId: APP_ID, baseUrl: BASE }),
    ).toThrow(/NO_SUCH_SCOPE/);
  });
});

describe("the validator is Forge's, and strict", () => {
  const good = buildManifest(descriptor, { appId: APP_ID, baseUrl: BASE });

  it('refuses Connect modules without a Connect remote', async () => {
    const bad = { ...good, app: { ...good.app, connect: { key: good.app.connect.key } } };
    expect((await validateObject(bad)).success).toBe(false);
  });

  it('refuses an unknown Connect module, a bad scope and a malformed app id', async () => {
    expect(
      (
        await validateObject({
          ...good,
          connectModules: { ...good.connectModules, 'jira:adminPage': good.connectModules['jira:adminPages'] },
        })
      ).success,
    ).toBe(false);
    expect((await validateObject({ ...good, permissions: { scopes: ['READ'] } })).success).toBe(false);
    expect((await validateObject({ ...good, app: { ...good.app, id: 'my-app' } })).success).toBe(false);
  });
});

describe('the Forge Remote manifest (the app after Connect)', () => {
  const remote = buildRemoteManifest(descriptor, { appId: APP_ID, baseUrl: BASE, adminBundlePath: 'static/admin' });

  it("passes @forge/manifest's full validation", async () => {
    expect(await validateObject(remote)).toEqual({ success: true, errors: [] });
  });

  it('keeps the Connect key (sites on the Connect version upgrade in place) and carries no Connect module', () => {
    expect(remote.app.connect).toEqual({ key: descriptor.key, remote: 'remote' });
    expect(remote).not.toHaveProperty('connectModules');
    expect(remote.remotes).toEqual([expect.objectContaining({ key: 'remote', baseUrl: BASE })]);
  });

  it('has the admin page (Configure button) as a Custom UI resource calling our endpoint, the triggers, preUninstall and an hourly wake-up', () => {
    const m = remote.modules;
    expect(m['jira:adminPage']).toEqual([
      expect.objectContaining({ resource: 'admin-page', resolver: { endpoint: 'admin-api' }, useAsConfig: true }),
    ]);
    expect(remote.resources).toEqual([{ key: 'admin-page', path: 'static/admin' }]);
    const triggers = Object.fromEntries(m.trigger.map((t) => [(t.events as string[])[0], t.endpoint]));
    expect(triggers).toEqual({
      'avi:forge:installed:app': 'lifecycle-installed',
      'avi:forge:upgraded:app': 'lifecycle-upgraded',
      'avi:jira:created:user': 'user-created',
    });
    expect(m.preUninstall).toEqual([expect.objectContaining({ endpoint: 'lifecycle-uninstalling' })]);
    expect(m.scheduledTrigger).toEqual([expect.objectContaining({ endpoint: 'scheduled', interval: 'hour' })]);
    // Every endpoint is on our remote, at the path the server serves, and is handed the app system token.
    for (const e of m.endpoint as Array<{ key: keyof typeof FORGE_ENDPOINTS; route?: { path: string } }>) {
      expect(e).toMatchObject({ remote: 'remote', auth: { appSystemToken: { enabled: true } } });
      expect(e.route?.path).toBe(FORGE_ENDPOINTS[e.key].path);
    }
  });

  it('asks only for the scopes of what the server calls as the app', () => {
    expect(remote.permissions.scopes).toEqual(Object.keys(FORGE_REMOTE_SCOPES));
    expect(remote.permissions.scopes.filter((sc) => sc.endsWith(':connect-jira'))).toEqual([]);
  });

  it('refuses Connect authentication without Connect modules', async () => {
    const bad = { ...remote, app: { ...remote.app, connect: { ...remote.app.connect, authentication: 'jwt' } } };
    expect((await validateObject(bad)).success).toBe(false);
  });
});

describe('npm run manifest', () => {
  const script = (out: string, env: Record<string, string>, ...args: string[]) =>
    run(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'),
        path.join(PROJECT_ROOT, 'scripts/manifest.ts'),
        '--out',
        out,
        ...args,
      ],
      {
        cwd: os.tmpdir(),
        env: { ...process.env, NODE_ENV: 'development', FORGE_APP_ID: '', ...env },
      },
    );

  it('writes the Forge Remote manifest and the admin page bundle beside it; they validate, with the app id and base URL from the configuration', async () => {
    const out = path.join(dir, 'remote', 'manifest.yml');
    const { stdout } = await script(out, { FORGE_APP_ID: APP_ID, AC_LOCAL_BASE_URL: BASE });
    expect(stdout).toContain('It validates.');
    const written = YAML.parse(fs.readFileSync(out, 'utf8')) as ForgeRemoteManifest;
    expect(written).toEqual(
      buildRemoteManifest(descriptor, { appId: APP_ID, baseUrl: BASE, adminBundlePath: 'static/admin' }),
    );
    const bundle = path.join(dir, 'remote', 'static/admin');
    for (const file of ['index.html', 'public/js/admin.js', 'public/js/admin/vendor/forge-bridge.js'])
      expect(fs.existsSync(path.join(bundle, file))).toBe(true);
    // A static page: relative URLs only, no Connect host script, no server-side values.
    const html = fs.readFileSync(path.join(bundle, 'index.html'), 'utf8');
    expect(html).not.toMatch(/all\.js|https?:\/\/|\{\{/);
  });

  it('writes the Connect-on-Forge manifest with --connect', async () => {
    const out = path.join(dir, 'connect.yml');
    const { stdout } = await script(out, { FORGE_APP_ID: APP_ID, AC_LOCAL_BASE_URL: BASE }, '--connect');
    expect(stdout).toContain('It validates.');
    const written = YAML.parse(fs.readFileSync(out, 'utf8')) as ForgeManifest;
    expect(written).toEqual(buildManifest(descriptor, { appId: APP_ID, baseUrl: BASE }));
  });

  it('keeps the id `forge register` wrote when FORGE_APP_ID is unset, and says what to do while there is none', async () => {
    const out = path.join(dir, 'registered.yml');
    const first = await script(out, { AC_LOCAL_BASE_URL: BASE });
    expect(first.stdout).toContain('forge register');
    fs.writeFileSync(
      out,
      fs.readFileSync(out, 'utf8').replace(/app\/0{8}-0{4}-0{4}-0{4}-0{12}/, APP_ID.split('::')[1]),
    ); // what `forge register` does
    const second = await script(out, { AC_LOCAL_BASE_URL: BASE });
    expect(second.stdout).not.toContain('forge register');
    expect((YAML.parse(fs.readFileSync(out, 'utf8')) as ForgeManifest).app.id).toBe(APP_ID);
  });

  it('refuses a FORGE_APP_ID that is not an app id, naming the variable', async () => {
    await expect(script(path.join(dir, 'x.yml'), { FORGE_APP_ID: 'my-app' })).rejects.toMatchObject({
      stderr: expect.stringContaining('FORGE_APP_ID'),
    });
  });
});
