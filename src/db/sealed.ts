import type { KeyRing } from '../crypto/secrets';
import { LEGACY_KEY_ID } from '../crypto/secrets';
import type { Sql } from './sql';

/**
 * Every secret the app keeps sealed, where it is and what it is bound to (the context given to the
 * key ring as associated data, so a value copied to another row or field does not open). The
 * repositories seal with these contexts; the start-up check and `npm run rekey` read this list.
 */
export const secretContexts = {
  /** A pull connection's secret, named by its kind's secret field (clientSecret, bindPassword…). */
  connection: (secretField: string, connectionId: string) => `connection:${secretField}:${connectionId}`,
  /** A site's admin API token or organization API key. */
  siteCredential: (field: 'apiToken' | 'orgApiKey', clientKey: string) => `site-credentials:${field}:${clientKey}`,
  forgeSystemToken: (clientKey: string) => `forge-system-token:${clientKey}`,
  /** The Connect shared secret, kept in ACE's clientInfo (addon_settings) as `sharedSecretEnc`. */
  connectSharedSecret: (clientKey: string) => `ace:sharedSecret:${clientKey}`,
  /** A site's notification webhook URL (Slack's and Teams' URLs are their own credential). */
  notificationWebhook: (clientKey: string) => `notification-webhook:${clientKey}`,
};

/** The JSON field of ACE's clientInfo that holds the sealed Connect shared secret. */
export const CONNECT_SEALED_FIELD = 'sharedSecretEnc';

/** One column (or JSON field) that holds sealed values. */
interface Place {
  name: string;
  /** An SQL expression of the sealed value, and the table it is read from (WHERE included). */
  value: string;
  from: string;
  /** The row's key columns, in keyset order. */
  keys: string[];
  /** Other columns the context needs. */
  also?: string;
  context(row: Record<string, unknown>): string | undefined;
  /** Writes `$new` where the row (its key as $3…) still holds `$old` ($2). */
  update: string;
}

/** The places, given how a connection kind names its secret field (the sources' registry knows). */
function places(secretFieldOf: (kind: string) => string | undefined): Place[] {
  const siteCredential = (field: 'apiToken' | 'orgApiKey', column: string): Place => ({
    name: `site_credentials.${column}`,
    value: column,
    from: `site_credentials WHERE ${column} IS NOT NULL`,
    keys: ['client_key'],
    context: (r) => secretContexts.siteCredential(field, String(r.client_key)),
    update: `UPDATE site_credentials SET ${column} = $1 WHERE ${column} = $2 AND client_key = $3`,
  });
  return [
    {
      name: 'connections.secret_enc',
      value: 'secret_enc',
      from: 'connections WHERE secret_enc IS NOT NULL',
      keys: ['id'],
      also: 'kind',
      context: (r) => {
        const field = secretFieldOf(String(r.kind));
        return field && secretContexts.connection(field, String(r.id));
      },
      update: 'UPDATE connections SET secret_enc = $1 WHERE secret_enc = $2 AND id = $3',
    },
    siteCredential('apiToken', 'api_token_enc'),
    siteCredential('orgApiKey', 'org_api_key_enc'),
    {
      name: 'forge_tokens.system_token_enc',
      value: 'system_token_enc',
      from: 'forge_tokens WHERE system_token_enc IS NOT NULL',
      keys: ['client_key'],
      context: (r) => secretContexts.forgeSystemToken(String(r.client_key)),
      update: 'UPDATE forge_tokens SET system_token_enc = $1 WHERE system_token_enc = $2 AND client_key = $3',
    },
    {
      name: 'notification_settings.webhook_url_enc',
      value: 'webhook_url_enc',
      from: 'notification_settings WHERE webhook_url_enc IS NOT NULL',
      keys: ['client_key'],
      context: (r) => secretContexts.notificationWebhook(String(r.client_key)),
      update: 'UPDATE notification_settings SET webhook_url_enc = $1 WHERE webhook_url_enc = $2 AND client_key = $3',
    },
    {
      name: `addon_settings.val.${CONNECT_SEALED_FIELD}`,
      value: `val->>'${CONNECT_SEALED_FIELD}'`,
      from: `addon_settings WHERE key = 'clientInfo' AND val ? '${CONNECT_SEALED_FIELD}'`,
      keys: ['client_key', 'key'],
      context: (r) => secretContexts.connectSharedSecret(String(r.client_key)),
      update: `UPDATE addon_settings SET val = jsonb_set(val, '{${CONNECT_SEALED_FIELD}}', to_jsonb($1::text))
               WHERE val->>'${CONNECT_SEALED_FIELD}' = $2 AND client_key = $3 AND key = $4`,
    },
  ];
}

/** The key a stored value names, in SQL (`legacy` for the `v1:` values of the single key). */
const keyIdSql = (value: string) =>
  `CASE WHEN ${value} LIKE 'v1:%' THEN '${LEGACY_KEY_ID}' ELSE split_part(${value}, ':', 2) END`;

