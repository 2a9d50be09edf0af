import crypto from 'node:crypto';
import { z } from 'zod';

/** An Okta credential: an API token (`SSWS`), or a service app's private key (OAuth 2.0, `private_key_jwt`). */
export type OktaCredential =
  { method: 'apiToken'; token: string } | { method: 'privateKey'; key: crypto.KeyObject; alg: string; keyId?: string };

const MAX_CHARS = 10_000;

/** The JWS algorithm for a private key (Okta takes RS256 and ES256/384/512 keys). */
function algOf(key: crypto.KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'prime256v1'
      ? 'ES256'
      : curve === 'secp384r1'
        ? 'ES384'
        : curve === 'secp521r1'
          ? 'ES512'
          : undefined;
  }
  return undefined;
}

/**
 * Reads a credential: why it is not one (a sentence's end), or what it is. A private key comes as
 * the JSON (JWK) Okta's console generates, or PEM; anything else must look like an API token.
 */
export function parseOktaCredential(text: string): OktaCredential | string {
  const t = text.trim();
  if (t.length > MAX_CHARS) return 'is too long (at most 10,000 characters)';
  if (t.startsWith('{') || t.startsWith('-----BEGIN')) {
    let key: crypto.KeyObject;
    let keyId: string | undefined;
    try {
      if (t.startsWith('{')) {
        const jwk = JSON.parse(t) as crypto.JsonWebKey & { kid?: unknown };
        if (typeof jwk.d !== 'string') return 'is a public key: paste the private key (the JSON with "d", or PEM)';
        keyId = typeof jwk.kid === 'string' ? jwk.kid : undefined;
        key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
      } else {
        if (/PUBLIC KEY/.test(t)) return 'is a public key: paste the private key';
        key = crypto.createPrivateKey(t);
      }
    } catch {
      return 'is not a private key that parses: paste the whole private key (JSON from Okta, or PEM)';
    }
    const alg = algOf(key);
    if (!alg) return 'must be an RSA or EC (P-256, P-384, P-521) private key';
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      return 'is an RSA key shorter than 2,048 bits, which Okta refuses';
    return { method: 'privateKey', key, alg, ...(keyId ? { keyId } : {}) };
  }
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(t))
    return 'is neither an API token (Security → API → Tokens) nor a private key (JSON or PEM)';
  return { method: 'apiToken', token: t };
}

/** What may be shown of a credential: its method, and for a key its id and public half (to paste into Okta). */
export function credentialFacts(c: OktaCredential): {
  method: OktaCredential['method'];
  keyId?: string;
  publicJwk?: Record<string, unknown>;
} {
  if (c.method === 'apiToken') return { method: 'apiToken' };
  const pub = crypto.createPublicKey(c.key).export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    method: 'privateKey',
    ...(c.keyId ? { keyId: c.keyId } : {}),
    publicJwk: { ...pub, ...(c.keyId ? { kid: c.keyId } : {}), use: 'sig', alg: c.alg },
  };
}

export const oktaCredentialSchema = z
  .string({ required_error: 'Required: an API token or the service app’s private key' })
  .superRefine((v, ctx) => {
    const c = parseOktaCredential(v);
    if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: `the credential ${c}` });
  });
