import crypto from 'node:crypto';
import { createKeyRing, type KeyRing } from '../../src/crypto/secrets';
import { CONNECT_SEALED_FIELD, keysInUse, missingKeys, rekey, secretContexts } from '../../src/db/sealed';
import { Sql } from '../../src/db/sql';
import { rekeyAll } from '../../src/rekey';
import { PULL_KINDS, SOURCE_KINDS } from '../../src/sources/registry';
import { createTestDatabase, type TestDatabase } from '../support/db';

/**
 * Every place a secret is kept sealed (src/db/sealed.ts): the start-up check counts them by key,
 * and rekey re-seals each one with the context its repository opens it with — a connection of
 * every pull kind, both site credentials, the Forge system token and the Connect shared secret.
 */
jest.setTimeout(60_000);

let db: TestDatabase;
let sql: Sql;
beforeAll(async () => {
  db = await createTestDatabase();
  sql = new Sql(db.sequelize);
});
afterAll(() => db.drop());

const k = (id: string) => ({ id, key: crypto.randomBytes(32) });
const [legacyKey, k1, k2] = [crypto.randomBytes(32), k('k1'), k('k2')];
const legacy = createKeyRing([], legacyKey);

/** One site holding a secret in every place, sealed by `box`; what each opens to, by place. */
async function site(clientKey: string, box: KeyRing) {
  const expected: Array<{ read: () => Promise<string>; context: string; plain: string }> = [];
  await sql.query(
    "INSERT INTO tenants (client_key, base_url, product_type, enabled, installed_at, created_at, updated_at) VALUES ($1, 'https://x.atlassian.net', 'jira', true, now(), now(), now())",
    [clientKey],
  );
  for (const kind of PULL_KINDS) {
    const id = crypto.randomUUID();
    const context = secretContexts.connection(SOURCE_KINDS[kind].secretField, id);
    const plain = `${kind}-secret-${id}`;
    await sql.query(
      "INSERT INTO connections (id, client_key, name, kind, provider, secret_enc) VALUES ($1, $2, $3, $4, 'p', $5)",
      [id, clientKey, `${kind} ${id}`, kind, box.seal(plain, context)],
    );
    const read = async () =>
      (await sql.query<{ v: string }>('SELECT secret_enc AS v FROM connections WHERE id = $1', [id]))[0].v;
    expected.push({ read, context, plain });
  }
  await sql.query(
    `INSERT INTO site_credentials (client_key, email, api_token_enc, org_id, org_api_key_enc, created_at, updated_at)
     VALUES ($1, 'a@x', $2, 'org', $3, now(), now())`,
    [
      clientKey,
      box.seal('api-token', secretContexts.siteCredential('apiToken', clientKey)),
      box.seal('org-key', secretContexts.siteCredential('orgApiKey', clientKey)),
    ],
  );
  for (const [column, field, plain] of [
    ['api_token_enc', 'apiToken', 'api-token'],
    ['org_api_key_enc', 'orgApiKey', 'org-key'],
  ] as const) {
    const read = async () =>
      (
        await sql.query<{ v: string }>(`SELECT ${column} AS v FROM site_credentials WHERE client_key = $1`, [clientKey])
      )[0].v;
    expected.push({ read, context: secretContexts.siteCredential(field, clientKey), plain });
  }
  await sql.query(
    `INSERT INTO forge_tokens (client_key, api_base_url, system_token_enc, updated_at) VALUES ($1, 'https://api', $2, now())`,
    [clientKey, box.seal('system-token', secretContexts.forgeSystemToken(clientKey))],
  );
  expected.push({
    read: async () =>
      (
        await sql.query<{ v: string }>('SELECT system_token_enc AS v FROM forge_tokens WHERE client_key = $1', [
          clientKey,
        ])
      )[0].v,
    context: secretContexts.forgeSystemToken(clientKey),
    plain: 'system-token',
  });
  const hook = `https://hooks.slack.com/services/${clientKey}`;
  await sql.query(
    "INSERT INTO notification_settings (client_key, webhook_url_enc, webhook_host, events) VALUES ($1, $2, 'hooks.slack.com', '{}')",
    [clientKey, box.seal(hook, secretContexts.notificationWebhook(clientKey))],
  );
  expected.push({
    read: async () =>
      (
        await sql.query<{ v: string }>('SELECT webhook_url_enc AS v FROM notification_settings WHERE client_key = $1', [
          clientKey,
        ])
      )[0].v,
    context: secretContexts.notificationWebhook(clientKey),
    plain: hook,
  });
  const info = {
    clientKey,
    key: 'app',
    baseUrl: 'https://x',
    [CONNECT_SEALED_FIELD]: box.seal('shared', secretContexts.connectSharedSecret(clientKey)),
  };
  await sql.query(
    "INSERT INTO addon_settings (client_key, key, val, updated_at) VALUES ($1, 'clientInfo', $2, now())",
    [clientKey, JSON.stringify(info)],
  );
  expected.push({
    read: async () =>
      (
        await sql.query<{ v: string }>(
          `SELECT val->>'${CONNECT_SEALED_FIELD}' AS v FROM addon_settings WHERE client_key = $1 AND key = 'clientInfo'`,
          [clientKey],
        )
      )[0].v,
    context: secretContexts.connectSharedSecret(clientKey),
    plain: 'shared',
  });
  return expected;
}

