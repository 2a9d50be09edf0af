import https from 'node:https';
import tls from 'node:tls';
import { backoffDelay, parseRetryAfter } from '../backoff';
import { OutboundRefused, RedirectRefused, type AddressGuard } from './outbound';

export interface HttpOptions {
  /** Extra trusted CA certificates (PEM). */
  caPem?: string;
  timeoutMs: number;
  /** Attempts for a throttled or unavailable answer (429, 503, 504) and for network errors. */
  maxAttempts: number;
  /** Longest wait honoured from one Retry-After, in ms. */
  maxRetryWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Which addresses may be called (the authority and Graph URLs of a custom cloud are typed by the admin). */
  guard?: AddressGuard;
  /** Told about each wait (for logs and progress). */
  onRetry?: (info: { url: string; status: number | string; waitMs: number; attempt: number; why?: string }) => void;
  /**
   * Whether an answer is asked again, and after how long (ms; undefined: Retry-After, else the
   * backoff). By default 429, 503 and 504, waiting what Retry-After says.
   */
  retry?: (res: HttpResponse, attempt: number) => { again: boolean; waitMs?: number; why?: string };
  /** Sent with every request (a user agent). */
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

const RETRY_STATUS = new Set([429, 503, 504]);

/**
 * HTTPS to an identity provider with a keep-alive agent and the extra CA (Entra ID: msal's network
 * client for the token endpoint and the Graph SDK's transport; Google: the Admin SDK's fetch).
 * Network errors — and answers the caller's `retry` says to ask again, by default 429/503/504 —
 * are retried, waiting what Retry-After says (else 1 s, 2 s, 4 s … with jitter), up to maxAttempts.
 * Every other answer is returned as it is.
 */
export class OutboundHttp {
  private readonly agent: https.Agent;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: HttpOptions) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      // One TLS context for every connection: given as `ca`, the ~140 root certificates would be
      // parsed again for each new socket (tens of ms of the event loop each, seen in a profile).
      ...(o.caPem ? { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, o.caPem] }) } : {}),
      ...(o.guard ? { lookup: o.guard.lookup } : {}),
    });
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * One request, retried on network errors and (unless `retryStatus` is false, as for Graph, whose
   * SDK retries those itself) on 429/503/504.
   */
  async request(
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body?: string,
    { retryStatus = true, onRetry }: { retryStatus?: boolean; onRetry?: HttpOptions['onRetry'] } = {},
  ): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      let failure: Error | undefined;
      try {
        res = await this.once(method, url, headers, body);
      } catch (err) {
        if (err instanceof OutboundRefused || err instanceof RedirectRefused) throw err; // asking again changes nothing
        failure = err as Error;
      }
      const decided = res && retryStatus ? this.decide(res, attempt) : undefined;
      if (res && !decided?.again) return res;
      if (attempt >= this.o.maxAttempts) {
        if (res) return res;
        throw failure!;
      }
      const maxWait = this.o.maxRetryWaitMs ?? 120_000;
      const told = decided?.waitMs ?? (res ? parseRetryAfter(res.headers, Date.now()) : undefined);
      const wait = Math.min(
        told ?? backoffDelay(attempt, { backoffBaseMs: 1000, backoffMaxMs: maxWait }, Math.random),
        maxWait,
      );
      const info = {
        url,
        status: res?.status ?? (failure as NodeJS.ErrnoException).code ?? 'error',
        waitMs: wait,
        attempt,
        ...(decided?.why ? { why: decided.why } : {}),
      };
      this.o.onRetry?.(info);
      onRetry?.(info); // the request's own listener (a read showing its waits)
      await this.sleep(wait);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private decide(res: HttpResponse, attempt: number): { again: boolean; waitMs?: number; why?: string } {
    return this.o.retry ? this.o.retry(res, attempt) : { again: RETRY_STATUS.has(res.status) };
  }

  private once(method: string, url: string, headers: Record<string, string>, body?: string): Promise<HttpResponse> {
    try {
      this.o.guard?.checkHost(new URL(url).hostname);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.o.headers,
            ...headers,
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
          timeout: this.o.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
            const status = res.statusCode ?? 0;
            if (status >= 300 && status < 400 && h.location)
              return reject(new RedirectRefused(new URL(url).host, h.location));
            resolve({ status, headers: h, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(
          Object.assign(new Error(`no answer from ${new URL(url).host} within ${this.o.timeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        ),
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
