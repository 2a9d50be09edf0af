import { keycloakKind } from './kind';
import { secretContexts } from '../../db/sealed';
import tls from 'node:tls';
import { Agent } from 'undici';
import type { Config } from '../../config';
import type { SecretBox } from '../../crypto/secrets';
import type { Connection, ConnectionRepository } from '../../db/connections';
import type { PullStore } from '../../directory/pull';
import { invalidField } from '../../http/errors';
import type { Logger } from '../../logger';
import { asText } from '../../text';
import type { AddressGuard } from '../outbound';
import { firstPage } from '../firstPage';
import { ReadReport } from '../readReport';
import { PullFailed, type Candidate, type Pull, type PullMode, type PullSource, type UserProbe } from '../source';
import type { SourceStateRepository } from '../state';
import { ancestors } from '../groupTree';
import { KeycloakClient, KeycloakError, PAGE, type KeycloakGroup } from './client';
import { explainKeycloakError, refusesCredentials } from './errors';
import { KeycloakRead, type KeycloakCursor } from './incremental';
import { toPulledGroup, toPulledUser } from './mapping';
import { keycloakSettingsSchema, type KeycloakSettings } from './settings';

export interface KeycloakDeps {
  connections: ConnectionRepository;
  box: SecretBox;
  pull: PullStore;
  state: SourceStateRepository;
  logger: Logger;
  guard: AddressGuard;
  options: Config['keycloak'];
}

export type KeycloakTestResult =
  | { ok: true; message: string; users: number; groups: number; sampleUser: string | null; adminEvents: boolean }
  | { ok: false; message: string };

const secretContext = (connectionId: string) => secretContexts.connection(keycloakKind.secretField, connectionId);

/**
 * Keycloak connections: their settings and sealed client secret, a client per read over one undici
 * dispatcher (the operator's CA in one TLS context, the address guard on every connection: the
 * server URL is typed by an admin), the test, the read the engine runs, the one-user read of a first
 * login, and Test Sync.
 */
export class KeycloakService implements PullSource {
  private readonly dispatcher: Agent;

