import crypto from 'node:crypto';

export type Obj = Record<string, unknown>;

export interface FakeOktaUser {
  id: string;
  status: string;
  transitioningToStatus: string | null;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  type: { id: string };
  profile: Obj & { login: string; email: string; firstName: string | null; lastName: string | null };
}

export interface FakeOktaGroup {
  id: string;
  type: 'OKTA_GROUP' | 'APP_GROUP' | 'BUILT_IN';
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  profile: { name: string; description: string | null };
  members: Set<string>;
}

export interface FakeOktaApp {
  id: string;
  label: string;
  /** Assigned users: directly (USER) or through an assigned group (GROUP). */
  users: Map<string, 'USER' | 'GROUP'>;
  groups: Set<string>;
}

/** An answer the fake gives instead of a success. */
export class OktaHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`Okta ${status}`);
  }
}

/** Okta's error body (ModelError). */
export function oktaError(status: number, code: string, summary: string, causes: string[] = []): OktaHttpError {
  return new OktaHttpError(status, {
    errorCode: code,
    errorSummary: summary,
    errorLink: code,
    errorId: `oae${crypto.randomBytes(10).toString('base64url')}`,
    errorCauses: causes.map((errorSummary) => ({ errorSummary })),
  });
}

export const invalid = (what: string) => oktaError(400, 'E0000001', 'Api validation failed: ' + what, [what]);
export const notFound = (what: string) => oktaError(404, 'E0000007', `Not found: Resource not found: ${what}`);

/** An Okta id: a prefix and 17 characters. */
export function oktaId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = prefix;
  for (let i = 0; i < 17; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}

/**
 * Okta's filter syntax as the fake knows it: clauses `<property> <op> "<value>"` joined by `and`
 * (before `or`), no parentheses; each property names the operators it takes. A property or an
 * operator outside those is refused 400, as Okta does.
 */
export function parseFilter(
  text: string,
  props: Record<string, { ops: string[]; get: (o: Obj) => unknown }>,
): (o: Obj) => boolean {
  const alternatives = text.split(/\s+or\s+/i).map((alt) =>
    alt.split(/\s+and\s+/i).map((clause) => {
      const m = /^\s*([A-Za-z.]+)\s+(eq|gt|ge|lt|le)\s+"([^"]*)"\s*$/.exec(clause);
      if (!m) throw invalid(`filter: ${clause.trim()} is not a supported expression`);
      const [, prop, op, value] = m;
      const p = props[prop];
      if (!p) throw invalid(`filter: ${prop} cannot be filtered on`);
      if (!p.ops.includes(op)) throw invalid(`filter: ${prop} does not support ${op}`);
      return (o: Obj) => {
        const v = p.get(o);
        if (op === 'eq') return (typeof v === 'string' ? v : '').toLowerCase() === value.toLowerCase();
        const [a, b] = [Date.parse(String(v)), Date.parse(value)];
        if (Number.isNaN(b)) throw invalid(`filter: ${value} is not a date`);
        return op === 'gt' ? a > b : op === 'ge' ? a >= b : op === 'lt' ? a < b : a <= b;
      };
    }),
  );
  return (o) => alternatives.some((all) => all.every((c) => c(o)));
}

const DATES = ['eq', 'gt', 'ge', 'lt', 'le'];

/** The properties `GET /api/v1/users?filter=` takes: status, lastUpdated (dates too), id and four profile fields. */
export const USER_FILTER = {
  status: { ops: ['eq'], get: (u: Obj) => u.status },
  lastUpdated: { ops: DATES, get: (u: Obj) => u.lastUpdated },
  id: { ops: ['eq'], get: (u: Obj) => u.id },
  'profile.login': { ops: ['eq'], get: (u: Obj) => (u.profile as Obj).login },
  'profile.email': { ops: ['eq'], get: (u: Obj) => (u.profile as Obj).email },
  'profile.firstName': { ops: ['eq'], get: (u: Obj) => (u.profile as Obj).firstName },
  'profile.lastName': { ops: ['eq'], get: (u: Obj) => (u.profile as Obj).lastName },
};

/** The properties `GET /api/v1/groups?filter=` takes. */
export const GROUP_FILTER = {
  id: { ops: ['eq'], get: (g: Obj) => g.id },
  type: { ops: ['eq'], get: (g: Obj) => g.type },
  lastUpdated: { ops: DATES, get: (g: Obj) => g.lastUpdated },
  lastMembershipUpdated: { ops: DATES, get: (g: Obj) => g.lastMembershipUpdated },
};

/** The properties `GET /api/v1/logs?filter=` takes (the fake knows these). */
export const LOG_FILTER = {
  eventType: { ops: ['eq'], get: (e: Obj) => e.eventType },
  'target.id': { ops: ['eq'], get: (e: Obj) => ((e.target as Obj[] | undefined) ?? []).map((t) => t.id).join(' ') },
};

/** A user as the API gives it (`_links` included; credentials left out). */
export function userJson(u: FakeOktaUser, base: string): Obj {
  const { ...plain } = u;
  return { ...plain, profile: { ...u.profile }, _links: { self: { href: `${base}/api/v1/users/${u.id}` } } };
}

export function groupJson(g: FakeOktaGroup, base: string): Obj {
  const { members: _m, ...plain } = g;
  return {
    ...plain,
    objectClass: ['okta:user_group'],
    profile: { ...g.profile },
    _links: { self: { href: `${base}/api/v1/groups/${g.id}` } },
  };
}
