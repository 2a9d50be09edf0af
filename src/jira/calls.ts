import { describeJiraBody, isRetryableStatus, JiraError, needsCredential } from './errors';
import type { CallKind, TenantLimiter } from './limiter';
import type { Clock } from '../clock';
import { parseRetryAfter, withRetry, type RetryPolicy } from './retry';
import type { JiraRequest, Transport } from './transport';
import { metrics, templateOf } from '../metrics';
import { inSpan, SpanKind, tracing, withTraceHeaders } from '../tracing';

/**
 * Which credential an endpoint needs; 'token-or-jwt' prefers the token when one is stored. 'jwt' is
 * the app's own traffic: the Connect JWT, or on Forge the app system token.
 */
export type Auth = 'jwt' | 'token' | 'org' | 'token-or-jwt';

export interface JiraClientOptions {
  clientKey: string;
  /** The app's own transport (Forge's app system token, else the Connect JWT); undefined while neither is at hand. */
  app: () => Promise<Transport | undefined>;
  /** The site-admin token transport, or undefined when the tenant has not stored one. */
  siteToken: () => Promise<Transport | undefined>;
  /** The org API key transport (with the organization's id), or undefined when the tenant has not stored one. */
  orgKey: () => Promise<(Transport & { orgId?: string }) | undefined>;
  limiter: TenantLimiter;
  policy: RetryPolicy;
  clock: Clock;
  onRetry?: (err: JiraError, waitMs: number, attempt: number) => void;
}

/** JSM processes its experimental APIs only with this header. */
export const EXPERIMENTAL = { 'X-ExperimentalApi': 'opt-in' };

/**
 * The one path every Jira call of a tenant takes: the credential its endpoint needs (see
 * docs/jira.md), the tenant's limiter, the retry policy, and Jira's errors as `JiraError`. The
 * client's calls (client.ts and the classes it extends) are built on it.
 */
export class JiraCalls {
  constructor(protected readonly o: JiraClientOptions) {}

  protected async call<T>(auth: Auth, req: JiraRequest): Promise<T>;
  protected async call<T>(auth: Auth, req: JiraRequest, absentOn: number[]): Promise<T | undefined>;
  protected async call<T>(auth: Auth, req: JiraRequest, absentOn: number[] = []): Promise<T | undefined> {
    const transport = await this.transportFor(auth, req);
    const { clientKey, limiter, policy, clock } = this.o;
    const kind: CallKind = {
      endpoint: `${req.method} ${req.template ?? req.path}`,
      traffic: transport.auth === 'jwt' || transport.auth === 'forge' ? 'app' : transport.auth,
    };
    const endpoint = `${req.method} ${templateOf(req.template ?? req.path)}`;
    const credential = transport.auth;
    return withRetry(
      () => {
        const queued = clock.now();
        return limiter.run(clientKey, kind, async () => {
          metrics.jiraLimiterWait.inc((clock.now() - queued) / 1000);
          const sent = performance.now();
          const res = await tracedCall(endpoint, credential, req, (r) => transport.send(r)).catch((err: unknown) => {
            metrics.jiraCalls.inc({ endpoint, status: '0', credential });
            throw err;
          });
          metrics.jiraCalls.inc({ endpoint, status: String(res.status), credential });
          metrics.jiraDuration.observe({ credential }, (performance.now() - sent) / 1000);
          if (res.status === 429) metrics.jiraRateLimited.inc({ credential });
          if (res.headers['x-ratelimit-nearlimit'] === 'true') limiter.nearLimit(clientKey, kind);
          if (res.status < 400) return res.body as T;
          if (absentOn.includes(res.status)) return undefined;
          const retryAfterMs = isRetryableStatus(res.status) ? parseRetryAfter(res.headers, clock.now()) : undefined;
          if (res.status === 429)
            limiter.rejected(clientKey, kind, { retryAfterMs, reason: res.headers['ratelimit-reason'] });
          const { errorMessages, errors } = describeJiraBody(res.body);
          const said = [...errorMessages, ...Object.entries(errors).map(([k, v]) => `${k}: ${v}`)].join('; ');
          throw new JiraError(
            `Jira answered ${res.status} to ${req.method} ${req.path}${said ? `: ${said}` : ''}`,
            'http',
            isRetryableStatus(res.status),
            {
              status: res.status,
              method: req.method,
              path: req.path,
              retryAfterMs,
              errorMessages,
              errors,
            },
          );
        });
      },
      policy,
      clock,
      this.o.onRetry,
    );
  }

  private async transportFor(auth: Auth, req: JiraRequest): Promise<Transport> {
    if (auth === 'jwt')
      return (await this.o.app()) ?? Promise.reject(needsCredential('app-token', req.method, req.path));
    if (auth === 'org')
      return (await this.o.orgKey()) ?? Promise.reject(needsCredential('org-api-key', req.method, req.path));
    const token = await this.o.siteToken();
    if (token) return token;
    if (auth === 'token-or-jwt')
      return (await this.o.app()) ?? Promise.reject(needsCredential('app-token', req.method, req.path));
    throw needsCredential('site-admin-token', req.method, req.path);
  }
}

/** True for Jira's answer to adding a user who is already in the group (success for an idempotent add). */
export function isAlreadyMember(err: unknown): boolean {
  return (
    err instanceof JiraError &&
    err.status === 400 &&
    (err.details.errorMessages ?? []).some((m) => /already a member/i.test(m))
  );
}

/** Traced, a Jira call is a client span that sends its `traceparent` on (W3C trace context); otherwise just sent. */
function tracedCall<R extends { status: number }>(
  endpoint: string,
  credential: string,
  req: JiraRequest,
  send: (req: JiraRequest) => Promise<R>,
): Promise<R> {
  if (!tracing()) return send(req);
  return inSpan(
    `Jira ${endpoint}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': req.method,
        'url.template': endpoint.slice(endpoint.indexOf(' ') + 1),
        'idp.jira.credential': credential,
      },
    },
    async (span) => {
      const res = await send({ ...req, headers: withTraceHeaders(req.headers) });
      span?.setAttribute('http.response.status_code', res.status);
      return res;
    },
  );
}
