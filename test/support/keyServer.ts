import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jwt from 'atlassian-jwt';

/**
 * Stands in for Atlassian's Connect install-key CDN: serves RSA public keys by key ID
 * (`GET /{kid}` → PEM), as ACE fetches them from CONNECT_KEYS_CDN_URL, and signs lifecycle JWTs
 * with the matching private keys.
 */
export class KeyServer {
  readonly kid = `test-key-${crypto.randomUUID()}`;
  private readonly keys = new Map<string, { publicKey: string; privateKey: string }>();
  private server?: http.Server;
  url = '';

  constructor() {
    this.keys.set(this.kid, generateRsa());
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const kid = decodeURIComponent((req.url ?? '/').slice(1));
      const pair = this.keys.get(kid);
      if (!pair) {
        res.writeHead(404).end('Not Found');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(pair.publicKey);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Signs a lifecycle JWT (RS256) the way Jira does for installed/uninstalled. */
  signLifecycle(opts: {
    method: 'POST';
    path: string;
    clientKey: string;
    audience: string;
    kid?: string;
    privateKey?: string;
    expiresIn?: number;
  }): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: opts.clientKey,
      sub: `connect:${opts.clientKey}`,
      aud: [opts.audience],
      iat: now,
      exp: now + (opts.expiresIn ?? 180),
      qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl(opts.method, opts.path)),
    };
    const kid = opts.kid ?? this.kid;
    const privateKey = opts.privateKey ?? this.keys.get(kid)!.privateKey;
    return jwt.encodeAsymmetric(claims, privateKey, jwt.AsymmetricAlgorithm.RS256, { kid });
  }
}

/** A fresh RSA key pair in PEM (also used by tests to sign with a key the server does not serve). */
export function generateRsa(): { publicKey: string; privateKey: string } {
  return crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
