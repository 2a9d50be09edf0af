import type { HttpResponse } from '../http';
import { OktaAuth } from './auth';
import { mayAskAgain, pauseForTrouble, SERVER_TROUBLE } from './trouble';
import type { OktaCredential } from './credential';
import {
  OktaError,
  type OktaAppUser,
  type OktaGroup,
  type OktaLogEvent,
  type OktaUser,
  type OktaClientOptions,
} from './types';

export * from './types';

/** Page sizes: Okta's documented maxima (users 200, app users 500, logs 1,000), its advice for groups (200), its default for members (1,000). */
export const PAGE = { users: 200, groups: 200, groupUsers: 1000, appUsers: 500, appGroups: 200, logs: 1000 } as const;

/** The next page's URL from a `Link` header (`<…>; rel="next"`), if any. */
export function nextLink(link: string | undefined): string | undefined {
  for (const part of (link ?? '').split(/,(?=\s*<)/)) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** The rate-limit bucket of a path: its template, ids replaced (`/api/v1/groups/*\/users`). */
export function bucketOf(path: string): string {
  return path.replace(/\/(00[a-z0-9]|0o[a-z0-9])[A-Za-z0-9]{17}(?=\/|$)/g, '/*');
}

/**
 * One connection's way into an Okta org's Management API, over the app's HTTPS client (the
 * address guard: the org URL is typed by an admin), authorized by `OktaAuth` (an API token, or a
 * service app's DPoP-bound token fetched again after a 401). Lists follow the `Link` header's `next` URL as given, only
 * on the org's host. Each request is paced by the org's `X-Rate-Limit-*` headers (`OktaRates`); a 429
 * waits until the bucket resets. A 404 is `null`; any other failure an `OktaError`.
 */
export class OktaClient {
  private readonly auth: OktaAuth;
  /** Requests made (the benchmark counts them against the floor of the page sizes). */
  calls = 0;

  constructor(
    readonly origin: string,
    credential: OktaCredential,
    private readonly o: OktaClientOptions,
  ) {
    this.auth = new OktaAuth(origin, credential, { ...o, count: () => this.calls++ });
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** Pages of users; `filter` as Okta's filter syntax (statuses, `lastUpdated gt "…"`). */
  users(filter?: string): AsyncGenerator<OktaUser[]> {
    return this.pages('/api/v1/users', { limit: PAGE.users, ...(filter ? { filter } : {}) });
  }

  user(id: string): Promise<OktaUser | null> {
    return this.one(`/api/v1/users/${encodeURIComponent(id)}`);
  }

  /** The groups a user is a direct member of (Okta groups do not nest). */
  userGroups(id: string): AsyncGenerator<OktaGroup[]> {
    return this.pages(`/api/v1/users/${encodeURIComponent(id)}/groups`, {});
  }

  groups(params: { q?: string; filter?: string } = {}): AsyncGenerator<OktaGroup[]> {
    return this.pages('/api/v1/groups', { limit: PAGE.groups, ...params });
  }

  group(id: string): Promise<OktaGroup | null> {
    return this.one(`/api/v1/groups/${encodeURIComponent(id)}`);
  }

  groupUsers(id: string): AsyncGenerator<OktaUser[]> {
    return this.pages(`/api/v1/groups/${encodeURIComponent(id)}/users`, { limit: PAGE.groupUsers });
  }

  /** The users assigned to an app (directly or through a group), each with its Okta user embedded. */
  appUsers(appId: string): AsyncGenerator<OktaAppUser[]> {
    return this.pages(`/api/v1/apps/${encodeURIComponent(appId)}/users`, { limit: PAGE.appUsers, expand: 'user' });
  }

  appUser(appId: string, userId: string): Promise<OktaAppUser | null> {
    return this.one(`/api/v1/apps/${encodeURIComponent(appId)}/users/${encodeURIComponent(userId)}`);
  }

  appGroups(appId: string): AsyncGenerator<Array<{ id: string }>> {
    return this.pages(`/api/v1/apps/${encodeURIComponent(appId)}/groups`, { limit: PAGE.appGroups });
  }

  /** System Log events between two times, oldest first (a bounded request: paging ends). */
  logs(since: string, until: string, filter: string): AsyncGenerator<OktaLogEvent[]> {
    return this.pages('/api/v1/logs', { since, until, filter, limit: PAGE.logs, sortOrder: 'ASCENDING' });
  }

  /** A token from the org authorization server (a private key's connection; an API token needs none). */
  authenticate(): Promise<void> {
    return this.auth.authenticate();
  }

  // ---- transport -----------------------------------------------------------------------------

  private async *pages<T>(path: string, params: Record<string, string | number>): AsyncGenerator<T[]> {
    let url: string | undefined = this.urlOf(path, params);
    while (url) {
      const res = await this.get(url);
      yield JSON.parse(res.text) as T[];
      url = nextLink(res.headers.link);
      if (url && new URL(url).origin !== this.origin)
        throw new OktaError(0, 'foreign_link', `Okta's next page is on another host (${new URL(url).host})`, 'api');
    }
  }

  private async one<T>(path: string): Promise<T | null> {
    try {
      return JSON.parse((await this.get(this.urlOf(path, {}))).text) as T;
    } catch (err) {
      if (err instanceof OktaError && err.status === 404) return null;
      throw err;
    }
  }

  private urlOf(path: string, params: Record<string, string | number>): string {
    const u = new URL(path, this.origin);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /**
   * One GET, paced by the bucket's rate limit; a 429 waits until the bucket resets, a 401 fetches a
   * new token once, server trouble (5xx) and network failures are asked again with backoff — each
   * attempt with its own DPoP proof.
   */
  private async get(url: string): Promise<HttpResponse> {
    const bucket = bucketOf(new URL(url).pathname);
    let renewed = false;
    let last: HttpResponse | undefined;
    for (let attempt = 1; attempt <= this.o.maxAttempts; attempt++) {
      await this.o.rates.turn(this.origin, bucket, this.o.onWait);
      const headers = { accept: 'application/json', ...(await this.auth.authorization('GET', url)) };
      this.calls++;
      let res: HttpResponse;
      try {
        res = await this.o.http.request('GET', url, headers);
      } catch (err) {
        this.o.rates.note(this.origin, bucket, {}, false);
        if (!mayAskAgain(err) || attempt >= this.o.maxAttempts) throw err;
        await pauseForTrouble(this.o, (err as NodeJS.ErrnoException).code ?? 'error', attempt);
        continue;
      }
      this.o.rates.note(this.origin, bucket, res.headers, res.status === 429);
      last = res;
      if (res.status >= 200 && res.status < 300) return res;
      if (res.status === 429) continue; // the next turn waits until the bucket resets
      if (SERVER_TROUBLE.has(res.status) && attempt < this.o.maxAttempts) {
        await pauseForTrouble(this.o, res.status, attempt);
        continue;
      }
      if (res.status === 401 && !renewed && this.auth.renew(res)) {
        renewed = true;
        attempt--;
        continue;
      }
      throw apiError(res);
    }
    throw apiError(last!);
  }
}

/** An API refusal as an OktaError: Okta's error body, or a scope the token lacks (403 with an empty body). */
function apiError(res: HttpResponse): OktaError {
  const www = res.headers['www-authenticate'] ?? '';
  if (res.status === 403 && /insufficient_scope/.test(www)) {
    const scope = /scope="([^"]*)"/.exec(www)?.[1];
    return new OktaError(
      403,
      'insufficient_scope',
      `the access token lacks the scope ${scope ?? '(unnamed)'}`,
      'api',
      scope,
    );
  }
  try {
    const body = JSON.parse(res.text) as {
      errorCode?: string;
      errorSummary?: string;
      errorCauses?: Array<{ errorSummary?: string }>;
    };
    const causes = (body.errorCauses ?? []).map((c) => c.errorSummary).filter(Boolean);
    return new OktaError(
      res.status,
      body.errorCode ?? String(res.status),
      [body.errorSummary ?? `HTTP ${res.status}`, ...causes].join(': '),
      'api',
    );
  } catch {
    return new OktaError(res.status, String(res.status), `HTTP ${res.status} ${res.text.slice(0, 200)}`, 'api');
  }
}
