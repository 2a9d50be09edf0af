import { ldapKind } from './kind';
import { secretContexts } from '../../db/sealed';
import type { SecretBox } from '../../crypto/secrets';
import type { Connection, ConnectionRepository } from '../../db/connections';
import type { PullStore } from '../../directory/pull';
import type { Logger } from '../../logger';
import { PullFailed, type Candidate, type Pull, type PullMode, type PullSource, type UserProbe } from '../source';
import type { AddressGuard } from '../outbound';
import type { SourceStateRepository } from '../state';
import { LdapRead, type LdapCursor } from './incremental';
import { groupsOf, judge, probeEntry, type LdapUserProbe } from './oneUser';
import { openSession } from './client';
import { InvalidCredentialsError } from 'ldapts';
import { explainLdapError } from './errors';
import { escapeValue, type LdapSession } from './session';
import { first, toPulledUser, userAttributes } from './entry';
import { ldapSettingsSchema, type LdapSettings } from './settings';

export interface LdapDeps {
  connections: ConnectionRepository;
  state: SourceStateRepository;
  box: SecretBox;
  pull: PullStore;
  logger: Logger;
  /** Which addresses the directory's URLs may reach (private ranges only when the operator allows them). */
  guard: AddressGuard;
}

export type LdapTestResult =
  | {
      ok: true;
      message: string;
      users: number;
      groups: number;
      sampleUser: string | null;
      /** Active Directory: whether this account can see deleted objects (else incremental reads scan for deletions). */
      tombstones?: boolean;
    }
  | { ok: false; message: string };

const secretContext = (connectionId: string) => secretContexts.connection(ldapKind.secretField, connectionId);
/** Counting stops here: Test connection answers in seconds even for a huge directory. */
const COUNT_CAP = 100_000;

/**
 * LDAP / Active Directory connections: their settings and sealed bind password, the test, the pull
 * the engine runs (a full read; incremental reads come with their own change), and the one-user
 * pull of a first login. Every value placed in a filter is escaped.
 */
export class LdapService implements PullSource {
  constructor(private readonly d: LdapDeps) {}

  scheduleMinutes(c: Connection): number {
    const parsed = ldapSettingsSchema.safeParse(c.settings.ldap ?? {});
    return parsed.success ? parsed.data.scheduleMinutes : 0;
  }

  settingsOf(c: Connection): LdapSettings {
    return ldapSettingsSchema.parse(c.settings.ldap ?? {});
  }

  seal(connectionId: string, password: string): string {
    return this.d.box.seal(password, secretContext(connectionId));
  }

  openSecret(connectionId: string, sealed: string): string {
    return this.d.box.open(sealed, secretContext(connectionId));
  }

  /** The stored bind password of a connection (null for an anonymous one, or none stored). */
  async passwordOf(c: Connection): Promise<string | null> {
    const sealed = await this.d.connections.sealedSecret(c.clientKey, c.id);
    return sealed ? this.openSecret(c.id, sealed) : null;
  }

  /** Binds, reads both base DNs and counts what they hold: ok, or one sentence saying what to fix. */
  async test(s: LdapSettings, password: string | null): Promise<LdapTestResult> {
    let session: LdapSession | undefined;
    let base = s.users.baseDn;
    try {
      session = await openSession(s, password, this.d.guard);
      let users = 0;
      let sampleUser: string | null = null;
      for await (const page of session.pages(s.users.baseDn, {
        scope: s.users.scope,
        filter: s.users.filter,
        attributes: [s.attributes.userName],
      })) {
        sampleUser ??= page.map((e) => first(e, s.attributes.userName)).find(Boolean) ?? null;
        users += page.length;
        if (users >= COUNT_CAP) break;
      }
      base = s.groups.baseDn;
      let groups = 0;
      for await (const page of session.pages(s.groups.baseDn, {
        scope: 'sub',
        filter: s.groups.filter,
        attributes: ['cn'],
      })) {
        groups += page.length;
        if (groups >= COUNT_CAP) break;
      }
      const count = (n: number, what: string) =>
        `${n >= COUNT_CAP ? `over ${COUNT_CAP.toLocaleString('en')}` : n.toLocaleString('en')} ${what}`;
      let tombstones: boolean | undefined;
      if (s.directoryType === 'activeDirectory') {
        const root = await session.rootDse(['defaultNamingContext']);
        tombstones = await session.seesTombstones(root ? first(root, 'defaultNamingContext') : '');
      }
      return {
        ok: true,
        message:
          `Connected to ${new URL(session.url).host} as ${s.bindName ?? 'anonymous'}: ${count(users, 'users')} and ${count(groups, 'groups')} match the filters.` +
          (tombstones === false
            ? ' This account sees no deleted objects: incremental reads will scan the scope for deletions (grant it "List contents" on CN=Deleted Objects to read tombstones instead).'
            : ''),
        users,
        groups,
        sampleUser,
        ...(tombstones === undefined ? {} : { tombstones }),
      };
    } catch (err) {
      return { ok: false, message: this.failure(s, err, session?.url, base).message };
    } finally {
      await session?.close();
    }
  }