const PER_SITE = PULL_KINDS.length + 5;

it('moves the former single key (v1) and an older ring key to the newest, every place, each value still bound to its row', async () => {
  const a = await site('site-a', legacy);
  const b = await site('site-b', createKeyRing([k1]));
  expect(Object.fromEntries(await keysInUse(sql))).toEqual({ legacy: PER_SITE, k1: PER_SITE });
  const ring = createKeyRing([k2, k1], legacyKey);
  expect(await missingKeys(sql, ring)).toBeUndefined();
  expect(await missingKeys(sql, createKeyRing([k2, k1]))).toBe(
    `Stored secrets were sealed with key "legacy" (${PER_SITE} secrets) that APP_SECRET_KEYS does not hold: list it again (run \`npm run rekey\` before dropping a key). "legacy" is the former single APP_SECRET_KEY: set it beside APP_SECRET_KEYS.`,
  );
  const outcome = await rekeyAll(sql, ring);
  expect(outcome.ok).toBe(true);
  expect(outcome.passes[0]).toMatchObject({ rekeyed: 2 * PER_SITE, current: 0, raced: 0, failed: 0 });
  expect(Object.keys(outcome.passes[0].places)).toEqual([
    'connections.secret_enc',
    'site_credentials.api_token_enc',
    'site_credentials.org_api_key_enc',
    'forge_tokens.system_token_enc',
    'notification_settings.webhook_url_enc',
    'addon_settings.val.sharedSecretEnc',
  ]);
  expect(Object.fromEntries(await keysInUse(sql))).toEqual({ k2: 2 * PER_SITE });
  const k2only = createKeyRing([k2]);
  for (const e of [...a, ...b]) {
    const sealed = await e.read();
    expect(k2only.keyOf(sealed)).toBe('k2');
    expect(k2only.open(sealed, e.context)).toBe(e.plain);
  }
  // Again: nothing left to do.
  const again = await rekeyAll(sql, createKeyRing([k2]));
  expect(again.passes[0]).toMatchObject({ rekeyed: 0, current: 2 * PER_SITE });
  expect(again.lines.at(-1)).toBe(
    `All ${2 * PER_SITE} stored secrets are under key "k2": every other key can be dropped from APP_SECRET_KEYS once every instance runs with this ring.`,
  );
});

it('keeps a value the app rewrote while it was being re-sealed (it is not overwritten), and a later pass moves it', async () => {
  const entries = await site('site-race', createKeyRing([k1]));
  const ring = createKeyRing([k2, k1]);
  let first = entries[0];
  // The running app (an instance still on k1) writes a new secret into that row between rekey's read and its write.
  const racing = Object.create(sql) as Sql;
  let raced = false;
  racing.query = async <T>(text: string, values: unknown[] = []) => {
    if (!raced && text.startsWith('UPDATE connections')) {
      raced = true;
      for (const e of entries) if ((await e.read()) === values[1]) first = e;
      await sql.query('UPDATE connections SET secret_enc = $1 WHERE secret_enc = $2', [
        createKeyRing([k1]).seal('rotated-by-admin', first.context),
        values[1],
      ]);
    }
    return sql.query<T>(text, values);
  };
  const pass = await rekey(racing, ring, (kind) => SOURCE_KINDS[kind as 'entra']?.secretField);
  expect(pass).toMatchObject({ raced: 1, failed: 0 });
  expect(ring.keyOf(await first.read())).toBe('k1');
  expect(ring.open(await first.read(), first.context)).toBe('rotated-by-admin');
  const outcome = await rekeyAll(sql, ring);
  expect(outcome.ok).toBe(true);
  expect(ring.keyOf(await first.read())).toBe('k2');
  expect(ring.open(await first.read(), first.context)).toBe('rotated-by-admin');
});

it('names a value it cannot open (copied from another row), and says the run did not finish', async () => {
  const entries = await site('site-bad', createKeyRing([k2]));
  const other = await site('site-bad-2', createKeyRing([k2]));
  // A value copied from another row: its context no longer matches.
  await sql.query(
    "UPDATE site_credentials SET api_token_enc = (SELECT api_token_enc FROM site_credentials WHERE client_key = 'site-bad-2') WHERE client_key = 'site-bad'",
  );
  expect(entries.length + other.length).toBe(2 * PER_SITE);
  const ring = createKeyRing([k('k3'), k2]);
  const outcome = await rekeyAll(sql, ring);
  expect(outcome.ok).toBe(false);
  expect(outcome.lines.join('\n')).toContain('site_credentials.api_token_enc site-bad: secret could not be decrypted');
  expect(outcome.lines.at(-1)).toMatch(/^Still under older keys: "k2" 1 — restart every instance/);
});
