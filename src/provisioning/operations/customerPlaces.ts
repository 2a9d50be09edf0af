import { JiraError } from '../../jira/errors';

/** The words that say a rule names a desk or organization JSM no longer has (the run's notes pick them out). */
export const GONE_MARK = 'no longer exists: remove it from the rules';

/** JSM's 404: the service desk or organization is gone. */
export function isGone(err: unknown): err is JiraError {
  return err instanceof JiraError && err.status === 404;
}

/** "service desk 999 no longer exists: remove it from the rules (JSM: …)", in JSM's own words rather than an HTTP path. */
export function gone(target: 'desk' | 'org', id: string, err: JiraError): string {
  const said = err.details.errorMessages?.join(' ') || 'not found';
  return `${target === 'desk' ? 'service desk' : 'JSM organization'} ${id} ${GONE_MARK} (JSM: ${said})`;
}
