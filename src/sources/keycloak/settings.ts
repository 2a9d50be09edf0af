import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { scheduleMinutesSchema } from '../schedule';

/** The realm-management roles the service account needs (Clients → the client → Service account roles). */
export const KEYCLOAK_ROLES = ['view-users', 'view-events'] as const;

const realmName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(255, 'at most 255 characters')
  .refine((v) => !hasControlCharacters(v) && !/[/\\?#%]/.test(v), 'must be a realm name (no / \\ ? # %)');

/** A group chosen by its path (/Engineering/Platform) or its id. */
const groupKey = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(1000, 'at most 1,000 characters')
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters')
  .refine(
    (v) => v.startsWith('/') || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
    "must be a group's path (/Engineering/Platform) or id",
  );

export const keycloakScopeSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('realm') }).strict(),
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
        ? { message: 'must be one of realm, groups' }
        : { message: ctx.defaultError },
  },
);

/** The server's URL (https://sso.example.com, or with the /auth of Keycloak before 17): https, no query. */
const serverUrl = z
  .string()
  .trim()
  .max(300, 'at most 300 characters')
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, "must be the Keycloak server's https URL, such as https://sso.example.com")
  .refine(
    (v) => !/\/(realms|admin)(\/|$)/.test(new URL(v).pathname),
    'must be the server URL, without /realms/… or /admin/…',
  )
  .transform((v) => {
    const u = new URL(v);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  });

/** The Keycloak part of a connection (everything but the client secret), as stored and returned. */
export const keycloakSettingsSchema = z
  .object({
    serverUrl,
    /** The realm whose users and groups are read. */
    realm: realmName,
    /** The realm of the client, when not the data's (master, holding the realm's management roles). */
    clientRealm: realmName.optional(),
    /** The confidential client with service accounts enabled. */
    clientId: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(255, 'at most 255 characters')
      .refine((v) => !hasControlCharacters(v), 'must not contain control characters'),
    scope: keycloakScopeSchema.default({ kind: 'realm' }),
    /** Which Keycloak value is the Jira username: the username, or the email. */
    usernameAttribute: z
      .enum(['username', 'email'], { errorMap: () => ({ message: 'must be username or email' }) })
      .default('username'),
    /** What the rules see as a group's name: its name, or its path (subgroups' names repeat under other parents). */
    groupName: z.enum(['name', 'path'], { errorMap: () => ({ message: 'must be name or path' }) }).default('name'),
    scheduleMinutes: scheduleMinutesSchema,
    /** A scheduled read is full once the last full read is this old (admin events are a hint, a full read the truth). */
    fullReadEveryHours: z.number().int().min(1, 'at least 1').max(168, 'at most 168 (a week)').default(24),
  })
  .strict();

export type KeycloakSettings = z.infer<typeof keycloakSettingsSchema>;
