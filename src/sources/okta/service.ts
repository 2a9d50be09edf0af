import { oktaKind } from './kind';
import { secretContexts } from '../../db/sealed';
import type { Config } from '../../config';
import type { SecretBox } from '../../crypto/secrets';
import type { Connection, ConnectionRepository } from '../../db/connections';
import type { PullStore } from '../../directory/pull';
import { invalidField } from '../../http/errors';
import type { Logger } from '../../logger';
import { asText } from '../../text';
import { OutboundHttp } from '../http';
import type { AddressGuard } from '../outbound';
import { firstPage } from '../firstPage';
import { ReadReport } from '../readReport';
import { PullFailed, type Candidate, type Pull, type PullMode, type PullSource, type UserProbe } from '../source';
import type { SourceStateRepository } from '../state';
import { OktaClient, OktaError, PAGE, type OktaGroup, type OktaWait } from './client';
import { parseOktaCredential, type OktaCredential } from './credential';
import { explainOktaError, refusesCredentials } from './errors';
import { EVENT_FILTER } from './events';
import { EVERY_STATUS_FILTER, readsGroup, toPulledGroup, toPulledUser } from './mapping';
import { OktaRates } from './rates';
import { OktaRead, type OktaCursor } from './incremental';
import { oktaSettingsSchema, type OktaSettings } from './settings';

export interface OktaDeps {
  connections: ConnectionRepository;
  box: SecretBox;
  pull: PullStore;
  state: SourceStateRepository;
  logger: Logger;
  guard: AddressGuard;
  options: Config['okta'];
}

export type OktaTestResult =
  | { ok: true; message: string; users: number; groups: number; sampleUser: string | null; systemLog: boolean }
  | { ok: false; message: string };

const secretContext = (connectionId: string) => secretContexts.connection(oktaKind.secretField, connectionId);

/**
 * Okta connections: their settings and sealed credential (an API token or a service app's private
 * key), a client per read over one HTTPS client (the address guard: the org URL is typed by an
 * admin) and the org's rate limits shared by every read, the test, the read the engine runs, the
 * one-user read of a first login, and Test Sync.
 */
export class OktaService implements PullSource {
  private readonly http: OutboundHttp;
  private readonly rates: OktaRates;

  constructor(private readonly d: OktaDeps) {
    this.http = new OutboundHttp({
      caPem: d.options.caPem,
      timeoutMs: d.options.timeoutMs,
      // Asked again by the client only: each attempt needs a new DPoP proof (Okta refuses a proof's jti twice).
      maxAttempts: 1,
      guard: d.guard,
      headers: { 'user-agent': 'idp-user-group-sync' },
    });
    this.rates = new OktaRates(d.options.rateLimitReserve);
  }

  scheduleMinutes(c: Connection): number {
    const parsed = oktaSettingsSchema.safeParse(c.settings.okta ?? {});
    return parsed.success ? parsed.data.scheduleMinutes : 0;
  }

  settingsOf(c: Connection): OktaSettings {
    return oktaSettingsSchema.parse(c.settings.okta ?? {});
  }

  seal(connectionId: string, credential: string): string {
    return this.d.box.seal(credential, secretContext(connectionId));
  }

  private async credentialOf(c: Connection, typed?: string): Promise<OktaCredential> {
    let text = typed;
    if (text === undefined) {
      const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
      if (!sealed)
        throw new PullFailed('No Okta credential is stored for this connection: paste an API token or a private key.');
      text = this.d.box.open(sealed, secretContext(c.id));
    }
    const cred = parseOktaCredential(text);
    if (typeof cred === 'string') throw new PullFailed(`The stored Okta credential ${cred}.`);
    return cred;
  }

