import { readAttribute } from './attributes';
import { PHASES, type CustomerTarget, type Link, type Operation, type Plan, type PlannedOperation } from './plan';
import type { PlannedUser } from './plan';
import type { Rules } from './rules';

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
  const { rules } = input;
  const c = rules.customers;
  const ops: PlannedOperation[] = [];
  const warnings: string[] = [];
  const push = (op: Operation, subject: string, reason: string) =>
    ops.push({ op, phase: PHASES[op.kind], subject, reason });

  const forAll: Place[] = [
    ...c.serviceDesksForAll.map((id): Place => `desk:${id}`),
    ...c.organizationsForAll.map((id): Place => `org:${id}`),
  ];
  const byGroup = new Map<string, Place[]>();
  for (const m of c.groups) {
    const places = byGroup.get(m.idpGroup.toLowerCase()) ?? [];
    places.push(...m.serviceDesks.map((id): Place => `desk:${id}`), ...m.organizations.map((id): Place => `org:${id}`));
    byGroup.set(m.idpGroup.toLowerCase(), places);
  }
  /** The places this connection granted, by account. */
  const granted = new Map<string, Place[]>();
  for (const k of input.grants) {
    const at = k.lastIndexOf('|');
    const account = k.slice(at + 1);
    const list = granted.get(account) ?? [];
    list.push(k.slice(0, at) as Place);
    granted.set(account, list);
  }

  const toGrant = new Map<Place, string[]>(); // place → user ids
  const toRevoke = new Map<Place, string[]>(); // place → account ids
  const add = <T>(m: Map<Place, T[]>, place: Place, v: T) => {
    const list = m.get(place);
    if (list) list.push(v);
    else m.set(place, [v]);
  };
  const withdraw = (accountId: string, keep: Set<Place>) => {
    for (const place of granted.get(accountId) ?? []) if (!keep.has(place)) add(toRevoke, place, accountId);
  };
  /** Mirroring: the accounts the IdP gives each place, and the emails of users about to be linked there. */
  const mirror = !c.keepExisting && input.current ? { kept: new Set<string>(), pending: new Set<string>() } : undefined;
  const keepFor = (place: Place, accountId: string) => mirror?.kept.add(`${place}|${accountId}`);

  let withoutEmail = 0;
  for (const u of input.users) {
    const link = input.links.get(u.id);
    if (!u.active) {
      if (link && c.deprovision === 'removeAccess') withdraw(link.accountId, new Set());
      else if (link) for (const p of granted.get(link.accountId) ?? []) keepFor(p, link.accountId);
      continue;
    }
    const want = new Set<Place>(forAll);
    for (const g of u.groups) for (const p of byGroup.get(g.toLowerCase()) ?? []) want.add(p);
    if (!link) {
      const email =
        readAttribute(u.resource, rules.attributes.email) ??
        (looksLikeEmail(readAttribute(u.resource, rules.attributes.userName))
          ? readAttribute(u.resource, rules.attributes.userName)
          : undefined);
      if (!email) {
        withoutEmail++;
        continue;
      }
      push(
        {
          kind: 'ensureCustomer',
          userId: u.id,
          email,
          displayName: readAttribute(u.resource, rules.attributes.displayName) ?? null,
          create: input.importUsers,
        },
        `user:${u.id}`,
        input.importUsers
          ? `${email} is not a customer yet: linked to the account the email has, else created`
          : `${email} is not linked yet: linked to the account the email has (user import is off: none is created)`,
      );
      for (const p of want) {
        add(toGrant, p, u.id);
        mirror?.pending.add(`${p}|${email.toLowerCase()}`);
      }
      continue;
    }
    for (const p of want) keepFor(p, link.accountId);
    const has = new Set(granted.get(link.accountId) ?? []);
    for (const p of want) if (!has.has(p)) add(toGrant, p, u.id);
    withdraw(link.accountId, want);
  }
  if (c.deprovision === 'removeAccess')
    for (const id of input.departed) {
      const link = input.links.get(id);
      if (link) withdraw(link.accountId, new Set());
    }
  if (mirror)
    for (const [place, members] of input.current!) {
      const revoking = new Set(toRevoke.get(place) ?? []);
      for (const m of members) {
        if (mirror.kept.has(`${place}|${m.accountId}`) || revoking.has(m.accountId)) continue;
        // Someone about to be linked to this account (found by email) keeps it.
        if (m.email && mirror.pending.has(`${place}|${m.email.toLowerCase()}`)) continue;
        add(toRevoke, place, m.accountId);
        revoking.add(m.accountId);
      }
    }
  if (withoutEmail > 0)
    warnings.push(`${withoutEmail} user(s) have no email (rules.attributes.email): they cannot be customers.`);

  /** Each place's ids in calls of up to CUSTOMER_BATCH. */
  const batches = (
    m: Map<Place, string[]>,
    op: (target: CustomerTarget, targetId: string, ids: string[]) => Operation,
    why: (place: Place, n: number, what: string) => string,
  ) => {
    for (const [place, ids] of m) {
      const at = place.indexOf(':');
      const [target, targetId] = [place.slice(0, at) as CustomerTarget, place.slice(at + 1)];
      const what = target === 'desk' ? 'portal access to' : 'membership of';
      for (let i = 0; i < ids.length; i += CUSTOMER_BATCH) {
        const batch = ids.slice(i, i + CUSTOMER_BATCH);
        push(op(target, targetId, batch), place, why(place, batch.length, what));
      }
    }
  };
  batches(
    toGrant,
    (target, targetId, userIds) => ({ kind: 'grantAccess', target, targetId, userIds }),
    (place, n, what) => `${n} customer(s) get ${what} ${label(place)}`,
  );
  batches(
    toRevoke,
    (target, targetId, accountIds) => ({ kind: 'revokeAccess', target, targetId, accountIds }),
    (place, n, what) =>
      `${n} customer(s) no longer get ${what} ${label(place)} (${mirror ? 'the IdP does not give it to them' : 'granted by this connection'})`,
  );
  ops.sort((a, b) => a.phase - b.phase);
  return { operations: ops, warnings };
}
