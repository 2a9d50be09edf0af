import { z } from 'zod';

/** PUT /api/v1/site-credentials. Omitted secrets keep what is stored; null removes the org key. */
export const putSiteCredentialsSchema = z
  .object({
    email: z.string().trim().email('must be an email address'),
    apiToken: z.string().trim().min(1, 'must not be empty').max(2000).optional(),
    orgId: z.string().trim().min(1, 'must not be empty').max(200).nullable().optional(),
    orgApiKey: z.string().trim().min(1, 'must not be empty').max(4000).nullable().optional(),
  })
  .strict();

export type PutSiteCredentials = z.infer<typeof putSiteCredentialsSchema>;
