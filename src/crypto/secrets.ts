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

/** One key of a key ring: its name (written in each ciphertext) and its 32 bytes. */
export interface RingKey {
  id: string;
  key: Buffer;
}

/** A SecretBox over several keys: the newest seals, any opens what it sealed (`v2:<id>:…`). */
export interface KeyRing extends SecretBox {
  /** The id of the key that seals. */
  readonly newest: string;
  /** The key a sealed value names (`legacy` for the `v1:` values of the single APP_SECRET_KEY). */
  keyOf(sealed: string): string;
  /** Whether the ring holds the key of that id (and so opens what it sealed). */
  holds(id: string): boolean;
}

/** Whether a value is a key ring (rather than a single key). */
export function isKeyRing(value: unknown): value is KeyRing {
  return typeof (value as KeyRing | undefined)?.holds === 'function';
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const LEGACY_KEY_ID = 'legacy';

/**
 * A key ring (`APP_SECRET_KEYS`, newest first): the first key seals (`v2:<id>:<iv|tag|body>`),
 * every key opens what names it, and `legacy` — the former single `APP_SECRET_KEY` — opens the
 * `v1:` values sealed before the ring. A value naming a key the ring does not hold is refused with
 * that key's id, so an operator knows which key is missing.
 */
export function createKeyRing(keys: RingKey[], legacy?: Buffer): KeyRing {
  if (keys.length === 0 && !legacy) throw new Error('a key ring needs at least one key');
  const byId = new Map<string, SecretBox>();
  for (const k of keys) {
    if (!KEY_ID.test(k.id) || k.id === LEGACY_KEY_ID)
      throw new Error(`key id "${k.id}" must be 1–32 of A–Z a–z 0–9 _ - (not "legacy")`);
    if (byId.has(k.id)) throw new Error(`key id "${k.id}" is listed twice`);
    byId.set(k.id, createSecretBox(k.key));
  }
  const legacyBox = legacy ? createSecretBox(legacy) : undefined;
  const newest = keys[0]?.id ?? LEGACY_KEY_ID;
  const keyOf = (sealed: string) =>
    sealed.startsWith(`${VERSION}:`) ? LEGACY_KEY_ID : (sealed.split(':', 3)[1] ?? '');
  return {
    newest,
    keyOf,
    holds: (id) => byId.has(id) || (id === LEGACY_KEY_ID && legacyBox !== undefined),
    seal(plaintext, context) {
      if (!keys[0]) return legacyBox!.seal(plaintext, context);
      const inner = byId.get(newest)!.seal(plaintext, context); // `v1:<payload>`
      return `v2:${newest}:${inner.slice(VERSION.length + 1)}`;
    },
    open(sealed, context) {
      if (sealed.startsWith(`${VERSION}:`)) {
        if (!legacyBox) throw new SecretDecryptError(`secret sealed with the former APP_SECRET_KEY, which is not set`);
        return legacyBox.open(sealed, context);
      }
      const [version, id, payload] = sealed.split(':', 3);
      if (version !== 'v2' || !id || !payload) throw new SecretDecryptError('unknown secret format');
      const box = byId.get(id);
      if (!box) throw new SecretDecryptError(`secret sealed with key "${id}", which APP_SECRET_KEYS does not hold`);
      return box.open(`${VERSION}:${payload}`, context);
    },
  };
}
