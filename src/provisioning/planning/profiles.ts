import { readAttribute } from './attributes';
import { PROFILE_KEY, type Link, type PlannedUser, type Profile } from './types';
import type { PlanContext } from './context';

/**
 * The profile Jira cannot set on create — display name, job title, department — written through
 * the org API when it differs from what was last written. Without an org key, one warning for all.
 */
export function planProfile(ctx: PlanContext, u: PlannedUser, link: Link | undefined): void {
  const { attributes } = ctx.rules;
  const name = readAttribute(u.resource, attributes.displayName);
  const jobTitle = attributes.jobTitle ? readAttribute(u.resource, attributes.jobTitle) : undefined;
  const department = attributes.department ? readAttribute(u.resource, attributes.department) : undefined;
  const extended = {
    ...(jobTitle === undefined ? {} : { job_title: jobTitle }),
    ...(department === undefined ? {} : { department }),
  };
  const wanted: Profile = {
    ...(name === undefined ? {} : { name }),
    ...(Object.keys(extended).length ? { extended_profile: extended } : {}),
  };
  if (Object.keys(wanted).length === 0) return;
  if (JSON.stringify(link?.properties[PROFILE_KEY]) === JSON.stringify(wanted)) return;
  // A new account's profile is Jira's own until written; an unwritten existing one is written once.
  if (!ctx.input.profiles) {
    ctx.profilesWithoutKey++;
    return;
  }
  ctx.push(
    { kind: 'updateProfile', userId: u.id, profile: wanted },
    `user:${u.id}`,
    `profile from the IdP: ${[name !== undefined && 'display name', jobTitle !== undefined && 'job title', department !== undefined && 'department'].filter(Boolean).join(', ')}`,
  );
}

/** Custom attributes → Jira user properties, where the value differs from what was last written. */
export function planProperties(ctx: PlanContext, u: PlannedUser, link: Link | undefined): void {
  for (const c of ctx.rules.attributes.custom) {
    const value = readAttribute(u.resource, c.from);
    if (value === undefined || JSON.stringify(link?.properties[c.propertyKey]) === JSON.stringify({ value })) continue;
    ctx.push(
      { kind: 'setProperty', userId: u.id, key: c.propertyKey, value: { value } },
      `user:${u.id}`,
      `custom attribute ${c.from} → user property ${c.propertyKey}`,
    );
  }
}

/** The one warning for every profile not written for want of an organization API key. */
export function profilesWarning(ctx: PlanContext): void {
  const n = ctx.profilesWithoutKey;
  if (n > 0)
    ctx.warnings.push(
      `${n} user${n === 1 ? "'s" : "s'"} display name, job title or department from the IdP not written to Jira: Jira updates profiles only through the organization API — save an organization API key with the site credentials.`,
    );
}
