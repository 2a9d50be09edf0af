import { googleKind } from './kind';
import { secretContexts } from '../../db/sealed';
import type { Config } from '../../config';
import type { SecretBox } from '../../crypto/secrets';
import type { Connection, ConnectionRepository } from '../../db/connections';
import type { PullStore } from '../../directory/pull';
import { invalidField } from '../../http/errors';
import { asText } from '../../text';
import type { Logger } from '../../logger';
import { firstPage } from '../firstPage';
import { ReadReport } from '../readReport';
import { PullFailed, type Candidate, type Pull, type PullMode, type PullSource, type UserProbe } from '../source';
import type { SourceStateRepository } from '../state';
import { GoogleClient, GoogleError, PAGE, type GoogleGroup } from './client';
import { explainGoogleError, refusesCredentials } from './errors';
import { GoogleRead, type GoogleCursor } from './incremental';
import { parseServiceAccountKey, type ServiceAccountKey } from './key';
import { inOrgUnits, toPulledGroup, toPulledUser, userGetParams, userListParams } from './mapping';
import { googleSettingsSchema, type GoogleSettings } from './settings';
import { GoogleTransport } from './transport';

export interface GoogleDeps {
  connections: ConnectionRepository;
  box: SecretBox;
  pull: PullStore;
  state: SourceStateRepository;
  logger: Logger;
  options: Config['google'];
}

export type GoogleTestResult =
  | { ok: true; message: string; users: number; groups: number; sampleUser: string | null; reports: boolean }
  | { ok: false; message: string };

const secretContext = (connectionId: string) => secretContexts.connection(googleKind.secretField, connectionId);

/**
 * Google Workspace connections: their settings and sealed service account key, a client per read
 * (the key signs a token for the admin it impersonates), the test, the read the engine runs, the
 * one-user read of a first login, and Test Sync.
 */
export class GoogleService implements PullSource {
  private readonly transport: GoogleTransport;

  constructor(private readonly d: GoogleDeps) {
    this.transport = new GoogleTransport({
      ...d.options,
      onWait: ({ status, reason, waitMs, attempt }) =>
        d.logger.warn(
          { status, reason, waitMs, attempt },
          'Google throttled or failed a request; waiting before asking again',
        ),
    });
  }

  scheduleMinutes(c: Connection): number {
    const parsed = googleSettingsSchema.safeParse(c.settings.google ?? {});
    return parsed.success ? parsed.data.scheduleMinutes : 0;
  }

  settingsOf(c: Connection): GoogleSettings {
    return googleSettingsSchema.parse(c.settings.google ?? {});
  }

  seal(connectionId: string, key: string): string {
    return this.d.box.seal(key, secretContext(connectionId));
  }

  /** The connection's key (a PullFailed saying so when none is stored). */
  private async keyOf(c: Connection, typed?: string): Promise<ServiceAccountKey> {
    let text = typed;
    if (text === undefined) {
      const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
      if (!sealed)
        throw new PullFailed(
          'No service account key is stored for this connection: paste it in the connection settings.',
        );
      text = this.d.box.open(sealed, secretContext(c.id));
    }
    const key = parseServiceAccountKey(text);
    if (typeof key === 'string') throw new PullFailed(`The stored service account key ${key}.`);
    return key;
  }

  private client(s: GoogleSettings, key: ServiceAccountKey, report?: ReadReport): GoogleClient {
    // Said beside the phase it interrupts, until the next phase begins.
    const onWait =
      report &&
      ((w: { reason: string; waitMs: number }) =>
        report.step(`${report.progress.phase.split(' — ')[0]} — ${waitPhase(w, Date.now())}`));
    return new GoogleClient(key, s.adminEmail, this.transport, this.d.options.queriesPerMinute, s.customerId, onWait);
  }

  /** A token, one page of users and of groups (counted), and whether the Reports API answers: ok, or one sentence saying what to fix. */
  async testConnection(c: Connection, candidate: Candidate): Promise<GoogleTestResult> {
    const s = candidate.settings as GoogleSettings;
    let key: ServiceAccountKey | undefined;
    try {
      if (candidate.secret === undefined && !(await this.d.connections.sealedSecret(c.clientKey, c.id)))
        throw invalidField(
          'serviceAccountKey',
          'serviceAccountKey: no key is stored; paste one',
          'Required: no key is stored.',
        );
      key = await this.keyOf(c, candidate.secret);
      const client = this.client(s, key);
      await client.token();
      const users = await firstPage(client.users(userListParams(s)));
      const groups = await firstPage(client.groups());
      const reports = await this.readsEvents(client, s);
      const more = (n: number, max: number, what: string) =>
        `${n >= max ? `${max}+` : String(n)} ${n === 1 ? what.slice(0, -1) : what}`;
      return {
        ok: true,
        message:
          `Connected as ${s.adminEmail}: a token was issued, and Google returned ${more(users.length, PAGE.users, 'users')} and ${more(groups.length, PAGE.groups, 'groups')} on the first pages` +
          (reports === true ? ", and the Admin console's events." : `. ${reports}`),
        users: users.length,
        groups: groups.length,
        sampleUser: users[0]?.primaryEmail ?? null,
        reports: reports === true,
      };
    } catch (err) {
      return { ok: false, message: this.failure(s, key, err).message };
    }
  }

  /** Whether the Admin console's events can be read (incremental reads), or a sentence saying why not and what it means. */
  private async readsEvents(client: GoogleClient, s: GoogleSettings): Promise<true | string> {
    const now = new Date();
    try {
      await firstPage(client.activities(new Date(now.getTime() - 3600_000).toISOString(), now.toISOString()));
      return true;
    } catch (err) {
      if (!(err instanceof GoogleError) || err.status !== 403) throw err;
      return `${s.adminEmail} may not read the Admin console's events (Reports API; Google: ${err.message}), so every read will be full: give this admin the Reports privilege (Admin console → Account → Admin roles), or act as a super administrator.`;
    }
  }