  /** The engine's pull: full, incremental, or incremental when it can be trusted ('auto'); the cursor is kept for the next. */
  pull(c: Connection, mode: PullMode): Pull {
    return async (report) => {
      const s = this.settingsOf(c);
      const session = await openSession(s, await this.passwordOf(c), this.d.guard);
      const read = new LdapRead(c.id, s, session, this.d.pull, (p) => report({ ...p }));
      try {
        const next = await read.read(mode, await this.d.state.cursor<LdapCursor>(c.id));
        await this.d.state.saveCursor(c.id, next, read.progress.mode);
        return { changes: read.changed() };
      } catch (err) {
        read.stopped(); // its last progress says what it wrote
        throw this.failure(s, err, session.url);
      } finally {
        await session.close();
      }
    };
  }

  /**
   * First login: the user whose email is this one (escaped into the filter), with the groups they
   * are in (nested: the groups holding those, and so on), written without touching anyone else.
   */
  async pullUser(c: Connection, email: string): Promise<'pulled' | 'absent'> {
    const s = this.settingsOf(c);
    const session = await openSession(s, await this.passwordOf(c), this.d.guard);
    try {
      const matches = await session.find(s.users.baseDn, {
        scope: s.users.scope,
        filter: `(&${s.users.filter}(${s.attributes.email}=${escapeValue(email)}))`,
        attributes: userAttributes(s),
        explicitBufferAttributes: s.attributes.id === 'objectGUID' ? ['objectGUID'] : [],
      });
      const entry = matches[0];
      if (!entry) return 'absent';
      if (matches.length > 1) {
        this.d.logger.warn(
          { connectionId: c.id, matches: matches.length },
          'first login: several directory users have this email; none is pulled',
        );
        return 'absent';
      }
      const groups = await groupsOf(session, s, entry.dn, first(entry, s.attributes.userName));
      const { inGroups, disabled } = await judge(session, s, entry, groups);
      if (!inGroups) return 'absent';
      const user = toPulledUser(entry, s, disabled);
      if (!user) return 'absent';
      await this.d.pull.transaction(async (tx) => {
        await this.d.pull.upsertUsers(c.id, [user], null, tx);
        await this.d.pull.upsertGroups(
          c.id,
          groups.map((g) => ({
            id: g.id,
            displayName: g.name,
            resource: { displayName: g.name, dn: g.dn, description: null },
          })),
          null,
          tx,
        );
        await this.d.pull.addMemberships(
          c.id,
          groups.map((g) => [g.id, user.id]),
          null,
          tx,
        );
      });
      return 'pulled';
    } catch (err) {
      throw this.failure(s, err, session.url);
    } finally {
      await session.close();
    }
  }

  /** Test connection with candidate settings, and the password typed or the stored one. */
  async testConnection(c: Connection, candidate: Candidate): Promise<LdapTestResult> {
    return this.test(candidate.settings as LdapSettings, candidate.secret ?? (await this.passwordOf(c)));
  }

  /** Test Sync (see `probe`); a directory it cannot read is said in the answer. */
  async probeUser(c: Connection, username: string, candidate?: Candidate): Promise<UserProbe> {
    try {
      const password = candidate && (candidate.secret ?? (await this.passwordOf(c)));
      return await this.probe(
        c,
        username,
        candidate && { settings: candidate.settings as LdapSettings, password: password ?? null },
      );
    } catch (err) {
      if (err instanceof PullFailed) return { found: false, message: err.message };
      throw err;
    }
  }

  /** Nothing is kept per connection: each read opens its own session. */
  forget(): void {}

  /** Test Sync (see `probeEntry`), on the connection's settings or candidate ones. */
  private async probe(
    c: Connection,
    username: string,
    candidate?: { settings: LdapSettings; password: string | null },
  ): Promise<LdapUserProbe> {
    const s = candidate?.settings ?? this.settingsOf(c);
    const session = await openSession(s, candidate ? candidate.password : await this.passwordOf(c), this.d.guard);
    try {
      return await probeEntry(session, s, username);
    } catch (err) {
      throw this.failure(s, err, session.url);
    } finally {
      await session.close();
    }
  }

  /** A failure as a PullFailed whose message says what to fix; anything else (our own bug) as it is. */
  private failure(s: LdapSettings, err: unknown, url: string | undefined, baseDn?: string): PullFailed {
    if (err instanceof PullFailed) return err;
    if (!(err instanceof Error)) throw err;
    if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) throw err;
    this.d.logger.warn({ err: { message: err.message, name: err.name } }, 'LDAP request failed');
    return new PullFailed(
      explainLdapError(err, { url: url ?? s.urls[0], bindName: s.bindName, baseDn }),
      err instanceof InvalidCredentialsError,
    );
  }
}
