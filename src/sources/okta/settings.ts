import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { scheduleMinutesSchema } from '../schedule';

/** The read-only scopes the service app is granted (Okta Admin Console → the app → Okta API Scopes). */
export const OKTA_SCOPES = ['okta.users.read', 'okta.groups.read', 'okta.apps.read', 'okta.logs.read'] as const;

/** An Okta id: a group's (00g…), an app's (0oa…), a user's (00u…): 20 characters. */
const oktaId = (prefix: string, what: string) =>
  z
    .string()
    .trim()
    .regex(new RegExp(`^${prefix}[A-Za-z0-9]{17}$`), `must be ${what} id such as ${prefix}1a2b3c4d5e6f7g8h9`);

/** A group chosen by its id (00g…) or its exact name. */
const groupKey = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(255, 'at most 255 characters')
  .refine((v) => !hasControlCharacters(v) && !v.includes('"'), 'must not contain control characters or "');

export const oktaScopeSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('org') }).strict(),
    z.object({ kind: z.literal('app'), appId: oktaId('0oa', 'an application') }).strict(),
    z
      .object({
        kind: z.literal('groups'),
        groups: z.array(groupKey).min(1, 'choose at least one group').max(50, 'at most 50 groups'),
      })
      .strict(),
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union_discriminator'
        ? { message: 'must be one of org, app, groups' }
        : { message: ctx.defaultError },
  },
);

/** The org's URL as Okta gives it (https://acme.okta.com): its origin only, https. */
const orgUrl = z
  .string()
  .trim()
  .max(300, 'at most 300 characters')
  .refine((v) => {
    try {
      const u = new URL(v);
      return (
        u.protocol === 'https:' && !u.username && !u.password && (u.pathname === '/' || u.pathname === '') && !u.search
      );
    } catch {
      return false;
    }
  }, "must be the Okta org's https URL, such as https://acme.okta.com (no path; not the -admin URL)")
  .refine(
    (v) => !/-admin\./i.test(new URL(v).hostname),
    'must be the org URL, not its -admin URL (https://acme.okta.com)',
  )
  .transform((v) => new URL(v).origin);

/** The Okta part of a connection (everything but its credential), as stored and returned. */
export const oktaSettingsSchema = z
  .object({
    orgUrl,
    /** The API service app's client ID, when the credential is its private key (OAuth 2.0). */
    clientId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{10,64}$/, 'must be the service app’s client ID such as 0oa1b2c3d4e5f6g7h8i9')
      .optional(),
    /** The key's id (`kid`) in the app's public keys, when the private key does not name it (a PEM). */
    keyId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be the key ID Okta shows beside the public key')
      .optional(),
    scope: oktaScopeSchema.default({ kind: 'org' }),
    /** Which Okta value is the Jira username: the login, or the email. */
    usernameAttribute: z
      .enum(['login', 'email'], { errorMap: () => ({ message: 'must be login or email' }) })
      .default('login'),
    scheduleMinutes: scheduleMinutesSchema,
    /** A scheduled read is full once the last full read is this old (the System Log is a hint, a full read the truth). */
    fullReadEveryHours: z.number().int().min(1, 'at least 1').max(168, 'at most 168 (a week)').default(24),
    /** What the saved credential is (from it, never from a patch): an API token, or a private key and its public half. */
    credential: z
      .object({
        method: z.enum(['apiToken', 'privateKey']),
        keyId: z.string().optional(),
        publicJwk: z.record(z.unknown()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type OktaSettings = z.infer<typeof oktaSettingsSchema>;
export type OktaScope = OktaSettings['scope'];
