import { credentialRules, OPERATIONS, type Credential } from './operations';
import type { Condition } from './operations/kind';
import type { Operation, Plan } from './planning/types';

export type { Credential } from './operations';

/*
 * Which operations need which credential (docs/jira.md says why): each kind's module says it
 * (operations/<kind>.ts, `needs`), read here two ways — on an operation in hand (`needs`: the
 * planner holds a run that needs the site-admin token the site has not stored) and as SQL on
 * stored ones (`needsSql`: the executor parks, in one statement, a run's pending operations that
 * need a credential one of them found missing).
 */

/** Whether this operation needs the credential. */
export function needs(credential: Credential, op: Operation): boolean {
  const rule = OPERATIONS[op.kind].needs[credential];
  if (!rule) return false;
  if (rule === 'always') return true;
  return rule.every((c) => {
    const v = c.path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], op);
    if ('equals' in c) return v === c.equals;
    if (c.is === 'true') return v === true;
    if (c.is === 'absent') return !v;
    return Array.isArray(v) && v.length > 0;
  });
}

/** The same rule as a SQL condition on `kind` and `payload` (constant: no input reaches it). */
export function needsSql(credential: Credential): string {
  const text = (path: string[]) =>
    `payload${path
      .slice(0, -1)
      .map((k) => `->'${k}'`)
      .join('')}->>'${path[path.length - 1]}'`;
  const json = (path: string[]) => `payload${path.map((k) => `->'${k}'`).join('')}`;
  const sql = (c: Condition) => {
    if ('equals' in c) return `${text(c.path)} = '${c.equals}'`;
    if (c.is === 'true') return `${text(c.path)} = 'true'`;
    if (c.is === 'absent') return `${text(c.path)} IS NULL`;
    return `jsonb_array_length(${json(c.path)}) > 0`;
  };
  return credentialRules(credential)
    .map(([kind, rule]) =>
      rule === 'always' ? `kind = '${kind}'` : `(kind = '${kind}' AND ${rule.map(sql).join(' AND ')})`,
    )
    .join(' OR ');
}

/**
 * What a plan holds back for want of a site-admin API token, said in one sentence; undefined when it
 * needs none. Nothing of such a plan is queued: thousands of writes parked one by one say no more.
 */
export function heldForSiteToken(plan: Plan): string | undefined {
  const held = plan.operations.filter((o) => needs('site-admin-token', o.op));
  if (held.length === 0) return undefined;
  const count = (kind: Operation['kind']) => held.filter((o) => o.op.kind === kind).length;
  const parts = [
    [count('ensureUser'), 'user(s) to create'],
    [count('createGroup'), 'group(s) to create'],
    [count('addMember') + count('removeMember'), 'membership change(s)'],
    [count('deprovision') + count('reactivate'), 'other user change(s)'],
    [count('revokeAccess'), 'withdrawal(s) of customer access'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${String(n)} ${String(what)}`);
  return `needs a site-admin API token: ${held.length} change(s) wait for it (${parts.join(', ')}). Save one under Site credentials; the next run applies them.`;
}
