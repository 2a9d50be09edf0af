/** Why a Jira call failed, in words the caller can act on. */
export type JiraErrorKind = 'http' | 'network' | 'timeout' | 'needs-credentials';

/**
 * Every failure of a Jira call. `retryable` says whether the same call may succeed later;
 * `retryAfterMs` is Jira's own wait (Retry-After / X-RateLimit-Reset) when it gave one.
 */
export class JiraError extends Error {
  constructor(
    message: string,
    readonly kind: JiraErrorKind,
    readonly retryable: boolean,
    readonly details: {
      status?: number;
      method?: string;
      path?: string;
      retryAfterMs?: number;
      errorMessages?: string[];
      errors?: Record<string, string>;
      /** For needs-credentials: which credential is missing. */
      needs?: Credential;
    } = {},
  ) {
    super(message);
    this.name = 'JiraError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
}

/**
 * What a call may need that the tenant has not given: the admin's stored credentials, or (a site on
 * Forge alone) the app system token Forge hands over on its next call to the remote.
 */
export type Credential = 'site-admin-token' | 'org-api-key' | 'app-token';

/** A call that needs a credential the tenant has not stored (never retryable until they do). */
export function needsCredential(needs: Credential, method: string, path: string): JiraError {
  const message =
    needs === 'app-token'
      ? `waits for Forge's app system token for ${method} ${path}: Forge hands a fresh one over on its next scheduled call (within the hour)`
      : `needs ${needs === 'site-admin-token' ? 'a site-admin API token' : 'an organization API key'}: ${method} ${path} is closed to Connect apps`;
  return new JiraError(message, 'needs-credentials', false, {
    needs,
    method,
    path,
  });
}

/** Statuses worth trying again: throttling and the server side's transient failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status === 502 || status === 503 || status === 504 || status === 500;
}

/** Jira's error body, read leniently ({errorMessages, errors} or a plain message). */
export function describeJiraBody(body: unknown): { errorMessages: string[]; errors: Record<string, string> } {
  const out = { errorMessages: [] as string[], errors: {} as Record<string, string> };
  if (typeof body === 'string' && body.trim()) out.errorMessages.push(body.trim().slice(0, 500));
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.errorMessages))
      out.errorMessages.push(...b.errorMessages.filter((m): m is string => typeof m === 'string'));
    if (typeof b.message === 'string') out.errorMessages.push(b.message);
    if (typeof b.errors === 'object' && b.errors !== null) {
      for (const [k, v] of Object.entries(b.errors)) if (typeof v === 'string') out.errors[k] = v;
    }
  }
  return out;
}
