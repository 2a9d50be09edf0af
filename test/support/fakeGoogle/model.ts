import crypto from 'node:crypto';

/* The fake Google Workspace's directory: users, groups, members, Admin console events, and search. */

export type Obj = Record<string, unknown>;

export interface FakeGoogleUser {
  id: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string; fullName: string };
  suspended: boolean;
  archived: boolean;
  isAdmin: boolean;
  isDelegatedAdmin: boolean;
  orgUnitPath: string;
  aliases: string[];
  externalIds: Array<{ value: string; type: string }>;
  organizations: Array<{ title?: string; department?: string; primary?: boolean }>;
  customSchemas: Record<string, Record<string, unknown>>;
  deletionTime?: string;
  creationTime: string;
}

export interface FakeGoogleGroup {
  id: string;
  email: string;
  name: string;
  description: string;
  aliases: string[];
  /** Direct members by id: users and groups. */
  members: Map<string, { type: 'USER' | 'GROUP'; role: 'MEMBER' | 'MANAGER' | 'OWNER' }>;
}

/** An error the fake answers with: Google's JSON error body (or OAuth's for the token endpoint). */
export class GoogleHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** The Admin SDK's error body ({error: {code, message, errors: [{domain, reason, message}]}}); 401, 429 and the scope 403 carry a `status`. */
export function apiError(
  status: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
  withStatus?: string,
): GoogleHttpError {
  return new GoogleHttpError(
    status,
    {
      error: {
        code: status,
        message,
        errors: [{ message, domain: reason === 'authError' ? 'global' : 'global', reason }],
        ...(withStatus ? { status: withStatus } : {}),
      },
    },
    headers,
  );
}

export const invalid = (message = 'Invalid Input') => apiError(400, 'invalid', message);
export const notFound = (what: string) => apiError(404, 'notFound', `Resource Not Found: ${what}`);

/** A user as the Admin SDK shows it under a projection (custom schemas only with `full` or named in a `custom` mask). */
export function userJson(u: FakeGoogleUser, projection: string, mask: string[]): Obj {
  const schemas =
    projection === 'full'
      ? u.customSchemas
      : projection === 'custom'
        ? Object.fromEntries(Object.entries(u.customSchemas).filter(([k]) => mask.includes(k)))
        : undefined;
  return {
    kind: 'admin#directory#user',
    id: u.id,
    etag: `"${crypto.createHash('sha1').update(JSON.stringify(u)).digest('base64url')}"`,
    primaryEmail: u.primaryEmail,
    name: u.name,
    isAdmin: u.isAdmin,
    isDelegatedAdmin: u.isDelegatedAdmin,
    suspended: u.suspended,
    ...(u.suspended ? { suspensionReason: 'ADMIN' } : {}),
    archived: u.archived,
    orgUnitPath: u.orgUnitPath,
    customerId: 'C0fake42x',
    creationTime: u.creationTime,
    emails: [{ address: u.primaryEmail, primary: true }, ...u.aliases.map((a) => ({ address: a }))],
    ...(u.aliases.length ? { aliases: u.aliases } : {}),
    ...(u.externalIds.length ? { externalIds: u.externalIds } : {}),
    ...(u.organizations.length ? { organizations: u.organizations } : {}),
    ...(schemas && Object.keys(schemas).length ? { customSchemas: schemas } : {}),
    ...(u.deletionTime ? { deletionTime: u.deletionTime } : {}),
  };
}

export function groupJson(g: FakeGoogleGroup): Obj {
  return {
    kind: 'admin#directory#group',
    id: g.id,
    etag: `"${crypto
      .createHash('sha1')
      .update(g.id + g.name + g.email)
      .digest('base64url')}"`,
    email: g.email,
    name: g.name,
    description: g.description,
    // int64 as a string, direct members only, as the discovery document types it
    directMembersCount: String(g.members.size),
    adminCreated: true,
    ...(g.aliases.length ? { aliases: g.aliases } : {}),
  };
}