  pull(c: Connection, mode: PullMode): Pull {
    return async (sink) => {
      const s = this.settingsOf(c);
      const key = await this.keyOf(c);
      const report = new ReadReport((p) => sink({ ...p }));
      const read = new GoogleRead(c.id, s, this.client(s, key, report), this.d.pull, report);
      try {
        const next = await read.read(mode, await this.d.state.cursor<GoogleCursor>(c.id));
        await this.d.state.saveCursor(c.id, next, report.progress.mode);
        report.done();
        return { changes: read.changed() };
      } catch (err) {
        report.tick(); // its last progress says what it wrote
        throw this.failure(s, key, err);
      }
    };
  }

  /** First login: the user with this email, if in scope, with its groups; nothing else is touched. */
  async pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'> {
    const s = this.settingsOf(c);
    const key = await this.keyOf(c);
    try {
      const client = this.client(s, key); // one token for the look and the write
      const probe = await this.probeWith(s, client, email, await this.d.state.cursor<GoogleCursor>(c.id));
      if (!probe.found || !probe.inScope) return 'absent';
      const read = new GoogleRead(c.id, s, client, this.d.pull, new ReadReport());
      await read.writeOne(probe.user, probe.groupList);
      return 'pulled';
    } catch (err) {
      throw this.failure(s, key, err);
    }
  }

  /** Test Sync: one user as Google gives it, whether it is in scope, its groups (nested included). */
  async probeUser(c: Connection, username: string, candidate?: Candidate): Promise<UserProbe> {
    const s = (candidate?.settings as GoogleSettings | undefined) ?? this.settingsOf(c);
    let key: ServiceAccountKey | undefined;
    try {
      key = await this.keyOf(c, candidate?.secret);
      const probe = await this.probeWith(
        s,
        this.client(s, key),
        username,
        await this.d.state.cursor<GoogleCursor>(c.id),
      );
      if (!probe.found) return { found: false, message: probe.message };
      const { user: _user, groupList: _groups, ...shown } = probe;
      return shown;
    } catch (err) {
      return { found: false, message: this.failure(s, key, err).message };
    }
  }

  private async probeWith(s: GoogleSettings, client: GoogleClient, username: string, cursor?: GoogleCursor) {
    const u = await client.user(username.trim().toLowerCase(), userGetParams(s));
    if (!u)
      return {
        found: false as const,
        message: `Google Workspace has no user ${username} (by primary email or alias).`,
      };
    const direct: string[] = [];
    for await (const page of client.groups({ userKey: String(u.id) })) direct.push(...page.map((g) => String(g.id)));
    const read = new GoogleRead('', s, client, this.d.pull, new ReadReport());
    const groups = await read.groupsAbove(direct, cursor?.nest ?? {});
    const members = s.scope.kind === 'groups' ? await read.scopeMemberIds() : undefined;
    let inScope = inOrgUnits(u, s) && (!members || members.has(String(u.id)));
    if (inScope && s.userQuery) {
      const first = await firstPage(
        client.users({ ...userListParams(s), query: `${s.userQuery} email='${String(u.primaryEmail)}'` }),
      );
      inScope = first.length > 0;
    }
    const pulled = toPulledUser(u, s);
    const directIds = new Set(direct);
    return {
      found: true as const,
      inScope,
      active: pulled.active,
      entry: `${String(u.primaryEmail)} in ${u.orgUnitPath ?? '/'}`,
      orgUnitPath: u.orgUnitPath ?? '/',
      /** Google's fields as text, as the page's attribute table shows them. */
      attributes: Object.fromEntries(
        Object.entries(u)
          .filter(([k]) => k !== 'kind' && k !== 'etag')
          .map(([k, v]) => [k, Array.isArray(v) ? v.map(asText) : [asText(v)]]),
      ),
      resource: pulled.resource,
      groups: groups.map((g: GoogleGroup) => ({
        name: toPulledGroup(g, s).displayName,
        email: g.email ?? null,
        direct: directIds.has(String(g.id)),
      })),
      user: u,
      groupList: groups,
    };
  }

  /** Nothing is kept per connection (a read makes its client; tokens live as long as it). */
  forget(): void {}

  close(): void {
    this.transport.close();
  }

  /** A failure as a PullFailed whose message says what to fix; our own bugs are rethrown as they are. */
  private failure(s: GoogleSettings, key: ServiceAccountKey | undefined, err: unknown): PullFailed {
    if (err instanceof PullFailed) return err;
    const who = {
      clientEmail: key?.clientEmail ?? 'the service account',
      clientId: key?.clientId ?? s.serviceAccount?.clientId ?? '(its client ID)',
      adminEmail: s.adminEmail,
      customerId: s.customerId,
    };
    const said = explainGoogleError(err, who);
    if (said === undefined) throw err;
    this.d.logger.warn({ err: { message: (err as Error).message } }, 'Google Workspace request failed');
    return new PullFailed(said, refusesCredentials(err));
  }
}

/** What a read shows while Google has it wait: its quota paused until it resets, or a throttled request asked again. */
export function waitPhase(w: { reason: string; waitMs: number }, now: number): string {
  const until = new Date(now + w.waitMs).toISOString().slice(11, 19);
  return w.reason === 'quotaExceeded'
    ? `paused until ${until} UTC: Google's quota for the Admin SDK is used up and resets each minute`
    : `waiting ${Math.max(1, Math.round(w.waitMs / 1000))} s: Google asked to slow down (${w.reason})`;
}
