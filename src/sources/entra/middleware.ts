import {
  RetryHandler,
  RetryHandlerOptions,
  type Context,
  type Middleware,
  type MiddlewareOptions,
} from '@microsoft/microsoft-graph-client';
import type { OutboundHttp } from '../http';

/**
 * The Graph SDK's middleware chain as we run it: a guard that keeps requests on the connection's
 * Graph host, the SDK's AuthenticationHandler and RetryHandler (Retry-After on 429/503/504), a
 * page counter, and our transport in place of the SDK's fetch: node:https with a keep-alive agent
 * and the extra CA, retrying network errors.
 */

/** Refuses any URL off the connection's Graph origin, before a token is attached. */
export class SameOrigin implements Middleware {
  private next?: Middleware;

  constructor(private readonly origin: string) {}

  async execute(context: Context): Promise<void> {
    const url = urlOf(context);
    if (new URL(url).origin !== this.origin)
      throw Object.assign(new Error(`Graph sent a link to another host (${new URL(url).host}); not followed.`), {
        name: FOREIGN_LINK,
      });
    await this.next!.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

export const FOREIGN_LINK = 'ForeignLink';

/** A per-iteration option: counts the Graph pages one page iteration fetched. */
export class PageCount implements MiddlewareOptions {
  pages = 0;
}

/** Counts a request carrying a PageCount option once it has an answer. */
export class PageCounter implements Middleware {
  private next?: Middleware;

  async execute(context: Context): Promise<void> {
    await this.next!.execute(context);
    const count = context.middlewareControl?.getMiddlewareOptions(PageCount) as PageCount | undefined;
    if (count) count.pages++;
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

export interface RetryInfo {
  url: string;
  status: number;
  waitMs: number;
  attempt: number;
}

/** The SDK's RetryHandler with at most `retries` retries, telling `onRetry` about each wait. */
export function retryHandler(retries: number, onRetry?: (info: RetryInfo) => void): RetryHandler {
  return new RetryHandler(
    new RetryHandlerOptions(1, Math.min(Math.max(retries, 0), MAX_SDK_RETRIES), (delay, attempt, request, _o, res) => {
      const told = Number(res.headers.get('retry-after'));
      onRetry?.({
        url: typeof request === 'string' ? request : request.url,
        status: res.status,
        waitMs: Number.isFinite(told) && told > 0 ? told * 1000 : delay * 1000,
        attempt: attempt + 1,
      });
      return true;
    }),
  );
}

/** RetryHandlerOptions refuses more than 10 retries. */
export const MAX_SDK_RETRIES = 10;

/** The last link: the request over our HTTPS (keep-alive agent, extra CA), answered as a fetch Response. */
export class HttpsTransport implements Middleware {
  constructor(private readonly http: OutboundHttp) {}

  async execute(context: Context): Promise<void> {
    const o = context.options ?? {};
    const method = (o.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new Error(`Graph ${method} is not used by this app`);
    let res;
    try {
      res = await this.http.request(method, urlOf(context), headersOf(o.headers), bodyOf(o.body), {
        retryStatus: false,
      });
    } catch (err) {
      // The SDK keeps only an error's name and message: the network code (ECONNREFUSED …) goes in the name.
      const code = (err as NodeJS.ErrnoException).code;
      throw Object.assign(new Error((err as Error).message), { name: code ?? 'NetworkError', code });
    }
    const empty = res.status === 204 || res.status === 304;
    const response = new Response(empty ? null : res.text, { status: res.status, headers: res.headers });
    // The body is already in memory: parse it at once rather than through the Response's stream.
    const text = res.text;
    context.response = Object.assign(response, {
      json: () => Promise.resolve(JSON.parse(text) as unknown),
      text: () => Promise.resolve(text),
    });
  }
}

function urlOf(context: Context): string {
  return typeof context.request === 'string' ? context.request : context.request.url;
}

function headersOf(h: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  new Headers(h).forEach((v, k) => (out[k] = v));
  return out;
}

function bodyOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  throw new Error('Graph requests of this app carry no body but JSON text');
}
