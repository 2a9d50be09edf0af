import { isUniqueViolation, type Sql } from './sql';
import { isUuid } from './ids';

/** 'scim' (the IdP pushes), or a pull source's kind (sources/registry.ts lists them; the admin API checks). */
export type ConnectionKind = string;
export type ScimProvider = 'entra' | 'okta' | 'miniorange' | 'generic';

/** A configured IdP of a tenant. The SCIM token itself is never here: only its hash and a hint. */
export interface Connection {
  id: string;
  clientKey: string;
  name: string;
  kind: ConnectionKind;
  provider: string;
  target: 'users' | 'customers';
  importUsers: boolean;
  importGroups: boolean;
  scimTokenHint: string | null;
  scimTokenCreatedAt: Date | null;
  settings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** When the IdP last called the SCIM URL (written at most every few minutes). */
  pushedAt: Date | null;
  /** Paused after repeated failed runs: no scheduled, SCIM or first-login run starts until resumed. */
  pausedAt: Date | null;
  pauseReason: string | null;
}

export interface ConnectionFields {
  name: string;
  kind: ConnectionKind;
  provider: string;
  target: 'users' | 'customers';
  importUsers: boolean;
  importGroups: boolean;
}

/** A stored name that another connection of the tenant already has (case-insensitive). */
export class ConnectionNameTaken extends Error {}

interface Row {
  id: string;
  client_key: string;
  name: string;
  kind: ConnectionKind;
  provider: string;
  target: 'users' | 'customers';
  import_users: boolean;
  import_groups: boolean;
  scim_token_hint: string | null;
  scim_token_created_at: Date | null;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  pushed_at: Date | null;
  paused_at: Date | null;
  pause_reason: string | null;
}

const COLUMNS =
  'id, client_key, name, kind, provider, target, import_users, import_groups, scim_token_hint, scim_token_created_at, settings, created_at, updated_at, pushed_at, paused_at, pause_reason';

const toConnection = (r: Row): Connection => ({
  id: r.id,
  clientKey: r.client_key,
  name: r.name,
  kind: r.kind,
  provider: r.provider,
  target: r.target,
  importUsers: r.import_users,
  importGroups: r.import_groups,
  scimTokenHint: r.scim_token_hint,
  scimTokenCreatedAt: r.scim_token_created_at,
  settings: r.settings,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  pushedAt: r.pushed_at,
  pausedAt: r.paused_at,
  pauseReason: r.pause_reason,
});

/** Connections of each tenant; every read and write is scoped by the tenant's clientKey. */
export class ConnectionRepository {
  constructor(private readonly db: Sql) {}

