import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { entraSettingsSchema } from '../../sources/entra/settings';
import { ldapSettingsSchema } from '../../sources/ldap/settings';

const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'at most 100 characters')
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters');
const scimProvider = z.enum(['entra', 'okta', 'miniorange', 'generic'], {
  errorMap: () => ({ message: 'must be one of entra, okta, miniorange, generic' }),
});
const clientSecret = z
  .string()
  .min(1, 'must not be empty')
  .max(1024, 'at most 1,024 characters')
  .refine((v) => v.trim() === v, 'must not start or end with spaces');
const bindPassword = z.string().min(1, 'must not be empty').max(1024, 'at most 1,024 characters');
/** What the connection provisions: Jira users, or JSM customers (portal access by group, no licence). */
const target = z
  .enum(['users', 'customers'], { errorMap: () => ({ message: 'must be "users" or "customers"' }) })
  .default('users');

/** POST /api/v1/connections: a SCIM connection (the IdP pushes), an Entra ID connection (we read Graph) or an LDAP / Active Directory one (we read the directory). */
export const createConnectionSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        name,
        kind: z.literal('scim'),
        provider: scimProvider.default('generic'),
        target,
        importUsers: z.boolean().default(true),
        importGroups: z.boolean().default(true),
      })
      .strict(),
    z
      .object({
        name,
        kind: z.literal('entra'),
        provider: z.literal('entra').default('entra'),
        target,
        importUsers: z.boolean().default(true),
        importGroups: z.boolean().default(true),
        entra: entraSettingsSchema,
        clientSecret,
      })
      .strict(),
    z
      .object({
        name,
        kind: z.literal('ldap'),
        target,
        importUsers: z.boolean().default(true),
        importGroups: z.boolean().default(true),
        ldap: ldapSettingsSchema,
        /** The bind account's password (write-only); none for an anonymous bind. */
        bindPassword: bindPassword.optional(),
      })
      .strict(),
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union_discriminator'
        ? { message: 'must be "scim", "entra" or "ldap"' }
        : { message: ctx.defaultError },
  },
);

/** PATCH /api/v1/connections/{id}: kind and target cannot change; `entra` is merged over the stored settings, then validated whole. */
export const updateConnectionSchema = z
  .object({
    name: name.optional(),
    provider: scimProvider.optional(),
    importUsers: z.boolean().optional(),
    importGroups: z.boolean().optional(),
    entra: z.record(z.unknown()).optional(),
    clientSecret: clientSecret.optional(),
    ldap: z.record(z.unknown()).optional(),
    bindPassword: bindPassword.optional(),
  })
  .strict();

/** POST /api/v1/connections/{id}/test: the stored settings, or candidate ones merged over them. */
export const testConnectionSchema = z
  .object({
    entra: z.record(z.unknown()).optional(),
    clientSecret: clientSecret.optional(),
    ldap: z.record(z.unknown()).optional(),
    bindPassword: bindPassword.optional(),
  })
  .strict();

export type CreateConnection = z.infer<typeof createConnectionSchema>;
export type UpdateConnection = z.infer<typeof updateConnectionSchema>;
export type TestConnection = z.infer<typeof testConnectionSchema>;

/** POST /api/v1/connections/{id}/test-user: Test Sync of one directory user, by username (with candidate settings, as Test connection). */
export const testUserSchema = z
  .object({
    username: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(256, 'at most 256 characters')
      .refine((v) => !hasControlCharacters(v), 'must not contain control characters'),
    ldap: z.record(z.unknown()).optional(),
    bindPassword: bindPassword.optional(),
  })
  .strict();

export type TestUser = z.infer<typeof testUserSchema>;
