import { entraKind } from './kind';
import { secretContexts } from '../../db/sealed';
import crypto from 'node:crypto';
import type { Config } from '../../config';
import type { SecretBox } from '../../crypto/secrets';
import type { Connection, ConnectionRepository } from '../../db/connections';
import type { PullStore } from '../../directory/pull';
import type { Logger } from '../../logger';
import { invalidField } from '../../http/errors';
import { PullFailed, type Candidate, type Pull, type PullMode, type PullSource } from '../source';
import { OutboundRefused, RedirectRefused, type AddressGuard } from '../outbound';
import type { SourceStateRepository } from '../state';
import { explainEntraError, isEntraError, refusesCredentials } from './errors';
import { GraphClient, GraphError, OutboundHttp, type GraphOptions } from './graph';
import { endpointsOf, entraSettingsSchema, servicePrincipalPath, userSelect, type EntraSettings } from './settings';
import { EntraPull } from './sync';

type Obj = Record<string, unknown>;

export interface EntraDeps {
  connections: ConnectionRepository;
  box: SecretBox;
  pull: PullStore;
  state: SourceStateRepository;
  options: Config['entra'];
  logger: Logger;
  /** Which addresses a connection's URLs may reach (a custom cloud's are typed by the admin). */
  guard: AddressGuard;
}

export type TestResult = { ok: true; message: string; sampleUser: string | null } | { ok: false; message: string };

const secretContext = (connectionId: string) => secretContexts.connection(entraKind.secretField, connectionId);

/**
 * Entra ID connections: their settings and sealed secret, a Graph client per connection (msal's
 * token cache lives in it, so it is kept while the connection is unchanged), the test, the pull
 * that the engine runs, and the one-user pull of a first login.
 */
export class EntraService implements PullSource {
  private readonly http: OutboundHttp;
  private readonly graphOptions: GraphOptions;
  private readonly clients = new Map<string, { key: string; client: GraphClient }>();

  constructor(private readonly d: EntraDeps) {
    const onRetry = ({
      url,
      status,
      waitMs,
      attempt,
    }: {
      url: string;
      status: number | string;
      waitMs: number;
      attempt: number;
    }) =>
      d.logger.warn(
        { host: new URL(url).host, status, waitMs, attempt },
        'Microsoft throttled or failed a request; waiting as asked',
      );
    this.http = new OutboundHttp({
      caPem: d.options.caPem,
      timeoutMs: d.options.timeoutMs,
      maxAttempts: d.options.maxAttempts,
      guard: d.guard,
      onRetry,
    });
    this.graphOptions = { retries: d.options.maxAttempts - 1, onRetry };
  }

  /** Minutes between scheduled syncs (0: none); 0 too for settings that no longer validate. */
  scheduleMinutes(c: Connection): number {
    const parsed = entraSettingsSchema.safeParse(c.settings.entra ?? {});
    return parsed.success ? parsed.data.scheduleMinutes : 0;
  }

  /** The connection's Entra settings (validated when they were saved). */
  settingsOf(c: Connection): EntraSettings {
    return entraSettingsSchema.parse(c.settings.entra ?? {});
  }

  seal(connectionId: string, secret: string): string {
    return this.d.box.seal(secret, secretContext(connectionId));
  }

  openSecret(connectionId: string, sealed: string): string {
    return this.d.box.open(sealed, secretContext(connectionId));
  }

  /** A client for candidate settings and secret (the admin's "Test connection" before saving). */
  candidate(settings: EntraSettings, secret: string): GraphClient {
    return new GraphClient(settings, secret, this.http, this.graphOptions);
  }

  /** Acquires a token and reads one user: ok, or one line saying what to fix. */
  async test(settings: EntraSettings, client: GraphClient): Promise<TestResult> {
    try {
      await this.reachable(settings);
      await client.token();
      const scope = settings.scope;
      if (scope.kind === 'groups')
        for (const id of scope.groupIds) await client.get(`/groups/${id}?$select=id,displayName`);
      if (scope.kind === 'application') {
        await client.get(`${servicePrincipalPath(scope)}/appRoleAssignedTo?$top=1`);
      }
      await client.get('/groups?$top=1&$select=id');
      const page = await client.page<Obj>(`/users?$top=1&$select=${userSelect(settings).join(',')}`);
      const first = page.value[0];
      return {
        ok: true,
        message: 'Connected: a token was issued and Microsoft Graph returned the directory.',
        sampleUser: first ? String(first.userPrincipalName ?? first.id) : null,
      };
    } catch (err) {
      return { ok: false, message: this.failure(settings, err).message };
    }
  }

  /** Test connection with candidate settings, and the secret typed or the stored one. */
  async testConnection(c: Connection, candidate: Candidate): Promise<TestResult> {
    const settings = candidate.settings as EntraSettings;
    let secret = candidate.secret;
    if (secret === undefined) {
      const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
      if (!sealed)
        throw invalidField(
          'clientSecret',
          'clientSecret: no client secret is stored; enter one',
          'Required: no client secret is stored.',
        );
      secret = this.openSecret(c.id, sealed);
    }
    return this.test(settings, this.candidate(settings, secret));
  }

