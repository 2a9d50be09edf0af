import type { PullStore } from '../../directory/pull';
import { explainLdapError } from './errors';
import { escapeValue, type LdapEntry, type LdapSession } from './session';
import { dnKey, entryId, first } from './entry';
import type { LdapSettings } from './settings';

/** Ids of users and groups gone from the directory (deleted, moved out of scope, out of the filter). */
export interface Gone {
  users: string[];
  groups: string[];
}

/** The ids the store held when an incremental read began (what a deletion can have removed). */
export interface StoredIds {
  users: Promise<string[]>;
  groups: Promise<string[]>;
}

/** Candidates looked up per search (by their ids, OR-ed). */
const VERIFY_BATCH = 100;

/**
 * How an incremental read finds what left the directory since its cursor: Active Directory's
 * tombstones; elsewhere a scan of every id in scope, or OpenLDAP's access log (the `accesslog`
 * overlay) when the connection reads one. Every candidate of the last two is looked up by its id
 * before it goes: an entry that is still in scope (moved while the scan ran, only modified) stays.
 */
export class LdapDeletions {
  constructor(
    private readonly connectionId: string,
    private readonly s: LdapSettings,
    private readonly session: LdapSession,
    private readonly store: PullStore,
    private readonly buffers: string[],
  ) {}

  /**
   * Active Directory: users and groups deleted since `since` (tombstones, through Show Deleted), and
   * users changed anywhere in the domain but not among the changed users in scope (moved out, or
   * out of the filter).
   */
  async tombstones(namingContext: string, since: string, inScope: Set<string>, stored: StoredIds): Promise<Gone> {
    const s = this.s;
    const ids = new Set<string>();
    const collect = async (filter: string, showDeleted: boolean) => {
      for await (const page of this.session.pages(
        namingContext,
        { scope: 'sub', filter, attributes: [s.attributes.id], explicitBufferAttributes: this.buffers },
        { showDeleted },
      ))
        for (const e of page) ids.add(entryId(e, s.attributes.id));
    };
    await collect(`(&(isDeleted=TRUE)${since})`, true);
    await collect(`(&(objectClass=user)${since})`, false);
    const [users, groups] = [new Set(await stored.users), new Set(await stored.groups)];
    return {
      users: [...ids].filter((id) => users.has(id) && !inScope.has(id)),
      groups: [...ids].filter((id) => groups.has(id)),
    };
  }

  /**
   * What the store held and a scan of the scope's ids (one attribute each) does not find. The
   * longest part of an incremental read without an access log: every entry in scope, every time.
   */
  async scan(stored: StoredIds): Promise<Gone> {
    const s = this.s;
    const unseen = async (ids: Promise<string[]>, base: string, scope: 'sub' | 'one', filter: string) => {
      const out = new Set(await ids);
      // Stored ids are canonical: a text id needs only lower case to be found (100,000 entries a scan).
      const idOf = (e: LdapEntry) =>
        this.buffers.length ? entryId(e, s.attributes.id) : first(e, s.attributes.id).toLowerCase();
      for await (const page of this.session.pages(base, {
        scope,
        filter,
        attributes: [s.attributes.id],
        explicitBufferAttributes: this.buffers,
      }))
        for (const e of page) out.delete(idOf(e));
      return this.absent([...out], base, scope, filter);
    };
    return {
      users: await unseen(stored.users, s.users.baseDn, s.users.scope, s.users.filter),
      groups: await unseen(stored.groups, s.groups.baseDn, 'sub', s.groups.filter),
    };
  }

