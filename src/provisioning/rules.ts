import { z } from 'zod';
import { JIRA_PRODUCTS } from '../jira/types';
import { parsePatchPath } from '../directory/filter';

/** What deprovisioning does when the IdP disables or deletes a user, or it leaves scope. */
export const DEPROVISION_MODES = [
  'none',
  'removeManagedGroups',
  'removeProductGroups',
  'deleteFromSite',
  'deactivate',
] as const;
export type DeprovisionMode = (typeof DEPROVISION_MODES)[number];

/** Jira's default product-access groups, for the removeProductGroups mode. */
export const DEFAULT_PRODUCT_GROUPS = [
  'jira-software-users',
  'jira-servicemanagement-users',
  'jira-servicedesk-users',
  'jira-core-users',
  'jira-users',
  'jira-product-discovery-users',
];

/** The product-access groups (of the given list) that give a product: `jira-software` → `jira-software-users…`. */
export function accessGroupsFor(products: readonly string[], productGroups: readonly string[]): string[] {
  const prefixes: Record<string, string[]> = {
    'jira-software': ['jira-software'],
    'jira-servicedesk': ['jira-servicedesk', 'jira-servicemanagement'],
    'jira-core': ['jira-core', 'jira-users'],
    'jira-product-discovery': ['jira-product-discovery'],
  };
  const wanted = products.flatMap((p) => prefixes[p] ?? []);
  return productGroups.filter((g) => wanted.some((w) => g.toLowerCase().startsWith(w)));
}

const regex = z
  .string()
  .min(1, 'must not be empty')
  .max(500)
  .superRefine((v, ctx) => {
    try {
      new RegExp(v);
    } catch (err) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `is not a valid regular expression: ${(err as Error).message}`,
      });
    }
  });
const attributePath = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(300)
  .superRefine((v, ctx) => {
    if (v.endsWith('[primary]')) return; // shorthand: the primary (else first) value
    try {
      parsePatchPath(v);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is not an attribute path: ${(err as Error).message}` });
    }
  });
const groupName = z.string().trim().min(1, 'must not be empty').max(255);
const propertyKey = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only');

/** A JSM service desk's or organization's id, as JSM lists them (digits). */
const jsmId = z
  .string()
  .trim()
  .regex(/^\d{1,18}$/, 'must be an id as JSM lists it (digits)');
const jsmIds = z
  .array(jsmId)
  .max(100)
  .default([])
  .transform((ids) => [...new Set(ids)]);

/** What a customers connection does when a customer is disabled, deleted or leaves scope. */
export const CUSTOMER_DEPROVISION_MODES = ['removeAccess', 'keep'] as const;

/** The hours a full reconciliation may be scheduled at. */
export const RECONCILE_HOURS = [0, 1, 6, 12, 24, 48, 168] as const;

/**
 * A connection's rules, as the admin API takes them; every field has a sensible default. Whether
 * users and groups are created at all is the connection's importUsers / importGroups toggles.
 */
export const rulesSchema = z
  .object({
    users: z
      .object({
        update: z.boolean().default(true),
        products: z
          .array(z.enum(JIRA_PRODUCTS, { errorMap: () => ({ message: `must be one of ${JIRA_PRODUCTS.join(', ')}` }) }))
          .default(['jira-software']),
        deprovision: z
          .enum(DEPROVISION_MODES, { errorMap: () => ({ message: `must be one of ${DEPROVISION_MODES.join(', ')}` }) })
          .default('removeManagedGroups'),
        productGroups: z.array(groupName).default(DEFAULT_PRODUCT_GROUPS),
        reactivate: z.boolean().default(true),
        defaultProjectLead: z.string().trim().min(1).max(128).nullable().default(null),
        defaultComponentLead: z.string().trim().min(1).max(128).nullable().default(null),
        /** Hours between full reconciliations with Jira (0: only on "Synchronize"). */
        reconcileEveryHours: z
          .number()
          .int()
          .refine(
            (n) => (RECONCILE_HOURS as readonly number[]).includes(n),
            `must be one of ${RECONCILE_HOURS.join(', ')} (0: only on demand)`,
          )
          .default(24),
      })
      .strict()
      .default({}),
    attributes: z
      .object({
        userName: attributePath.default('userName'),
        email: attributePath.default('emails[primary]'),
        displayName: attributePath.default('displayName'),
        /** Where the job title and department of a managed account's profile come from (null: not updated). */
        jobTitle: attributePath.nullable().default('title'),
        department: attributePath
          .nullable()
          .default('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'),
        custom: z
          .array(z.object({ from: attributePath, propertyKey }).strict())
          .max(50)
          .default([]),
      })
      .strict()
      .default({}),
    groups: z
      .object({
        defaultForNewUsers: z.array(groupName).default([]),
        defaultForAllUsers: z.array(groupName).default([]),
        manual: z
          .array(
            z
              .object({
                idpGroup: groupName,
                jiraGroups: z.array(groupName).min(1, 'must map to at least one Jira group'),
              })
              .strict(),
          )
          .default([]),
        onTheFly: z
          .object({
            enabled: z.boolean().default(false),
            pattern: regex.nullable().default(null),
            replacement: z.string().max(255).default('$1'),
          })
          .strict()
          .default({}),
        include: z.array(regex).default([]),
        exclude: z.array(regex).default([]),
        keepExisting: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /**
     * JSM Customer Sync (a connection whose target is `customers`): portal access to service desks
     * and membership of JSM organizations, for every customer and by IdP group.
     */
    customers: z
      .object({
        serviceDesksForAll: jsmIds,
        organizationsForAll: jsmIds,
        groups: z
          .array(
            z
              .object({ idpGroup: groupName, serviceDesks: jsmIds, organizations: jsmIds })
              .strict()
              .refine(
                (m) => m.serviceDesks.length + m.organizations.length > 0,
                'must give at least one service desk or organization',
              ),
          )
          .max(500)
          .default([]),
        /** A customer disabled, deleted or out of scope: their portal access and organizations go, or stay. */
        deprovision: z
          .enum(CUSTOMER_DEPROVISION_MODES, {
            errorMap: () => ({ message: `must be one of ${CUSTOMER_DEPROVISION_MODES.join(', ')}` }),
          })
          .default('removeAccess'),
        /** Never withdraw an access this connection did not grant (off: the desks and organizations named here mirror the IdP). */
        keepExisting: z.boolean().default(true),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.users.deprovision === 'removeProductGroups' && r.users.productGroups.length === 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['users', 'productGroups'],
        message: 'must name at least one group when deprovision is removeProductGroups',
      });
    }
  });

export type Rules = z.infer<typeof rulesSchema>;

/** The rules a connection has when none were saved. */
export const DEFAULT_RULES: Rules = rulesSchema.parse({});

/** A connection's stored rules, defaults filled (rules saved by an older version stay readable). */
export function rulesOf(settings: Record<string, unknown>): Rules {
  const parsed = rulesSchema.safeParse(settings.rules ?? {});
  return parsed.success ? parsed.data : DEFAULT_RULES;
}
