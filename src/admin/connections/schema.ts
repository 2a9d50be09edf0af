import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { PULL_KINDS, PUSH_KIND, SOURCE_KINDS } from '../../sources/registry';
import type { SourceKind } from '../../sources/source';

const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'at most 100 characters')
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters');
const scimProvider = z.enum(['entra', 'okta', 'miniorange', 'generic'], {
  errorMap: () => ({ message: 'must be one of entra, okta, miniorange, generic' }),
});
/** What the connection provisions: Jira users, or JSM customers (portal access by group, no licence). */
const target = z
  .enum(['users', 'customers'], { errorMap: () => ({ message: 'must be "users" or "customers"' }) })
  .default('users');

/** The fields every connection has on create, whatever its kind. */
const common = {
  name,
  target,
  importUsers: z.boolean().default(true),
  importGroups: z.boolean().default(true),
};

const scimCreate = z
  .object({ ...common, kind: z.literal(PUSH_KIND), provider: scimProvider.default('generic') })
  .strict();

/** A pull source's create: the common fields, its settings and its secret (sources/registry.ts). */
const pullCreate = (k: SourceKind) =>
  z
    .object({
      ...common,
      kind: z.literal(k.kind),
      ...k.createExtras,
      [k.settingsField]: k.settingsSchema,
      [k.secretField]: k.secretSchema,
    })
    .strict();

const KINDS = [PUSH_KIND, ...PULL_KINDS];

/** POST /api/v1/connections: a SCIM connection (the IdP pushes), or one of a pull source (we read the IdP: Entra ID, LDAP…). */
export const createConnectionSchema: z.ZodType<CreateConnection, z.ZodTypeDef, unknown> = z.discriminatedUnion(
  'kind',
  [scimCreate, ...PULL_KINDS.map((k) => pullCreate(SOURCE_KINDS[k]))],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union_discriminator'
        ? {
            message: `must be ${KINDS.slice(0, -1)
              .map((k) => `"${k}"`)
              .join(', ')} or "${KINDS.at(-1)}"`,
          }
        : { message: ctx.defaultError },
  },
);

/** Each pull source's settings (a patch, merged over what is stored) and secret, all optional. */
const pullFields = (kinds: SourceKind[]) =>
  Object.fromEntries(
    kinds.flatMap((k) => [
      [k.settingsField, z.record(z.unknown()).optional()],
      [k.secretField, k.secretSchema.optional()],
    ]),
  );
const ALL_SOURCES: SourceKind[] = PULL_KINDS.map((k) => SOURCE_KINDS[k]);

/** PATCH /api/v1/connections/{id}: kind and target cannot change; a source's settings are merged over the stored ones, then validated whole. */
export const updateConnectionSchema: z.ZodType<UpdateConnection, z.ZodTypeDef, unknown> = z
  .object({
    name: name.optional(),
    provider: scimProvider.optional(),
    importUsers: z.boolean().optional(),
    importGroups: z.boolean().optional(),
    ...pullFields(ALL_SOURCES),
  })
  .strict();

/** POST /api/v1/connections/{id}/test: the stored settings, or candidate ones merged over them. */
export const testConnectionSchema: z.ZodType<TestConnection, z.ZodTypeDef, unknown> = z
  .object(pullFields(ALL_SOURCES))
  .strict();

/** A connection's body with a pull source's fields, read by the source's field names. */
type WithSourceFields<T> = T & Record<string, unknown>;

export type CreateConnection = WithSourceFields<{
  name: string;
  kind: string;
  provider?: string;
  target: 'users' | 'customers';
  importUsers: boolean;
  importGroups: boolean;
}>;
export type UpdateConnection = WithSourceFields<{
  name?: string;
  provider?: string;
  importUsers?: boolean;
  importGroups?: boolean;
}>;
export type TestConnection = WithSourceFields<object>;

/** POST /api/v1/connections/{id}/test-user: Test Sync of one directory user, by username (with candidate settings, as Test connection). */
export const testUserSchema: z.ZodType<TestUser, z.ZodTypeDef, unknown> = z
  .object({
    username: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(256, 'at most 256 characters')
      .refine((v) => !hasControlCharacters(v), 'must not contain control characters'),
    ...pullFields(ALL_SOURCES.filter((k) => k.probesUsers)),
  })
  .strict();

export type TestUser = WithSourceFields<{ username: string }>;