  /** The engine's pull for a connection: full, incremental, or incremental when possible. */
  pull(c: Connection, mode: PullMode): Pull {
    return async (report) => {
      const settings = this.settingsOf(c);
      const client = await this.clientFor(c, settings);
      const read = new EntraPull(c.id, settings, client, this.d.pull, this.d.state, (p) => report({ ...p }));
      try {
        await this.reachable(settings);
        await read.run(mode);
        return { changes: read.changes() };
      } catch (err) {
        read.stopped(); // its last progress says what it wrote
        throw this.failure(settings, err);
      }
    };
  }

  /**
   * First login: finds the user by email in the connection's scope and writes them and their
   * memberships into the directory store. 'absent' when Entra ID has no such user in scope.
   */
  async pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'> {
    const settings = this.settingsOf(c);
    const client = await this.clientFor(c, settings);
    try {
      await this.reachable(settings);
      return await this.pullOne(c, settings, client, email);
    } catch (err) {
      throw this.failure(settings, err);
    }
  }

  private async pullOne(
    c: Connection,
    settings: EntraSettings,
    client: GraphClient,
    email: string,
  ): Promise<'pulled' | 'absent'> {
    const q = email.replace(/'/g, "''");
    const byEmail = `(mail eq '${q}' or userPrincipalName eq '${q}')`;
    const filter = settings.userFilter ? `(${settings.userFilter}) and ${byEmail}` : byEmail;
    const found = await client.page<Obj>(
      `/users?$select=${userSelect(settings).join(',')}&$filter=${encodeURIComponent(filter)}&$count=true`,
      { consistencylevel: 'eventual' },
    );
    const user = found.value[0];
    if (!user) return 'absent';
    const id = user.id as string;
    const groups: Obj[] = [];
    const transitive = settings.scope.kind === 'groups';
    for await (const page of client.pages<Obj>(
      `/users/${id}/${transitive ? 'transitiveMemberOf' : 'memberOf'}/microsoft.graph.group?$select=id,displayName,description&$top=999`,
      transitive ? { consistencylevel: 'eventual' } : {},
    ))
      groups.push(...page.value);
    let inScopeGroups = groups;
    const scope = settings.scope;
    if (scope.kind === 'groups') {
      inScopeGroups = groups.filter((g) => scope.groupIds.includes(g.id as string));
      if (inScopeGroups.length === 0) return 'absent';
    } else if (scope.kind === 'application') {
      const sp = servicePrincipalPath(scope);
      const assigned = new Set<string>();
      for await (const page of client.pages<Obj>(`${sp}/appRoleAssignedTo?$top=999`))
        for (const a of page.value) assigned.add(a.principalId as string);
      inScopeGroups = groups.filter((g) => assigned.has(g.id as string));
      if (!assigned.has(id) && inScopeGroups.length === 0) return 'absent';
    }
    // The same writer as a full read, for this one user: a pull with no sweep.
    const single = new EntraPull(c.id, settings, client, this.d.pull, this.d.state);
    await single.writeOne(user, inScopeGroups);
    return 'pulled';
  }

  /** Drops cached clients (a connection changed or went away). */
  forget(connectionId: string): void {
    this.clients.delete(connectionId);
  }

  close(): void {
    this.http.close();
  }

  private async clientFor(c: Connection, settings: EntraSettings): Promise<GraphClient> {
    const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
    if (!sealed)
      throw new PullFailed('No client secret is stored for this connection: enter it in the connection settings.');
    const key = crypto
      .createHash('sha256')
      .update(`${sealed}|${JSON.stringify(settings)}`)
      .digest('hex');
    const cached = this.clients.get(c.id);
    if (cached?.key === key) return cached.client;
    const client = new GraphClient(settings, this.openSecret(c.id, sealed), this.http, this.graphOptions);
    this.clients.set(c.id, { key, client });
    return client;
  }

  /** The cloud's authority and Graph hosts may be called (a custom cloud's are typed by the admin): OutboundRefused if not. */
  private async reachable(settings: EntraSettings): Promise<void> {
    const { authority, graphUrl } = endpointsOf(settings);
    for (const url of [authority, graphUrl]) await this.d.guard.checkName(new URL(url).hostname);
  }

  /**
   * What a failure talking to Microsoft means for the admin, as a PullFailed with one line saying
   * what to fix; anything else (our own bug) is rethrown as it is.
   */
  private failure(settings: EntraSettings, err: unknown): PullFailed {
    if (err instanceof PullFailed) return err;
    if (err instanceof OutboundRefused) return new PullFailed(`Not called: ${err.message}.`);
    // The Graph SDK hands our transport's refusal on as an error with its code (graph.ts, fromSdk).
    if (err instanceof RedirectRefused || (err as { code?: string })?.code === 'EREDIRECTREFUSED')
      return new PullFailed(`Not followed: ${(err as Error).message}.`);
    if (!isEntraError(err)) throw err;
    const { authority, graphUrl } = endpointsOf(settings);
    if (!(err instanceof GraphError)) this.d.logger.warn({ err }, 'Entra ID request failed');
    return new PullFailed(
      explainEntraError(err, { authorityHost: new URL(authority).host, graphHost: new URL(graphUrl).host }),
      refusesCredentials(err),
    );
  }
}