  /**
   * OpenLDAP's access log since `mark` (the newest entry the last read saw, kept in the cursor): the
   * entries deleted, renamed or modified since, as the store knows them by DN, that are no longer in
   * scope. A string says why the log cannot serve this time (no mark yet; the mark's entry purged,
   * so entries may be missing; unreadable): scan instead, and take a mark with `newestSince`.
   */
  async accessLog(mark: string | undefined, inScope: Set<string>): Promise<{ gone: Gone; mark: string } | string> {
    const s = this.s;
    const base = s.accessLogBaseDn!;
    const dns = new Set<string>();
    let newest = mark ?? '';
    try {
      if (!(await this.session.read(base, ['1.1']))) return `there is no access log at ${base}`;
      if (!mark) return `no position in the access log (${base}) yet`;
      const kept = await this.session.find(base, { scope: 'one', filter: `(reqStart=${mark})`, attributes: ['1.1'] });
      if (kept.length === 0) return `the access log (${base}) was purged past the last read`;
      for await (const page of this.session.pages(base, {
        scope: 'one',
        filter: `(&(reqStart>=${mark})(reqResult=0)(|(objectClass=auditDelete)(objectClass=auditModRDN)(objectClass=auditModify)))`,
        attributes: ['reqDN', 'reqStart'],
      }))
        for (const e of page) {
          dns.add(dnKey(first(e, 'reqDN')));
          if (first(e, 'reqStart') > newest) newest = first(e, 'reqStart');
        }
    } catch (err) {
      return `the access log (${base}) could not be read: ${explainLdapError(err, { url: this.session.url, baseDn: base })}`;
    }
    const users = await this.store.userIdsByDnKey(this.connectionId, [...dns]);
    const groups = new Map(
      [...(await this.store.groupResourceValues(this.connectionId, 'dn'))].map(([id, dn]) => [dnKey(dn), id]),
    );
    const userIds = [...new Set([...dns].flatMap((d) => users.get(d) ?? []))].filter((id) => !inScope.has(id));
    const groupIds = [...new Set([...dns].flatMap((d) => groups.get(d) ?? []))];
    return {
      gone: {
        users: await this.absent(userIds, s.users.baseDn, s.users.scope, s.users.filter),
        groups: await this.absent(groupIds, s.groups.baseDn, 'sub', s.groups.filter),
      },
      mark: newest,
    };
  }

  /**
   * A mark for the next read: the newest access log entry now, looked for in the last 5 minutes,
   * then the last day, then the last 30 days (a quiet log has none in the first). Undefined when
   * there is none, or the log cannot be read: the next read scans again.
   */
  async newestBefore(now: Date): Promise<string | undefined> {
    for (const back of [5 * 60_000, 86_400_000, 30 * 86_400_000]) {
      let newest: string | undefined;
      try {
        for await (const page of this.session.pages(this.s.accessLogBaseDn!, {
          scope: 'one',
          filter: `(reqStart>=${generalizedTime(new Date(now.getTime() - back))})`,
          attributes: ['reqStart'],
        }))
          for (const e of page) if (!newest || first(e, 'reqStart') > newest) newest = first(e, 'reqStart');
      } catch {
        return undefined; // the run says why the log could not serve, when it is asked to
      }
      if (newest) return newest;
    }
    return undefined;
  }

  /** Of these ids, those no entry in scope has (looked up by id, in batches). */
  private async absent(candidates: string[], base: string, scope: 'sub' | 'one', filter: string): Promise<string[]> {
    const attr = this.s.attributes.id;
    if (this.buffers.length || candidates.length === 0) return candidates; // a binary id has no text form to look up
    const out = new Set(candidates);
    for (let i = 0; i < candidates.length; i += VERIFY_BATCH) {
      const any = candidates
        .slice(i, i + VERIFY_BATCH)
        .map((id) => `(${attr}=${escapeValue(id)})`)
        .join('');
      for await (const page of this.session.pages(base, {
        scope,
        filter: `(&${filter}(|${any}))`,
        attributes: [attr],
      }))
        for (const e of page) out.delete(entryId(e, attr));
    }
    return [...out];
  }
}

/** A time as LDAP's generalized time, to the second (20261201093000Z). */
export function generalizedTime(t: Date): string {
  return t
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
