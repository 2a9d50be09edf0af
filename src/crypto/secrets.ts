import crypto from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts and decrypts secrets at rest with AES-256-GCM. Each value is bound to a context
 * (e.g. "site-credentials:apiToken:<clientKey>") as associated data, so a ciphertext copied to
 * another tenant's row or field does not decrypt.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** Thrown when a stored secret cannot be decrypted (wrong key, tampered, or moved between rows). */
export class SecretDecryptError extends Error {}

/** Creates a SecretBox over a 32-byte key. */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  return {
    seal(plaintext, context) {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    open(sealed, context) {
      const [version, payload] = sealed.split(':', 2);
      if (version !== VERSION || !payload) throw new SecretDecryptError('unknown secret format');
      const raw = Buffer.from(payload, 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptError('secret too short');
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptError('secret could not be decrypted with this APP_SECRET_KEY');
      }
    },
  };
}
