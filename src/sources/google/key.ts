import crypto from 'node:crypto';
import { z } from 'zod';

/** A service account's JSON key, as Google Cloud's console downloads it (the fields the app uses). */
export interface ServiceAccountKey {
  clientEmail: string;
  clientId: string;
  privateKey: string;
  keyId?: string;
}

const MAX_KEY_CHARS = 10_000;

/**
 * Reads a service account's JSON key: why it is not one (a sentence's end), or its fields. A key
 * of another kind (an OAuth client's, an API key), or a private key that does not parse, is refused.
 */
export function parseServiceAccountKey(text: string): ServiceAccountKey | string {
  if (text.length > MAX_KEY_CHARS) return 'is too long for a service account key (at most 10,000 characters)';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "is not JSON: paste the whole key file Google Cloud's console downloaded (Service accounts → Keys → Add key → JSON)";
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'must be a JSON object';
  const k = json as Record<string, unknown>;
  if (k.type !== 'service_account')
    return `is not a service account key (its type is ${typeof k.type === 'string' ? `"${k.type}"` : 'missing'}, expected "service_account")`;
  for (const field of ['client_email', 'client_id', 'private_key'])
    if (typeof k[field] !== 'string' || !k[field]) return `has no ${field}`;
  if (!z.string().email().safeParse(k.client_email).success) return 'has a client_email that is not an email address';
  try {
    const key = crypto.createPrivateKey(k.private_key as string);
    if (key.asymmetricKeyType !== 'rsa') return 'has a private_key that is not an RSA key';
  } catch {
    return 'has a private_key that does not parse (a PEM "BEGIN PRIVATE KEY" block)';
  }
  return {
    clientEmail: k.client_email as string,
    clientId: k.client_id as string,
    privateKey: k.private_key as string,
    ...(typeof k.private_key_id === 'string' ? { keyId: k.private_key_id } : {}),
  };
}

/** The key's schema as the admin API takes it: a string that is a service account key. */
export const serviceAccountKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((v, ctx) => {
    const parsed = parseServiceAccountKey(v);
    if (typeof parsed === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed });
  });

/** What may be shown of a key: who it is, never the private key. */
export function publicFacts(key: ServiceAccountKey): { clientEmail: string; clientId: string; keyId?: string } {
  return { clientEmail: key.clientEmail, clientId: key.clientId, ...(key.keyId ? { keyId: key.keyId } : {}) };
}
