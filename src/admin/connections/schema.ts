import { z } from 'zod';

const name = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters').refine((v) => !/[\u0000-\u001f]/.test(v), 'must not contain control characters');

/** POST /api/v1/connections (kind "scim" today; "entra" and "ldap" arrive with their issues). */
export const createConnectionSchema = z
  .object({
    name,
    kind: z.enum(['scim'], { errorMap: () => ({ message: 'must be "scim" (Entra ID pull and LDAP are not available yet)' }) }),
    provider: z.enum(['entra', 'okta', 'miniorange', 'generic'], { errorMap: () => ({ message: 'must be one of entra, okta, miniorange, generic' }) }).default('generic'),
    target: z.enum(['users'], { errorMap: () => ({ message: 'must be "users" (JSM customers are not available yet)' }) }).default('users'),
    importUsers: z.boolean().default(true),
    importGroups: z.boolean().default(true),
  })
  .strict();

/** PATCH /api/v1/connections/{id}: kind and target cannot change. */
export const updateConnectionSchema = z
  .object({
    name: name.optional(),
    provider: z.enum(['entra', 'okta', 'miniorange', 'generic'], { errorMap: () => ({ message: 'must be one of entra, okta, miniorange, generic' }) }).optional(),
    importUsers: z.boolean().optional(),
    importGroups: z.boolean().optional(),
  })
  .strict();

export type CreateConnection = z.infer<typeof createConnectionSchema>;
export type UpdateConnection = z.infer<typeof updateConnectionSchema>;