  constructor(private readonly d: KeycloakDeps) {
    this.dispatcher = new Agent({
      connect: {
        ...(d.options.caPem
          ? { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, d.options.caPem] }) }
          : {}),
        lookup: d.guard.lookup,
      },
      headersTimeout: d.options.timeoutMs,
      bodyTimeout: d.options.timeoutMs,
      connections: 16,
    });
  }

  scheduleMinutes(c: Connection): number {
    const parsed = keycloakSettingsSchema.safeParse(c.settings.keycloak ?? {});
    return parsed.success ? parsed.data.scheduleMinutes : 0;
  }

  settingsOf(c: Connection): KeycloakSettings {
    return keycloakSettingsSchema.parse(c.settings.keycloak ?? {});
  }

  seal(connectionId: string, secret: string): string {
    return this.d.box.seal(secret, secretContext(connectionId));
  }

  private async secretOf(c: Connection, typed?: string): Promise<string> {
    if (typed !== undefined) return typed;
    const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
    if (!sealed) throw new PullFailed("No client secret is stored for this connection: paste the client's secret.");
    return this.d.box.open(sealed, secretContext(c.id));
  }

  private client(s: KeycloakSettings, secret: string): KeycloakClient {
    // IP literals are not looked up: the guard is asked here (names are checked on every connection).
    this.d.guard.checkHost(new URL(s.serverUrl).hostname);
    return new KeycloakClient(s, secret, {
      dispatcher: this.dispatcher,
      timeoutMs: this.d.options.timeoutMs,
      maxAttempts: this.d.options.maxAttempts,
    });
  }

  /** A token, a page of users and of groups, the scope, and whether the realm records admin events. */
  async testConnection(c: Connection, candidate: Candidate): Promise<KeycloakTestResult> {
    const s = candidate.settings as KeycloakSettings;
    try {
      if (candidate.secret === undefined && !(await this.d.connections.sealedSecret(c.clientKey, c.id)))
        throw invalidField(
          'keycloakClientSecret',
          'keycloakClientSecret: none is stored; paste it',
          'Required: none is stored.',
        );
      const client = this.client(s, await this.secretOf(c, candidate.secret));
      await client.authenticate();
      const users = await firstPage(client.users());
      const groups = await firstPage(client.topGroups());
      if (users.length === 0)
        throw new PullFailed(
          `The client ${s.clientId} sees no user in the realm ${s.realm}: its service account needs the realm-management role view-users (query-users alone lists no one).`,
        );
      if (s.scope.kind === 'groups') await new KeycloakRead('', s, client, this.d.pull, new ReadReport()).readTree();
      const events = await this.eventsSaid(client);
      const more = (n: number, max: number, what: string) =>
        `${n >= max ? `${max}+` : String(n)} ${n === 1 ? what.slice(0, -1) : what}`;
      return {
        ok: true,
        message: `Connected to the realm ${s.realm} as client ${s.clientId}: Keycloak returned ${more(users.length, PAGE.users, 'users')} and ${more(groups.length, PAGE.groups, 'top-level groups')} on the first pages. ${events.said}`,
        users: users.length,
        groups: groups.length,
        sampleUser: users[0]?.username ?? null,
        adminEvents: events.on,
      };
    } catch (err) {
      return { ok: false, message: this.failure(s, err).message };
    }
  }

  /** Whether reads can follow admin events, said with how to turn them on. */
  private async eventsSaid(client: KeycloakClient): Promise<{ on: boolean; said: string }> {
    try {
      if (await client.adminEventsEnabled())
        return { on: true, said: 'The realm records admin events: reads between full reads follow them.' };
      return {
        on: false,
        said: `The realm does not record admin events, so every read will be full: turn them on in Realm settings → Events → Admin events settings → Save events (and give the service account view-events).`,
      };
    } catch (err) {
      if (!(err instanceof KeycloakError && err.status === 403)) throw err;
      return {
        on: false,
        said: `The service account may not read the realm's events (the realm-management role view-events), so every read will be full.`,
      };
    }
  }

  pull(c: Connection, mode: PullMode): Pull {
    return async (sink) => {
      const s = this.settingsOf(c);
      const report = new ReadReport((p) => sink({ ...p }));
      try {
        const read = new KeycloakRead(c.id, s, this.client(s, await this.secretOf(c)), this.d.pull, report);
        const next = await read.read(mode, await this.d.state.cursor<KeycloakCursor>(c.id));
        await this.d.state.saveCursor(c.id, next, report.progress.mode);
        report.done();
        return { changes: report.changes() };
      } catch (err) {
        report.tick();
        throw this.failure(s, err);
      }
    };
  }

  async pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'> {
    const s = this.settingsOf(c);
    try {
      const client = this.client(s, await this.secretOf(c));
      const probe = await this.probeWith(s, client, email, await this.d.state.cursor<KeycloakCursor>(c.id));
      if (!probe.found || !probe.inScope) return 'absent';
      await new KeycloakRead(c.id, s, client, this.d.pull, new ReadReport()).writeOne(probe.user, probe.groupList);
      return 'pulled';
    } catch (err) {
      throw this.failure(s, err);
    }
  }

  async probeUser(c: Connection, username: string, candidate?: Candidate): Promise<UserProbe> {
    const s = (candidate?.settings as KeycloakSettings | undefined) ?? this.settingsOf(c);
    try {
      const client = this.client(s, await this.secretOf(c, candidate?.secret));
      const probe = await this.probeWith(s, client, username, await this.d.state.cursor<KeycloakCursor>(c.id));
      if (!probe.found) return { found: false, message: probe.message };
      const { user: _user, groupList: _groups, ...shown } = probe;
      return shown;
    } catch (err) {
      return { found: false, message: this.failure(s, err).message };
    }
  }

  private async probeWith(s: KeycloakSettings, client: KeycloakClient, key: string, cursor?: KeycloakCursor) {
    const value = key.trim();
    const u =
      (await client.usersBy('username', value))[0] ??
      (value.includes('@') ? (await client.usersBy('email', value))[0] : undefined);
    if (!u)
      return {
        found: false as const,
        message: `Keycloak has no user ${key} in the realm ${s.realm} (by username or email).`,
      };
    const direct: KeycloakGroup[] = [];
    for await (const page of client.userGroups(String(u.id))) direct.push(...page);
    // The groups above the user's, by the nesting the last read saw (Keycloak: a subgroup's members are the parents' too).
    const nest = cursor?.nest ?? {};
    const ids = new Set<string>();
    for (const g of direct) for (const a of ancestors(nest, String(g.id))) ids.add(a);
    const groupList: KeycloakGroup[] = [];
    for (const id of ids) {
      const g = direct.find((x) => String(x.id) === id) ?? (await client.group(id));
      if (g) groupList.push(g);
    }
    let inScope = true;
    if (s.scope.kind === 'groups') {
      const read = new KeycloakRead('', s, client, this.d.pull, new ReadReport());
      const tree = await read.readTree();
      const scoped = new Set(tree.groups.keys());
      inScope = groupList.some((g) => scoped.has(String(g.id)));
    }
    const pulled = toPulledUser(u, s);
    const directIds = new Set(direct.map((g) => String(g.id)));
    return {
      found: true as const,
      inScope,
      active: pulled.active,
      entry: `${String(u.username)}${u.enabled === false ? ' (disabled)' : ''}`,
      attributes: Object.fromEntries(
        Object.entries({
          id: u.id,
          username: u.username,
          email: u.email,
          firstName: u.firstName,
          lastName: u.lastName,
          enabled: u.enabled,
          ...(u.attributes ?? {}),
        }).map(([k, v]) => [k, Array.isArray(v) ? v.map(asText) : [asText(v)]]),
      ),
      resource: pulled.resource,
      groups: groupList.map((g) => ({
        name: toPulledGroup(g, s).displayName,
        path: g.path ?? null,
        direct: directIds.has(String(g.id)),
      })),
      user: u,
      groupList,
    };
  }

  forget(): void {}

  close(): void {
    void this.dispatcher.close();
  }

  private failure(s: KeycloakSettings, err: unknown): PullFailed {
    if (err instanceof PullFailed) return err;
    const said = explainKeycloakError(err, {
      serverUrl: s.serverUrl,
      realm: s.realm,
      clientRealm: s.clientRealm ?? s.realm,
      clientId: s.clientId,
    });
    if (said === undefined) throw err;
    this.d.logger.warn({ err: { message: (err as Error).message } }, 'Keycloak request failed');
    return new PullFailed(said, refusesCredentials(err));
  }
}
