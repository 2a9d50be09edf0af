import { OutboundHttp, type HttpResponse } from '../http';

/** Google's fixed endpoints (an operator may point them elsewhere: a proxy, the tests' fake). */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_API_URL = 'https://admin.googleapis.com';

export interface GoogleTransportOptions {
  /** The Admin SDK's root (GOOGLE_API_URL), without a trailing slash. */
  apiUrl: string;
  /** Where token requests go (GOOGLE_TOKEN_URL); the assertion's audience stays Google's. */
  tokenUrl: string;
  caPem?: string;
  timeoutMs: number;
  maxAttempts: number;
  sleep?: (ms: number) => Promise<void>;
  /** Told about each wait: a throttled request, a quota that resets at the next minute. */
  onWait?: (info: { status: number | string; reason: string; waitMs: number; attempt: number }) => void;
}

/** Google's reasons for asking again later (403 and 429 bodies' `errors[].reason`). */
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const SERVER_TROUBLE = new Set([500, 502, 503, 504]);

/** The first `errors[].reason` of a Google error body ('' when it has none). */
export function reasonOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { errors?: Array<{ reason?: string }> } };
    return body.error?.errors?.[0]?.reason ?? '';
  } catch {
    return '';
  }
}

/**
 * An answer as the libraries read it (status, headers, `text()`): the text we already hold, handed
 * over as it is. A web `Response` would stream it again before gaxios parses it — a tenth of a
 * 100,000-user listing's time in the benchmark.
 */
function answer(url: string, res: HttpResponse): Response {
  const text = res.status === 204 ? '' : res.text;
  const light = {
    url,
    status: res.status,
    ok: res.status >= 200 && res.status < 300,
    statusText: '',
    redirected: false,
    headers: new Headers(res.headers),
    body: null,
    /** Read once it was read, as a Response's: gaxios keeps an error's parsed body only then. */
    bodyUsed: false,
    text: () => {
      light.bodyUsed = true;
      return Promise.resolve(text);
    },
    json: () => light.text().then((t) => JSON.parse(t) as unknown),
    arrayBuffer: () => light.text().then((t) => new TextEncoder().encode(t).buffer),
  };
  return light as unknown as Response;
}

/** Milliseconds until the next minute begins, and a second more: when a per-minute quota resets. */
const untilNextMinute = (now: number) => 60_000 - (now % 60_000) + 1_000;

/**
 * Every request to Google, the token's and the Admin SDK's, as the `fetch` their libraries call
 * (gaxios' `fetchImplementation`): HTTPS with a keep-alive agent, and one policy for asking again —
 * 429 and Google's 403 `rateLimitExceeded` / `userRateLimitExceeded` with exponential backoff and
 * jitter (1 s, 2 s, 4 s … as Google asks; its libraries do not retry those 403s), 5xx likewise,
 * and 403 `quotaExceeded` paused until the next minute, when the quota resets. The libraries' own
 * retries are off, so a request is never asked again by two layers (no run storm).
 */
export class GoogleTransport {
  private readonly http: OutboundHttp;

  constructor(private readonly o: GoogleTransportOptions) {
    this.http = new OutboundHttp({
      caPem: o.caPem,
      timeoutMs: o.timeoutMs,
      maxAttempts: o.maxAttempts,
      maxRetryWaitMs: 64_000,
      sleep: o.sleep,
      headers: { 'user-agent': 'idp-user-group-sync' },
      retry: (res) => this.decide(res),
      onRetry: ({ status, waitMs, attempt, why }) =>
        o.onWait?.({ status, reason: why ?? String(status), waitMs, attempt }),
    });
  }

  /** The `fetch` the Google libraries are given; `onWait` hears this client's waits (a read shows them). */
  fetchFor(onWait?: GoogleTransportOptions['onWait']) {
    return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
      const url = this.route(String(input instanceof Request ? input.url : input));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      const body = init.body === undefined || init.body === null ? undefined : String(init.body as string);
      const method = (init.method ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET';
      const res = await this.http.request(method, url, headers, body, {
        onRetry:
          onWait &&
          (({ status, waitMs, attempt, why }) => onWait({ status, reason: why ?? String(status), waitMs, attempt })),
      });
      return answer(url, res);
    };
  }

  close(): void {
    this.http.close();
  }

  /** Google's URLs, to the operator's endpoints when set. */
  private route(url: string): string {
    if (url === GOOGLE_TOKEN_URL) return this.o.tokenUrl;
    if (url.startsWith(`${GOOGLE_API_URL}/`)) return this.o.apiUrl + url.slice(GOOGLE_API_URL.length);
    return url;
  }

  private decide(res: HttpResponse): { again: boolean; waitMs?: number; why?: string } {
    const reason = res.status === 403 || res.status === 429 ? reasonOf(res.text) : '';
    const why = reason || String(res.status);
    if (res.status === 429 || RATE_REASONS.has(reason) || SERVER_TROUBLE.has(res.status)) return { again: true, why };
    if (reason === 'quotaExceeded') return { again: true, waitMs: untilNextMinute(Date.now()), why };
    return { again: false };
  }
}
