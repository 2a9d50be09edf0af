import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import type { HttpResponse } from '../http';
import { mayAskAgain, pauseForTrouble, SERVER_TROUBLE } from './trouble';
import { OktaError, type OktaClientOptions } from './types';
import type { OktaCredential } from './credential';
import { OKTA_SCOPES } from './settings';

interface Token {
  value: string;
  /** `DPoP` (bound to this client's proof key) or `Bearer`. */
  type: string;
  expiresAt: number;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_PATH = '/oauth2/v1/token';
/** A token is fetched again this long before it expires (Okta's org tokens live an hour). */
const REFRESH_EARLY_MS = 5 * 60_000;
const LOG_SCOPE = 'okta.logs.read';

/** Whether an `invalid_scope` refusal names the System Log's scope and no other read scope. */
function onlyLogScopeRefused(description: string): boolean {
  return description.includes(LOG_SCOPE) && OKTA_SCOPES.every((x) => x === LOG_SCOPE || !description.includes(x));
}

/**
 * How a connection's requests are authorized: an API token (`SSWS`), or a service app's token from
 * the org authorization server — a `private_key_jwt` assertion and a DPoP proof (new service apps
 * require DPoP; Okta's first answer `use_dpop_nonce` gives the nonce to sign), fetched again before
 * it expires and after a 401. Okta's SDK does not look at a refused token request; here the admin
 * is told Okta's own reason (`invalid_client`, `invalid_scope` …). An app not granted the System
 * Log's scope still gets a token for the rest (its reads are then all full).
 */
export class OktaAuth {
  private token?: Token;
  private proofKey?: Promise<{ key: KeyLike; jwk: JWK }>;
  /** A nonce the resource server asked DPoP proofs to carry. */
  private apiNonce?: string;
  /** The scopes asked for: every read scope, or all but the System Log's when the app is not granted it. */
  private scopes: string[] = [...OKTA_SCOPES];

  constructor(
    private readonly origin: string,
    private readonly credential: OktaCredential,
    /** The client's options, and how a request (the token's too) is counted. */
    private readonly o: OktaClientOptions & { count: () => void },
  ) {}

  /** A token now (a private key's connection; an API token needs none). */
  async authenticate(): Promise<void> {
    if (this.credential.method === 'privateKey') await this.accessToken();
  }

  /** After a 401: whether asking again may help (a new token, or the nonce the API asked for). */
  renew(res: HttpResponse): boolean {
    if (this.credential.method !== 'privateKey') return false;
    const nonce = res.headers['dpop-nonce'];
    if (nonce && /use_dpop_nonce/.test(res.headers['www-authenticate'] ?? '')) this.apiNonce = nonce;
    else this.token = undefined;
    return true;
  }

  /** The headers that authorize one request: `SSWS`, `Bearer`, or `DPoP` with its proof. */
  async authorization(method: string, url: string): Promise<Record<string, string>> {
    if (this.credential.method === 'apiToken') return { authorization: `SSWS ${this.credential.token}` };
    const token = await this.accessToken();
    if (token.type.toLowerCase() !== 'dpop') return { authorization: `Bearer ${token.value}` };
    const ath = crypto.createHash('sha256').update(token.value).digest('base64url');
    const u = new URL(url);
    return {
      authorization: `DPoP ${token.value}`,
      dpop: await this.proof(method, `${u.origin}${u.pathname}`, {
        ath,
        ...(this.apiNonce ? { nonce: this.apiNonce } : {}),
      }),
    };
  }

  private async accessToken(): Promise<Token> {
    if (this.token && this.token.expiresAt - REFRESH_EARLY_MS > Date.now()) return this.token;
    const c = this.credential as Extract<OktaCredential, { method: 'privateKey' }>;
    const tokenUrl = `${this.origin}${TOKEN_PATH}`;
    let nonce: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: c.alg, ...((c.keyId ?? this.o.keyId) ? { kid: c.keyId ?? this.o.keyId } : {}) })
        .setIssuer(this.o.clientId ?? '')
        .setSubject(this.o.clientId ?? '')
        .setAudience(tokenUrl)
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(crypto.randomUUID())
        .sign(c.key);
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        scope: this.scopes.join(' '),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: assertion,
      }).toString();
      await this.o.rates.turn(this.origin, TOKEN_PATH, this.o.onWait);
      this.o.count();
      let res: HttpResponse;
      try {
        res = await this.o.http.request(
          'POST',
          tokenUrl,
          {
            accept: 'application/json',
            'content-type': 'application/x-www-form-urlencoded',
            dpop: await this.proof('POST', tokenUrl, nonce ? { nonce } : {}),
          },
          body,
        );
      } catch (err) {
        this.o.rates.note(this.origin, TOKEN_PATH, {}, false);
        if (!mayAskAgain(err) || attempt >= this.o.maxAttempts) throw err;
        await pauseForTrouble(this.o, (err as NodeJS.ErrnoException).code ?? 'error', attempt);
        continue;
      }
      this.o.rates.note(this.origin, TOKEN_PATH, res.headers, res.status === 429);
      if (SERVER_TROUBLE.has(res.status) && attempt < this.o.maxAttempts) {
        await pauseForTrouble(this.o, res.status, attempt);
        continue;
      }
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(res.text) as Record<string, unknown>;
      } catch {
        /* not JSON: said below */
      }
      // The SDK does not look at a refused token request; the admin is told Okta's own reason.
      if (json.error === 'use_dpop_nonce' && res.headers['dpop-nonce'] && !nonce) {
        nonce = res.headers['dpop-nonce'];
        continue;
      }
      if (res.status === 429 && attempt < this.o.maxAttempts) continue;
      // Without the System Log's scope the app still reads everything else (every read is then full).
      const description = typeof json.error_description === 'string' ? json.error_description : '';
      if (json.error === 'invalid_scope' && this.scopes.includes(LOG_SCOPE) && onlyLogScopeRefused(description)) {
        this.scopes = this.scopes.filter((x) => x !== LOG_SCOPE);
        continue;
      }
      if (res.status !== 200 || typeof json.access_token !== 'string')
        throw new OktaError(
          res.status,
          typeof json.error === 'string' ? json.error : String(res.status),
          typeof json.error_description === 'string' ? json.error_description : res.text.slice(0, 200),
          'token',
        );
      this.token = {
        value: json.access_token,
        type: typeof json.token_type === 'string' ? json.token_type : 'Bearer',
        expiresAt: Date.now() + (Number(json.expires_in) || 3600) * 1000,
      };
      return this.token;
    }
  }

  /** A DPoP proof (RFC 9449) for one request, signed by this client's own ES256 key. */
  private async proof(htm: string, htu: string, extra: Record<string, string>): Promise<string> {
    this.proofKey ??= (async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      return { key: pair.privateKey, jwk: await exportJWK(pair.publicKey) };
    })();
    const { key, jwk } = await this.proofKey;
    return new SignJWT({ htm, htu, ...extra })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .sign(key);
  }

  /** The proof key's thumbprint (a token bound to it names it as `cnf.jkt`). */
}
