import { readAttribute } from './attributes';
import { PHASES, type CustomerTarget, type Link, type Operation, type Plan, type PlannedOperation } from './types';
import type { PlannedUser } from './types';
import type { Rules } from '../rules';

/** Accounts per JSM call: portal access and organization membership take a list of accountIds. */
export const CUSTOMER_BATCH = 50;

/** `desk:<id>` or `org:<id>`: a place a customer is given access. */
export type Place = `${CustomerTarget}:${string}`;

/** What the customer planner is given. */
export interface CustomerPlanInput {
  /** Create customers the site has no account for (off: only existing accounts are linked). */
  importUsers: boolean;
  rules: Rules;
  users: PlannedUser[];
  /** Users the IdP no longer has, with links (their grants are withdrawn unless the rules keep them). */
  departed: string[];
  links: Map<string, Link>;
  /** `place|accountId`: the accesses this connection granted (only these are withdrawn, unless mirroring). */
  grants: Set<string>;
  /**
   * Mirroring (`keepExisting` off, a full plan): who each place named in the rules has now, as JSM
   * listed them. Everyone there whom the IdP does not give the place is withdrawn, whoever granted it.
   */
  current?: Map<Place, Array<{ accountId: string; email?: string }>>;
}

const looksLikeEmail = (s: string | undefined) => Boolean(s && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s));
const label = (place: Place) =>
  place.startsWith('desk:') ? `service desk ${place.slice(5)}` : `organization ${place.slice(4)}`;

/**
 * Plans JSM Customer Sync (a connection whose target is `customers`), pure: every active IdP user is
 * a customer (linked to the account their email has, or created), with portal access to the
 * service desks and membership of the organizations the rules give them (everyone's, and their IdP
 * groups'). What a customer no longer gets — a group left, or (deprovision `removeAccess`) the user
 * disabled, deleted or out of scope — is withdrawn, but only where this connection granted it, or,
 * mirroring (`keepExisting` off, a full plan given `current`), from everyone the places named in the
 * rules have that the IdP does not give them (an account about to be linked by email excepted).
 * Grants and withdrawals go in calls of up to 50 accounts per desk or organization.
 */
export function planCustomers(input: CustomerPlanInput): Plan {
  const p = new CustomerPlanning(input);
  for (const u of input.users) p.user(u);
  if (input.rules.customers.deprovision === 'removeAccess')
    for (const id of input.departed) {
      const link = input.links.get(id);
      if (link) p.withdraw(link.accountId, new Set());
    }
  p.sweep();
  return p.plan();
}

const add = <T>(m: Map<Place, T[]>, place: Place, v: T) => {
  const list = m.get(place);
  if (list) list.push(v);
  else m.set(place, [v]);
};

/** One customers plan as it is made: what each place gains and loses, and the operations. */
class CustomerPlanning {
  private readonly ops: PlannedOperation[] = [];
  private readonly c: Rules['customers'];
  /** The places everyone gets, and each IdP group's (by lower-case name). */
  private readonly forAll: Place[];
  private readonly byGroup = new Map<string, Place[]>();
  /** The places this connection granted, by account. */
  private readonly granted = new Map<string, Place[]>();
  private readonly toGrant = new Map<Place, string[]>(); // place → user ids
  private readonly toRevoke = new Map<Place, string[]>(); // place → account ids
  /** Mirroring: the accounts the IdP gives each place, and the emails of users about to be linked there. */
  private readonly mirror: { kept: Set<string>; pending: Set<string> } | undefined;
  private withoutEmail = 0;

  constructor(private readonly input: CustomerPlanInput) {
    this.c = input.rules.customers;
    this.forAll = [
      ...this.c.serviceDesksForAll.map((id): Place => `desk:${id}`),
      ...this.c.organizationsForAll.map((id): Place => `org:${id}`),
    ];
    for (const m of this.c.groups) {
      const places = this.byGroup.get(m.idpGroup.toLowerCase()) ?? [];
      places.push(
        ...m.serviceDesks.map((id): Place => `desk:${id}`),
        ...m.organizations.map((id): Place => `org:${id}`),
      );
      this.byGroup.set(m.idpGroup.toLowerCase(), places);
    }
    for (const k of input.grants) {
      const at = k.lastIndexOf('|');
      const account = k.slice(at + 1);
      const list = this.granted.get(account) ?? [];
      list.push(k.slice(0, at) as Place);
      this.granted.set(account, list);
    }
    this.mirror = !this.c.keepExisting && input.current ? { kept: new Set(), pending: new Set() } : undefined;
  }