  private client(s: OktaSettings, cred: OktaCredential, report?: ReadReport): OktaClient {
    if (cred.method === 'privateKey' && !s.clientId)
      throw new PullFailed("A private key needs the API service app's client ID: enter it in the connection settings.");
    // Said beside the phase it interrupts, until the next phase begins.
    const onWait =
      report &&
      ((w: OktaWait) => report.step(`${report.progress.phase.split(' — ')[0]} — ${waitPhase(w, Date.now())}`));
    return new OktaClient(s.orgUrl, cred, {
      clientId: s.clientId,
      keyId: s.keyId,
      http: this.http,
      rates: this.rates,
      maxAttempts: this.d.options.maxAttempts,
      onWait,
      onTrouble: ({ status, waitMs, attempt }) =>
        this.d.logger.warn({ status, waitMs, attempt }, 'Okta failed a request; waiting before asking again'),
    });
  }

  /** A token (OAuth), a page of users and of groups, the scope, and whether the System Log answers. */
  async testConnection(c: Connection, candidate: Candidate): Promise<OktaTestResult> {
    const s = candidate.settings as OktaSettings;
    let cred: OktaCredential | undefined;
    try {
      if (candidate.secret === undefined && !(await this.d.connections.sealedSecret(c.clientKey, c.id)))
        throw invalidField('oktaCredential', 'oktaCredential: none is stored; paste one', 'Required: none is stored.');
      cred = await this.credentialOf(c, candidate.secret);
      const client = this.client(s, cred);
      await client.authenticate();
      const users = await firstPage(client.users(EVERY_STATUS_FILTER));
      const groups = await firstPage(client.groups());
      const scope = await this.scopeSaid(s, client);
      const log = await this.readsLog(client);
      const more = (n: number, max: number, what: string) =>
        `${n >= max ? `${max}+` : String(n)} ${n === 1 ? what.slice(0, -1) : what}`;
      return {
        ok: true,
        message:
          `Connected to ${s.orgUrl}${cred.method === 'privateKey' ? ` as client ${s.clientId}` : ' with an API token'}: Okta returned ${more(users.length, PAGE.users, 'users')} and ${more(groups.length, PAGE.groups, 'groups')} on the first pages${scope}` +
          (log === true ? ', and the System Log (incremental reads).' : `. ${log}`),
        users: users.length,
        groups: groups.length,
        sampleUser: users[0]?.profile?.login ?? null,
        systemLog: log === true,
      };
    } catch (err) {
      return { ok: false, message: this.failure(s, cred, err).message };
    }
  }

  /** The scope, checked: the app found, the chosen groups found. */
  private async scopeSaid(s: OktaSettings, client: OktaClient): Promise<string> {
    if (s.scope.kind === 'org') return '';
    const groups = await new OktaRead('', s, client, this.d.pull, new ReadReport()).scopeGroups();
    return s.scope.kind === 'app'
      ? `; the app ${s.scope.appId} has ${groups.size} group${groups.size === 1 ? '' : 's'} assigned`
      : `; the ${groups.size} chosen group${groups.size === 1 ? ' was' : 's were'} found`;
  }

  private async readsLog(client: OktaClient): Promise<true | string> {
    const now = Date.now();
    try {
      await firstPage(client.logs(new Date(now - 3600_000).toISOString(), new Date(now).toISOString(), EVENT_FILTER));
      return true;
    } catch (err) {
      if (!(err instanceof OktaError) || err.status !== 403) throw err;
      return `The System Log cannot be read (Okta: ${err.message}), so every read will be full: grant the scope okta.logs.read and a role that reads the System Log (Read-only Administrator).`;
    }
  }

  pull(c: Connection, mode: PullMode): Pull {
    return async (sink) => {
      const s = this.settingsOf(c);
      const cred = await this.credentialOf(c);
      const report = new ReadReport((p) => sink({ ...p }));
      try {
        const read = new OktaRead(c.id, s, this.client(s, cred, report), this.d.pull, report);
        const next = await read.read(mode, await this.d.state.cursor<OktaCursor>(c.id));
        await this.d.state.saveCursor(c.id, next, report.progress.mode);
        report.done();
        return { changes: report.changes() };
      } catch (err) {
        report.tick();
        throw this.failure(s, cred, err);
      }
    };
  }

