import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { scheduleMinutesSchema } from '../schedule';

/** The read-only scopes a connection asks for: paste them into the Admin console's Domain-wide delegation screen. */
export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.reports.audit.readonly',
] as const;

const email = z.string().trim().toLowerCase().email('must be an email address such as admin@example.com');

/** An organizational unit's path: `/`, `/Sales`, `/Sales/EMEA`. */
const orgUnitPath = z
  .string()
  .trim()
  .max(500, 'at most 500 characters')
  .regex(/^\/([^/'\\]+(\/[^/'\\]+)*)?$/, "must be an organizational unit's path such as /Sales/EMEA")
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters')
  .transform((v) => v.replace(/\/+$/, '') || '/');

/** A group by its email address (or an alias of it). */
const groupKey = email;

export const googleScopeSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('domain') }).strict(),
    z
      .object({
        kind: z.literal('orgUnits'),
        paths: z.array(orgUnitPath).min(1, 'choose at least one organizational unit').max(50, 'at most 50'),
        includeSubUnits: z.boolean().default(true),
      })
      .strict(),
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
        ? { message: 'must be one of domain, orgUnits, groups' }
        : { message: ctx.defaultError },
  },
);

/** Google's search syntax for users (`isSuspended=false orgTitle:Engineer`): clauses joined by spaces. */
const userQuery = z
  .string()
  .trim()
  .max(1000, 'at most 1,000 characters')
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters')
  .refine((v) => (v.match(/'/g) ?? []).length % 2 === 0, "has an unclosed 'string'");

/** A custom schema's name (Admin console → Directory → Users → Manage custom attributes). */
const schemaName = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,99}$/, 'must be a custom schema name such as EmployeeData');

/** The Google Workspace part of a connection (everything but the service account's key), as stored and returned. */
export const googleSettingsSchema = z
  .object({
    /** `my_customer` (the impersonated admin's own account) or the account's customer ID (C01234abc). */
    customerId: z
      .string()
      .trim()
      .regex(
        /^(my_customer|C[0-9a-z]{5,20})$/i,
        'must be my_customer or a customer ID such as C03az79cb, without spaces',
      )
      .default('my_customer'),
    /** The super administrator (or delegated admin with user and group reading) the service account acts as. */
    adminEmail: email,
    scope: googleScopeSchema.default({ kind: 'domain' }),
    userQuery: userQuery.optional(),
    /** Which Google value is the Jira username: the primary email, or the first employee ID. */
    usernameAttribute: z
      .enum(['primaryEmail', 'employeeId'], { errorMap: () => ({ message: 'must be primaryEmail or employeeId' }) })
      .default('primaryEmail'),
    /** What the rules see as a group's name: its name, or its email address. */
    groupName: z.enum(['name', 'email'], { errorMap: () => ({ message: 'must be name or email' }) }).default('name'),
    /** Custom schemas read into custom attributes (`<schema>.<field>`). */
    customSchemas: z.array(schemaName).max(20, 'at most 20 schemas').default([]),
    scheduleMinutes: scheduleMinutesSchema,
    /** A scheduled read is full once the last full read is this old (the Reports API is a hint, a full read the truth). */
    fullReadEveryHours: z.number().int().min(1, 'at least 1').max(168, 'at most 168 (a week)').default(24),
    /** The service account's public facts, taken from its key when the key is saved (never the private key). */
    serviceAccount: z
      .object({ clientEmail: z.string(), clientId: z.string(), keyId: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type GoogleSettings = z.infer<typeof googleSettingsSchema>;
export type GoogleScope = GoogleSettings['scope'];