/** The fields of Google's user search the fake knows (guides/search-users); any other field is refused. */
const TEXT_FIELDS: Record<string, (u: FakeGoogleUser) => string[]> = {
  email: (u) => [u.primaryEmail, ...u.aliases],
  givenName: (u) => [u.name.givenName],
  familyName: (u) => [u.name.familyName],
  name: (u) => [`${u.name.givenName} ${u.name.familyName}`],
  externalId: (u) => u.externalIds.map((e) => e.value),
  orgTitle: (u) => u.organizations.map((o) => o.title ?? ''),
  orgDepartment: (u) => u.organizations.map((o) => o.department ?? ''),
};
const BOOL_FIELDS: Record<string, (u: FakeGoogleUser) => boolean> = {
  isAdmin: (u) => u.isAdmin,
  isDelegatedAdmin: (u) => u.isDelegatedAdmin,
  isSuspended: (u) => u.suspended,
  isArchived: (u) => u.archived,
};

/** A users.list `query` as a predicate; 400 "Invalid Input" for a clause Google would refuse. */
export function userQuery(query: string | null): (u: FakeGoogleUser) => boolean {
  if (!query) return () => true;
  const clauses = query.match(/[^\s']+(?:'[^']*')?/g) ?? [];
  const tests = clauses.map((clause) => {
    const m = /^([A-Za-z][\w.]*)(=|:)(.*)$/.exec(clause);
    if (!m) throw invalid(`Invalid Input: ${clause}`);
    const [, field, op, raw] = m;
    const value = raw.replace(/^'(.*)'$/, '$1').toLowerCase();
    if (BOOL_FIELDS[field]) {
      if (op !== '=' || !['true', 'false'].includes(value)) throw invalid(`Invalid Input: ${clause}`);
      return (u: FakeGoogleUser) => BOOL_FIELDS[field](u) === (value === 'true');
    }
    if (field === 'orgUnitPath') {
      if (op !== '=') throw invalid(`Invalid Input: ${clause}`);
      return (u: FakeGoogleUser) => u.orgUnitPath.toLowerCase() === value;
    }
    const dot = field.indexOf('.');
    const values = TEXT_FIELDS[field]
      ? TEXT_FIELDS[field]
      : dot > 0
        ? (u: FakeGoogleUser) => {
            const v = u.customSchemas[field.slice(0, dot)]?.[field.slice(dot + 1)];
            return v === undefined ? [] : [typeof v === 'string' ? v : JSON.stringify(v)];
          }
        : undefined;
    if (!values) throw invalid(`Invalid Input: ${clause}`);
    const prefix = op === ':' && value.endsWith('*') ? value.slice(0, -1) : undefined;
    return (u: FakeGoogleUser) =>
      values(u).some((v) => {
        const s = v.toLowerCase();
        return prefix !== undefined ? s.startsWith(prefix) : op === '=' ? s === value : s.includes(value);
      });
  });
  return (u) => tests.every((t) => t(u));
}

/** One Admin console event (Reports API `Activity`). */
export function activity(
  type: 'USER_SETTINGS' | 'GROUP_SETTINGS',
  name: string,
  params: Record<string, string>,
  at: Date,
  actor = 'admin@example.com',
): Obj {
  return {
    kind: 'audit#activity',
    id: {
      time: at.toISOString(),
      uniqueQualifier: String(BigInt.asIntN(64, BigInt(`0x${crypto.randomBytes(8).toString('hex')}`))),
      applicationName: 'admin',
      customerId: 'C0fake42x',
    },
    etag: `"${crypto.randomBytes(6).toString('hex')}"`,
    actor: { email: actor, profileId: '100000000000000000001', callerType: 'USER' },
    ipAddress: '203.0.113.7',
    events: [
      {
        type,
        name,
        parameters: Object.entries(params).map(([n, value]) => ({ name: n, value })),
      },
    ],
  };
}