/** How many stored secrets each key sealed, over every place. */
export async function keysInUse(sql: Sql): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const p of places(() => undefined)) {
    const rows = await sql.query<{ key_id: string; n: string }>(
      `SELECT ${keyIdSql(p.value)} AS key_id, count(*) AS n FROM ${p.from} GROUP BY 1`,
    );
    for (const r of rows) counts.set(r.key_id, (counts.get(r.key_id) ?? 0) + Number(r.n));
  }
  return counts;
}

/**
 * The sentence that refuses a start when stored secrets name a key the ring lacks (so it is said
 * at start, not found at the first decrypt an hour later); undefined when every key is held.
 */
export async function missingKeys(sql: Sql, ring: KeyRing): Promise<string | undefined> {
  const missing = [...(await keysInUse(sql))].filter(([id]) => !ring.holds(id));
  if (missing.length === 0) return undefined;
  const named = missing.map(([id, n]) => `"${id}" (${n} secret${n === 1 ? '' : 's'})`).join(', ');
  const legacy = missing.some(([id]) => id === LEGACY_KEY_ID)
    ? ' "legacy" is the former single APP_SECRET_KEY: set it beside APP_SECRET_KEYS.'
    : '';
  return `Stored secrets were sealed with key${missing.length === 1 ? '' : 's'} ${named} that APP_SECRET_KEYS does not hold: list ${missing.length === 1 ? 'it' : 'them'} again (run \`npm run rekey\` before dropping a key).${legacy}`;
}

/** What one pass of `rekey` did, per place. */
export interface RekeyReport {
  /** Re-sealed with the newest key. */
  rekeyed: number;
  /** Already under the newest key. */
  current: number;
  /** Changed by the app while being re-sealed (left as the app wrote it; a later pass looks again). */
  raced: number;
  /** Values that could not be opened or whose row is unknown (named in `problems`). */
  failed: number;
  problems: string[];
  places: Record<string, { rekeyed: number; current: number }>;
}

/**
 * Re-seals every stored secret not under the ring's newest key, a batch at a time by keyset, each
 * row written only if it still holds what was read (so a value the running app rewrote meanwhile
 * is kept, not overwritten). Online and resumable: running it again finishes what is left.
 */
export async function rekey(
  sql: Sql,
  ring: KeyRing,
  secretFieldOf: (kind: string) => string | undefined,
  opts: { batch?: number; onBatch?: (place: string, done: number) => void } = {},
): Promise<RekeyReport> {
  const batch = opts.batch ?? 500;
  const report: RekeyReport = { rekeyed: 0, current: 0, raced: 0, failed: 0, problems: [], places: {} };
  for (const p of places(secretFieldOf)) {
    const tally = (report.places[p.name] = { rekeyed: 0, current: 0 });
    const [{ n }] = await sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${p.from} AND ${keyIdSql(p.value)} = $1`,
      [ring.newest],
    );
    tally.current = Number(n);
    report.current += tally.current;
    let after: unknown[] | undefined;
    for (;;) {
      const keyList = p.keys.join(', ');
      const seek = after ? ` AND (${keyList}) > (${p.keys.map((_, i) => `$${i + 2}`).join(', ')})` : '';
      const rows = await sql.query<Record<string, unknown>>(
        `SELECT ${keyList}, ${p.value} AS sealed${p.also ? `, ${p.also}` : ''}
           FROM ${p.from} AND ${keyIdSql(p.value)} <> $1${seek} ORDER BY ${keyList} LIMIT ${batch}`,
        [ring.newest, ...(after ?? [])],
      );
      if (rows.length === 0) break;
      for (const r of rows) await resealOne(sql, ring, p, r, report, tally);
      after = p.keys.map((k) => rows[rows.length - 1][k]);
      opts.onBatch?.(p.name, tally.rekeyed);
    }
  }
  return report;
}

async function resealOne(
  sql: Sql,
  ring: KeyRing,
  p: Place,
  r: Record<string, unknown>,
  report: RekeyReport,
  tally: { rekeyed: number },
): Promise<void> {
  const row = p.keys.map((k) => r[k]);
  const sealed = String(r.sealed);
  const context = p.context(r);
  const where = `${p.name} ${row.join('/')}`;
  if (!context) {
    report.failed += 1;
    report.problems.push(`${where}: a connection of unknown kind "${String(r.kind)}"`);
    return;
  }
  let plain: string;
  try {
    plain = ring.open(sealed, context);
  } catch (err) {
    report.failed += 1;
    report.problems.push(`${where}: ${(err as Error).message}`);
    return;
  }
  const updated = await sql.query<{ one: number }>(`${p.update} RETURNING 1 AS one`, [
    ring.seal(plain, context),
    sealed,
    ...row,
  ]);
  if (updated.length === 1) {
    report.rekeyed += 1;
    tally.rekeyed += 1;
  } else report.raced += 1;
}