  async list(clientKey: string): Promise<Connection[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM connections WHERE client_key = $1 ORDER BY created_at, id`,
      [clientKey],
    );
    return rows.map(toConnection);
  }

  async get(clientKey: string, id: string): Promise<Connection | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM connections WHERE client_key = $1 AND id = $2`, [
      clientKey,
      id,
    ]);
    return rows[0] && toConnection(rows[0]);
  }

  /** Creates a connection with the hash of its first SCIM token (scim kind). */
  async create(
    clientKey: string,
    id: string,
    f: ConnectionFields,
    token?: { hash: string; hint: string },
    pull?: { settings: Record<string, unknown>; secretEnc: string | null },
  ): Promise<Connection> {
    const rows = await this.guard(() =>
      this.db.query<Row>(
        `INSERT INTO connections (id, client_key, name, kind, provider, target, import_users, import_groups, scim_token_hash, scim_token_hint, scim_token_created_at, settings, secret_enc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $9::text IS NULL THEN NULL ELSE now() END, $11, $12) RETURNING ${COLUMNS}`,
        [
          id,
          clientKey,
          f.name,
          f.kind,
          f.provider,
          f.target,
          f.importUsers,
          f.importGroups,
          token?.hash ?? null,
          token?.hint ?? null,
          JSON.stringify(pull?.settings ?? {}),
          pull?.secretEnc ?? null,
        ],
      ),
    );
    return toConnection(rows[0]);
  }

  /** Changes some fields; undefined when there is no such connection. */
  async update(
    clientKey: string,
    id: string,
    patch: Partial<Pick<ConnectionFields, 'name' | 'provider' | 'importUsers' | 'importGroups'>>,
  ): Promise<Connection | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.guard(() =>
      this.db.query<Row>(
        `UPDATE connections SET name = COALESCE($3, name), provider = COALESCE($4, provider), import_users = COALESCE($5, import_users),
                import_groups = COALESCE($6, import_groups), updated_at = now()
         WHERE client_key = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [
          clientKey,
          id,
          patch.name ?? null,
          patch.provider ?? null,
          patch.importUsers ?? null,
          patch.importGroups ?? null,
        ],
      ),
    );
    return rows[0] && toConnection(rows[0]);
  }

  /** Merges keys into a connection's settings (its rules, …). */
  async saveSettings(clientKey: string, id: string, patch: Record<string, unknown>): Promise<void> {
    await this.db.query(
      'UPDATE connections SET settings = settings || $3::jsonb, updated_at = now() WHERE client_key = $1 AND id = $2',
      [clientKey, id, JSON.stringify(patch)],
    );
  }

  /** Deletes a connection with its directory and queued work; its token stops working at once. */
  async delete(clientKey: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query('DELETE FROM connections WHERE client_key = $1 AND id = $2 RETURNING id', [
      clientKey,
      id,
    ]);
    return rows.length > 0;
  }

  /** Replaces the SCIM token's hash: the old token stops working at once. */
  async setToken(
    clientKey: string,
    id: string,
    token: { hash: string; hint: string },
  ): Promise<Connection | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<Row>(
      `UPDATE connections SET scim_token_hash = $3, scim_token_hint = $4, scim_token_created_at = now(), updated_at = now()
       WHERE client_key = $1 AND id = $2 AND kind = 'scim' RETURNING ${COLUMNS}`,
      [clientKey, id, token.hash, token.hint],
    );
    return rows[0] && toConnection(rows[0]);
  }

  /** A connection by id alone (the scheduler's view, across tenants). */
  async byId(id: string): Promise<Connection | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM connections WHERE id = $1`, [id]);
    return rows[0] && toConnection(rows[0]);
  }

  /** Stores a pull connection's sealed client secret (or clears it). */
  async setSecret(clientKey: string, id: string, sealed: string | null): Promise<void> {
    await this.db.query(
      'UPDATE connections SET secret_enc = $3, updated_at = now() WHERE client_key = $1 AND id = $2',
      [clientKey, id, sealed],
    );
  }

  /** A pull connection's sealed client secret, if one is stored. */
  async sealedSecret(clientKey: string, id: string): Promise<string | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<{ secret_enc: string | null }>(
      'SELECT secret_enc FROM connections WHERE client_key = $1 AND id = $2',
      [clientKey, id],
    );
    return rows[0]?.secret_enc ?? undefined;
  }

  /** Every connection of a kind, across tenants (the scheduler's list). */
  /**
   * Claims one SCIM connection whose full reconciliation is due (its rules'
   * `users.reconcileEveryHours`, 24 by default, since the last one or since it was created), so
   * that one instance runs it; undefined when none is due.
   */
  async claimReconciliation(): Promise<{ connectionId: string; previous: Date | null } | undefined> {
    const [row] = await this.db.query<{ id: string; previous: Date | null }>(
      `WITH due AS (
         SELECT id, reconciled_at FROM connections
         WHERE COALESCE((settings->'rules'->'users'->>'reconcileEveryHours')::int, 24) > 0 AND paused_at IS NULL
           AND COALESCE(reconciled_at, created_at)
               < now() - make_interval(hours => COALESCE((settings->'rules'->'users'->>'reconcileEveryHours')::int, 24))
         ORDER BY COALESCE(reconciled_at, created_at) LIMIT 1 FOR UPDATE SKIP LOCKED)
       UPDATE connections c SET reconciled_at = now() FROM due WHERE c.id = due.id
       RETURNING c.id, due.reconciled_at AS previous`,
    );
    return row && { connectionId: row.id, previous: row.previous };
  }

  /** Gives a claimed reconciliation back (a run was going): the next check claims it again. */
  async unclaimReconciliation(claim: { connectionId: string; previous: Date | null }): Promise<void> {
    await this.db.query('UPDATE connections SET reconciled_at = $2 WHERE id = $1', [
      claim.connectionId,
      claim.previous,
    ]);
  }

  /** Resumes a paused connection; false when it was not paused (or is not the site's). */
  async resume(clientKey: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.db.query(
      `UPDATE connections SET paused_at = NULL, pause_reason = NULL, resumed_at = now()
       WHERE client_key = $1 AND id = $2 AND paused_at IS NOT NULL RETURNING id`,
      [clientKey, id],
    );
    return rows.length > 0;
  }

  async allOfKind(kind: ConnectionKind): Promise<Connection[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM connections WHERE kind = $1 ORDER BY created_at, id`,
      [kind],
    );
    return rows.map(toConnection);
  }

  /** What the SCIM endpoint needs to authenticate a request to a connection. */
  async scimCredentials(
    id: string,
  ): Promise<{ id: string; clientKey: string; tokenHash: string; provider: string } | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<{
      id: string;
      client_key: string;
      scim_token_hash: string | null;
      provider: string;
    }>("SELECT id, client_key, scim_token_hash, provider FROM connections WHERE id = $1 AND kind = 'scim'", [id]);
    const r = rows[0];
    return r?.scim_token_hash
      ? { id: r.id, clientKey: r.client_key, tokenHash: r.scim_token_hash, provider: r.provider }
      : undefined;
  }

  private async guard<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConnectionNameTaken('A connection with this name already exists.');
      throw err;
    }
  }
}
