import type { AddOn } from 'atlassian-connect-express';
import { JiraError } from './errors';
import { USER_AGENT } from '../instance';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
export type QueryValue = string | number | boolean | undefined | Array<string | number>;

/** One call to Jira, relative to the transport's base URL. */
export interface JiraRequest {
  method: HttpMethod;
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** The path with its variables named (`/rest/api/3/user/properties/{key}`), where it has any: the endpoint Jira's limits count. */
  template?: string;
  /** Headers this call needs besides auth and content type (e.g. JSM's `X-ExperimentalApi: opt-in`). */
  headers?: Record<string, string>;
}

/** Jira's answer, not yet judged: the client decides what a status means. */
export interface JiraResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/**
 * How a call is authenticated: the add-on's Connect JWT or Forge app system token (both the app's
 * own traffic, counted against its quotas), a site-admin token, or an org API key.
 */
export interface Transport {
  readonly auth: 'jwt' | 'forge' | 'token' | 'org';
  send(req: JiraRequest): Promise<JiraResponse>;
}

/** Path plus query string, repeating a key for each value of an array (Jira's convention). */
export function buildUrl(req: Pick<JiraRequest, 'path' | 'query'>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const qs = params.toString();
  return qs ? `${req.path}?${qs}` : req.path;
}

/** Calls Jira through ACE's httpClient, which signs each request with the tenant's Connect JWT (qsh). */
export function createJwtTransport(addon: AddOn, clientKey: string, timeoutMs: number): Transport {
  const http = addon.httpClient({ clientKey });
  const verbs = { GET: http.get, POST: http.post, PUT: http.put, DELETE: http.del, PATCH: http.patch } as const;
  return {
    auth: 'jwt',
    send(req) {
      const url = buildUrl(req);
      return new Promise<JiraResponse>((resolve, reject) => {
        const options = {
          url,
          timeout: timeoutMs,
          headers: {
            Accept: 'application/json',
            'User-Agent': USER_AGENT,
            'X-Atlassian-Token': 'no-check',
            ...req.headers,
          },
          ...(req.body === undefined ? { json: true } : { json: req.body }),
        };
        verbs[req.method]
          .call(http, options, (err, res, body) => {
            if (err) return reject(networkError(err as NodeJS.ErrnoException, req));
            resolve({
              status: res.statusCode,
              headers: flatHeaders(res.headers),
              body: body === '' ? undefined : body,
            });
          })
          .catch((err: unknown) =>
            reject(
              new JiraError(`Connect client failed for ${req.method} ${req.path}: ${String(err)}`, 'network', false, {
                method: req.method,
                path: req.path,
              }),
            ),
          );
      });
    },
  };
}

/** Calls Jira with HTTP basic auth (site-admin email + API token). */
export function createTokenTransport(baseUrl: string, email: string, apiToken: string, timeoutMs: number): Transport {
  const auth = `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`;
  return { auth: 'token', send: (req) => fetchJson(baseUrl, auth, req, timeoutMs) };
}

/** Calls Jira as the Forge app: the app system token (bearer) against the API base URL Forge gave with it. */
export function createForgeTransport(apiBaseUrl: string, systemToken: string, timeoutMs: number): Transport {
  return { auth: 'forge', send: (req) => fetchJson(apiBaseUrl, `Bearer ${systemToken}`, req, timeoutMs) };
}

/** Calls the Atlassian organization admin API with an org API key (bearer). */
export function createOrgTransport(apiUrl: string, orgApiKey: string, timeoutMs: number): Transport {
  return { auth: 'org', send: (req) => fetchJson(apiUrl, `Bearer ${orgApiKey}`, req, timeoutMs) };
}

async function fetchJson(
  baseUrl: string,
  authorization: string,
  req: JiraRequest,
  timeoutMs: number,
): Promise<JiraResponse> {
  let res: Response;
  try {
    res = await fetch(baseUrl.replace(/\/+$/, '') + buildUrl(req), {
      method: req.method,
      headers: {
        Authorization: authorization,
        Accept: 'application/json',
        'User-Agent': USER_AGENT,
        'X-Atlassian-Token': 'no-check',
        ...req.headers,
        ...(req.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    throw networkError(err as NodeJS.ErrnoException, req);
  }
  const text = await res.text().catch(() => '');
  let body: unknown = text === '' ? undefined : text;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body };
}

function networkError(err: NodeJS.ErrnoException, req: JiraRequest): JiraError {
  const timedOut = err.name === 'TimeoutError' || err.code === 'ETIMEDOUT' || err.code === 'ESOCKETTIMEDOUT';
  const kind = timedOut ? 'timeout' : 'network';
  const why = timedOut
    ? 'timed out'
    : `failed (${err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message})`;
  return new JiraError(`${req.method} ${req.path} ${why}`, kind, true, { method: req.method, path: req.path });
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