  /** First login: the user with this email (or login), if in scope, with its groups in scope; nothing else is touched. */
  async pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'> {
    const s = this.settingsOf(c);
    const cred = await this.credentialOf(c);
    try {
      const client = this.client(s, cred);
      const probe = await this.probeWith(s, client, email);
      if (!probe.found || !probe.inScope) return 'absent';
      await new OktaRead(c.id, s, client, this.d.pull, new ReadReport()).writeOne(probe.user, probe.groupList);
      return 'pulled';
    } catch (err) {
      throw this.failure(s, cred, err);
    }
  }

  /** Test Sync: one user as Okta gives it, whether it is in scope, its groups. */
  async probeUser(c: Connection, username: string, candidate?: Candidate): Promise<UserProbe> {
    const s = (candidate?.settings as OktaSettings | undefined) ?? this.settingsOf(c);
    let cred: OktaCredential | undefined;
    try {
      cred = await this.credentialOf(c, candidate?.secret);
      const probe = await this.probeWith(s, this.client(s, cred), username);
      if (!probe.found) return { found: false, message: probe.message };
      const { user: _user, groupList: _groups, ...shown } = probe;
      return shown;
    } catch (err) {
      return { found: false, message: this.failure(s, cred, err).message };
    }
  }

  private async probeWith(s: OktaSettings, client: OktaClient, username: string) {
    const key = username.trim();
    let u = /["\\]/.test(key) ? null : await client.user(key); // by id or login
    if (!u && !/["\\]/.test(key)) u = (await firstPage(client.users(`profile.email eq "${key}"`)))[0] ?? null;
    if (!u) return { found: false as const, message: `Okta has no user ${username} (by login or email).` };
    const all: OktaGroup[] = [];
    for await (const page of client.userGroups(u.id)) all.push(...page.filter(readsGroup));
    let groups = all;
    let inScope = true;
    if (s.scope.kind !== 'org') {
      const scopeGroups = await new OktaRead('', s, client, this.d.pull, new ReadReport()).scopeGroups();
      groups = all.filter((g) => scopeGroups.has(g.id));
      inScope = s.scope.kind === 'app' ? (await client.appUser(s.scope.appId, u.id)) !== null : groups.length > 0;
    }
    const pulled = toPulledUser(u, s);
    return {
      found: true as const,
      inScope,
      active: pulled.active,
      entry: `${String(u.profile?.login)} (${u.status})`,
      status: u.status,
      /** Okta's profile as text, as the page's attribute table shows it. */
      attributes: Object.fromEntries(
        Object.entries({ id: u.id, status: u.status, ...u.profile }).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map(asText) : [asText(v)],
        ]),
      ),
      resource: pulled.resource,
      groups: groups.map((g) => ({ name: toPulledGroup(g).displayName, id: g.id, direct: true })),
      user: u,
      groupList: groups,
    };
  }

  forget(): void {}

  close(): void {
    this.http.close();
  }

  private failure(s: OktaSettings, cred: OktaCredential | undefined, err: unknown): PullFailed {
    if (err instanceof PullFailed) return err;
    const said = explainOktaError(err, {
      orgUrl: s.orgUrl,
      clientId: s.clientId,
      method: cred?.method ?? s.credential?.method ?? 'apiToken',
    });
    if (said === undefined) throw err;
    this.d.logger.warn({ err: { message: (err as Error).message } }, 'Okta request failed');
    return new PullFailed(said, refusesCredentials(err));
  }
}

/** What a read shows while Okta's rate limit has it wait. */
export function waitPhase(w: OktaWait, now: number): string {
  const until = new Date(now + w.waitMs).toISOString().slice(11, 19);
  return `paused until ${until} UTC: Okta's ${w.reason} for this kind of request (it resets each minute)`;
}
