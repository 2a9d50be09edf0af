import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

const KEY_HEX = 'ab'.repeat(32);
const tmpFile = (text: string) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), 'config.json');
  fs.writeFileSync(file, text);
  return file;
};
const NO_FILE = '/nonexistent/config.json';

describe('loadConfig', () => {
  it('has working defaults for development', () => {
    const c = loadConfig({}, NO_FILE);
    expect(c).toMatchObject({
      env: 'development',
      port: 3000,
      localBaseUrl: 'http://localhost:3000',
      logLevel: 'info',
      atlassianApiUrl: 'https://api.atlassian.com',
    });
    expect(c.database.url).toBeUndefined();
    expect(c.jira).toEqual({
      concurrencyPerTenant: 10,
      maxAttempts: 5,
      backoffBaseMs: 500,
      backoffMaxMs: 30000,
      maxRetryWaitMs: 120000,
      timeoutMs: 30000,
    });
  });

  it('reads the environment, and strips a trailing slash from URLs', () => {
    const c = loadConfig(
      { PORT: '8080', AC_LOCAL_BASE_URL: 'https://abc.ngrok.app/', APP_SECRET_KEY: KEY_HEX, LOG_LEVEL: 'debug' },
      NO_FILE,
    );
    expect(c.port).toBe(8080);
    expect(c.localBaseUrl).toBe('https://abc.ngrok.app');
    expect(c.appSecretKey).toEqual(Buffer.from(KEY_HEX, 'hex'));
    expect(c.logLevel).toBe('debug');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['AC_LOCAL_BASE_URL', 'not a url'],
    ['AC_LOCAL_BASE_URL', 'ftp://x.example'],
    ['DATABASE_URL', 'mysql://x'],
    ['APP_SECRET_KEY', 'too-short'],
    ['LOG_LEVEL', 'loud'],
    ['JIRA_CONCURRENCY_PER_TENANT', '0'],
    ['NODE_ENV', 'staging'],
  ])('stops with a message naming %s when it is %p', (name, value) => {
    expect(() => loadConfig({ [name]: value }, NO_FILE)).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value }, NO_FILE)).toThrow(new RegExp(`${name}:`));
  });

  it('requires the base URL, a database and a secret key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' }, NO_FILE)).toThrow(
      /AC_LOCAL_BASE_URL: required in production[\s\S]*DATABASE_URL[\s\S]*APP_SECRET_KEYS \(or APP_SECRET_KEY\)/,
    );
    const c = loadConfig(
      {
        NODE_ENV: 'production',
        AC_LOCAL_BASE_URL: 'https://app.example.com',
        DATABASE_URL: 'postgres://u:p@db/x',
        APP_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      },
      NO_FILE,
    );
    expect(c.appSecretKey).toEqual(Buffer.alloc(32, 7));
  });

  it('reads APP_SECRET_KEYS as a key ring, newest first, and names what is wrong with an entry', () => {
    const hex = Buffer.alloc(32, 1).toString('hex');
    const b64 = Buffer.alloc(32, 2).toString('base64');
    const c = loadConfig({ APP_SECRET_KEYS: ` 2026-12:${hex}, 2026-06:${b64} ` }, NO_FILE);
    expect(c.appSecretKeys).toEqual([
      { id: '2026-12', key: Buffer.alloc(32, 1) },
      { id: '2026-06', key: Buffer.alloc(32, 2) },
    ]);
    const production = {
      NODE_ENV: 'production',
      AC_LOCAL_BASE_URL: 'https://app.example.com',
      DATABASE_URL: 'postgres://u:p@db/x',
    };
    expect(loadConfig({ ...production, APP_SECRET_KEYS: `a:${hex}` }, NO_FILE).appSecretKeys).toHaveLength(1);
    expect(() => loadConfig(production, NO_FILE)).toThrow(
      'APP_SECRET_KEYS (or APP_SECRET_KEY): required in production',
    );
    for (const [value, message] of [
      [hex, 'APP_SECRET_KEYS: entry 1 must be <id>:<key>'],
      [`a:${hex},a:${b64}`, 'APP_SECRET_KEYS: key id "a" is listed twice'],
      [`legacy:${hex}`, '(not "legacy")'],
      [`a:${hex},b:short`, 'APP_SECRET_KEYS: key "b" must be 32 random bytes'],
      [',', 'APP_SECRET_KEYS: must list at least one key'],
    ])
      expect(() => loadConfig({ APP_SECRET_KEYS: value }, NO_FILE)).toThrow(message);
  });

  it("reads config.json's section for NODE_ENV, with $VAR from the environment, and lets the environment win", () => {
    const file = tmpFile(
      `// comment\n{ development: { port: 4000, whitelist: '*.atlassian.net' }, production: { localBaseUrl: '$MY_URL', port: '$PORT' } }`,
    );
    expect(loadConfig({}, file)).toMatchObject({ port: 4000, hostWhitelist: '*.atlassian.net' });
    expect(loadConfig({ PORT: '5000' }, file).port).toBe(5000);
    const prod = loadConfig(
      {
        NODE_ENV: 'production',
        MY_URL: 'https://x.example',
        PORT: '9000',
        DATABASE_URL: 'postgres://a/b',
        APP_SECRET_KEY: KEY_HEX,
      },
      file,
    );
    expect(prod).toMatchObject({ localBaseUrl: 'https://x.example', port: 9000 });
  });

  it('names the setting when config.json holds a bad value', () => {
    expect(() => loadConfig({}, tmpFile('{ development: { port: "many" } }'))).toThrow(/PORT:/);
  });

  it('refuses a config.json that is not JSON5', () => {
    expect(() => loadConfig({}, tmpFile('{ development: '))).toThrow(/not valid JSON5/);
  });

  it('the shipped config.json is valid in every section', () => {
    expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
    expect(() => loadConfig({ NODE_ENV: 'test' })).not.toThrow();
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        AC_LOCAL_BASE_URL: 'https://a.example',
        PORT: '8080',
        DATABASE_URL: 'postgres://a/b',
        APP_SECRET_KEY: KEY_HEX,
      }),
    ).not.toThrow();
  });
});
