import { z } from 'zod';
import { hasControlCharacters } from '../../text';

/** PUT /api/v1/site-credentials. Omitted secrets keep what is stored; null removes the org key. */
const noControl = (v: string) => !hasControlCharacters(v) && !v.includes('\u007f');
const controlMessage = 'must not contain control characters';

export const putSiteCredentialsSchema = z
  .object({
    email: z.string().trim().email('must be an email address'),
    apiToken: z.string().trim().min(1, 'must not be empty').max(2000).refine(noControl, controlMessage).optional(),
    orgId: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200)
      .refine(noControl, controlMessage)
      .nullable()
      .optional(),
    orgApiKey: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(4000)
      .refine(noControl, controlMessage)
      .nullable()
      .optional(),
  })
  .strict();

export type PutSiteCredentials = z.infer<typeof putSiteCredentialsSchema>;
