import { z } from 'zod';
import { hasControlCharacters } from '../../text';
import { scheduleMinutesSchema } from '../schedule';

/** Microsoft's national clouds: where to sign in and which Graph to read. */
export const CLOUDS = {
  global: { authorityHost: 'https://login.microsoftonline.com', graphUrl: 'https://graph.microsoft.com' },
  usgov: { authorityHost: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us' },
  china: { authorityHost: 'https://login.chinacloudapi.cn', graphUrl: 'https://microsoftgraph.chinacloudapi.cn' },
} as const;

export const USERNAME_ATTRIBUTES = [
  'userPrincipalName',
  'mail',
  'mailNickname',
  'onPremisesSamAccountName',
  'employeeId',
] as const;

const guid = z
  .string()
  .trim()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47',
  );
const tenant = z
  .string()
  .trim()
  .refine(
    (v) => guid.safeParse(v).success || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v),
    'must be the directory (tenant) ID, a GUID, or a verified domain such as contoso.onmicrosoft.com',
  );
/** A Graph property name: `department`, `extension_<appId>_costCenter`, `onPremisesExtensionAttributes/extensionAttribute1` is read as its parent. */
const graphProperty = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,119}$/,
    'must be a Graph user property name such as department or extension_<appId>_costCenter',
  );
const httpsUrl = z
  .string()
  .trim()
  .url('must be a URL')
  .refine((v) => v.startsWith('https://'), 'must be an https:// URL')
  .transform((v) => v.replace(/\/+$/, ''));
const odataFilter = z
  .string()
  .trim()
  .max(1000, 'at most 1,000 characters')
  .refine((v) => !hasControlCharacters(v), 'must not contain control characters')
  .refine((v) => (v.match(/'/g) ?? []).length % 2 === 0, "has an unclosed 'string'");

export const scopeSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('directory') }).strict(),
    z.object({ kind: z.literal('application'), servicePrincipalId: guid.optional(), appId: guid.optional() }).strict(),
    z
      .object({
        kind: z.literal('groups'),
        groupIds: z.array(guid).min(1, 'choose at least one group').max(50, 'at most 50 groups'),
      })
      .strict(),
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union_discriminator'
        ? { message: 'must be one of directory, application, groups' }
        : { message: ctx.defaultError },
  },
);

/** The Entra ID part of a connection (everything but the client secret), as stored and returned. */
export const entraSettingsSchema = z
  .object({
    tenantId: tenant,
    clientId: guid,
    cloud: z
      .enum(['global', 'usgov', 'china', 'custom'], {
        errorMap: () => ({ message: 'must be one of global, usgov, china, custom' }),
      })
      .default('global'),
    /** With cloud "custom": the authority host (e.g. https://login.microsoftonline.de) and Graph URL. */
    authorityHost: httpsUrl.optional(),
    graphUrl: httpsUrl
      .refine(
        (v) => new URL(v).pathname === '/' && !new URL(v).search,
        "must be Graph's root, such as https://graph.microsoft.de, without a path",
      )
      .optional(),
    usernameAttribute: graphProperty.default('userPrincipalName'),
    attributes: z.array(graphProperty).max(50, 'at most 50 attributes').default([]),
    scope: scopeSchema.default({ kind: 'directory' }),
    userFilter: odataFilter.optional(),
    scheduleMinutes: scheduleMinutesSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.scope.kind === 'application' && !!s.scope.servicePrincipalId === !!s.scope.appId) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['scope', 'servicePrincipalId'],
        message:
          "give the enterprise application's object ID (servicePrincipalId) or its application ID (appId), one of them",
      });
    }
    if (s.cloud === 'custom' && (!s.authorityHost || !s.graphUrl)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [s.authorityHost ? 'graphUrl' : 'authorityHost'],
        message: 'required with cloud "custom"',
      });
    }
    if (s.cloud !== 'custom' && (s.authorityHost || s.graphUrl)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [s.authorityHost ? 'authorityHost' : 'graphUrl'],
        message: 'only with cloud "custom"',
      });
    }
  });

export type EntraSettings = z.infer<typeof entraSettingsSchema>;

/** Where a connection signs in and which Graph it reads. */
export function endpointsOf(s: EntraSettings): { authority: string; graphUrl: string } {
  const c = s.cloud === 'custom' ? { authorityHost: s.authorityHost!, graphUrl: s.graphUrl! } : CLOUDS[s.cloud];
  return { authority: `${c.authorityHost}/${s.tenantId}`, graphUrl: c.graphUrl };
}

/** The Graph user properties a sync reads: the ones the rules map, the username attribute, and the selected extras. */
export function userSelect(s: EntraSettings): string[] {
  return [
    ...new Set([
      'id',
      'userPrincipalName',
      'mail',
      'mailNickname',
      'displayName',
      'givenName',
      'surname',
      'accountEnabled',
      'jobTitle',
      'department',
      s.usernameAttribute,
      ...s.attributes,
    ]),
  ];
}

/** The Graph path of an application scope's enterprise application (by object ID or by app ID). */
export function servicePrincipalPath(scope: { servicePrincipalId?: string; appId?: string }): string {
  return scope.servicePrincipalId
    ? `/servicePrincipals/${scope.servicePrincipalId}`
    : `/servicePrincipals(appId='${(scope.appId ?? '').replace(/'/g, "''")}')`;
}