  /** One IdP user: a customer (linked or created) with the places the rules give them, and no others of ours. */
  user(u: PlannedUser): void {
    const link = this.input.links.get(u.id);
    if (!u.active) {
      if (link && this.c.deprovision === 'removeAccess') this.withdraw(link.accountId, new Set());
      else if (link) for (const p of this.granted.get(link.accountId) ?? []) this.keepFor(p, link.accountId);
      return;
    }
    const want = new Set<Place>(this.forAll);
    for (const g of u.groups) for (const p of this.byGroup.get(g.toLowerCase()) ?? []) want.add(p);
    if (!link) return this.newCustomer(u, want);
    for (const p of want) this.keepFor(p, link.accountId);
    const has = new Set(this.granted.get(link.accountId) ?? []);
    for (const p of want) if (!has.has(p)) add(this.toGrant, p, u.id);
    this.withdraw(link.accountId, want);
  }

  /** What this connection granted the account and it should no longer have. */
  withdraw(accountId: string, keep: Set<Place>): void {
    for (const place of this.granted.get(accountId) ?? []) if (!keep.has(place)) add(this.toRevoke, place, accountId);
  }

  /** Mirroring: everyone a place has whom the IdP does not give it is withdrawn (one about to be linked by email excepted). */
  sweep(): void {
    if (!this.mirror) return;
    for (const [place, members] of this.input.current!) {
      const revoking = new Set(this.toRevoke.get(place) ?? []);
      for (const m of members) {
        if (this.mirror.kept.has(`${place}|${m.accountId}`) || revoking.has(m.accountId)) continue;
        if (m.email && this.mirror.pending.has(`${place}|${m.email.toLowerCase()}`)) continue;
        add(this.toRevoke, place, m.accountId);
        revoking.add(m.accountId);
      }
    }
  }

  /** The operations in phase order: customers first, then grants and withdrawals of up to CUSTOMER_BATCH accounts a call. */
  plan(): Plan {
    const warnings =
      this.withoutEmail > 0
        ? [`${this.withoutEmail} user(s) have no email (rules.attributes.email): they cannot be customers.`]
        : [];
    this.batches(
      this.toGrant,
      (target, targetId, userIds) => ({ kind: 'grantAccess', target, targetId, userIds }),
      (place, n, what) => `${n} customer(s) get ${what} ${label(place)}`,
    );
    this.batches(
      this.toRevoke,
      (target, targetId, accountIds) => ({ kind: 'revokeAccess', target, targetId, accountIds }),
      (place, n, what) =>
        `${n} customer(s) no longer get ${what} ${label(place)} (${this.mirror ? 'the IdP does not give it to them' : 'granted by this connection'})`,
    );
    this.ops.sort((a, b) => a.phase - b.phase);
    return { operations: this.ops, warnings };
  }

  private newCustomer(u: PlannedUser, want: Set<Place>): void {
    const { rules, importUsers } = this.input;
    const userName = readAttribute(u.resource, rules.attributes.userName);
    const email =
      readAttribute(u.resource, rules.attributes.email) ?? (looksLikeEmail(userName) ? userName : undefined);
    if (!email) {
      this.withoutEmail++;
      return;
    }
    this.push(
      {
        kind: 'ensureCustomer',
        userId: u.id,
        email,
        displayName: readAttribute(u.resource, rules.attributes.displayName) ?? null,
        create: importUsers,
      },
      `user:${u.id}`,
      importUsers
        ? `${email} is not a customer yet: linked to the account the email has, else created`
        : `${email} is not linked yet: linked to the account the email has (user import is off: none is created)`,
    );
    for (const p of want) {
      add(this.toGrant, p, u.id);
      this.mirror?.pending.add(`${p}|${email.toLowerCase()}`);
    }
  }

  private keepFor(place: Place, accountId: string): void {
    this.mirror?.kept.add(`${place}|${accountId}`);
  }

  private push(op: Operation, subject: string, reason: string): void {
    this.ops.push({ op, phase: PHASES[op.kind], subject, reason });
  }

  /** Each place's ids in calls of up to CUSTOMER_BATCH. */
  private batches(
    m: Map<Place, string[]>,
    op: (target: CustomerTarget, targetId: string, ids: string[]) => Operation,
    why: (place: Place, n: number, what: string) => string,
  ): void {
    for (const [place, ids] of m) {
      const at = place.indexOf(':');
      const [target, targetId] = [place.slice(0, at) as CustomerTarget, place.slice(at + 1)];
      const what = target === 'desk' ? 'portal access to' : 'membership of';
      for (let i = 0; i < ids.length; i += CUSTOMER_BATCH) {
        const batch = ids.slice(i, i + CUSTOMER_BATCH);
        this.push(op(target, targetId, batch), place, why(place, batch.length, what));
      }
    }
  }
}
