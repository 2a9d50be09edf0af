import { GoogleError } from './client';
import { GOOGLE_SCOPES } from './settings';

export interface Who {
  clientEmail: string;
  clientId: string;
  adminEmail: string;
  customerId: string;
}

const DELEGATION = 'Admin console → Security → Access and data control → API controls → Domain-wide delegation';

/** What a token request's refusal means, in one sentence that says what to fix. */
function tokenRefusal(err: GoogleError, w: Who): string {
  const text = err.message;
  if (err.oauthError === 'unauthorized_client')
    return `Google refused a token for ${w.clientEmail} acting as ${w.adminEmail}: client ID ${w.clientId} is not granted domain-wide delegation for every scope this app reads. In the ${DELEGATION}, add client ID ${w.clientId} with the scopes ${GOOGLE_SCOPES.join(',')} (a new grant can take up to 24 hours to apply).`;
  if (/signature/i.test(text))
    return `Google did not accept the service account key of ${w.clientEmail} (${text}): the key was deleted or revoked in Google Cloud; create a new JSON key and paste it.`;
  if (/short-lived|timeframe|iat|exp/i.test(text))
    return `Google refused the signed request as outside its time window (${text}): this server's clock is off; set it right (NTP).`;
  if (/email|user id|deleted/i.test(text))
    return `Google does not know ${w.adminEmail}, the admin to act as (${text}): enter the email of an administrator of this Google Workspace account.`;
  return `Google refused a token for ${w.clientEmail} (${err.oauthError ?? err.status}: ${text}).`;
}

/** What an Admin SDK refusal means, in one sentence that says what to fix. */
function apiRefusal(err: GoogleError, w: Who): string {
  const r = err.reason;
  if (r === 'accessNotConfigured' || /has not been used in project|is disabled/i.test(err.message))
    return `The Admin SDK API is not enabled in the Google Cloud project of ${w.clientEmail}: enable it (APIs & Services → Library → Admin SDK API), then test again.`;
  if (r === 'insufficientPermissions')
    return `The token for ${w.adminEmail} lacks a scope this app reads: in the ${DELEGATION}, give client ID ${w.clientId} the scopes ${GOOGLE_SCOPES.join(',')}.`;
  if (r === 'forbidden' || (err.status === 400 && /invalid input/i.test(err.message) && w.customerId === 'my_customer'))
    return `${w.adminEmail} may not read this account's users and groups (Google: ${err.message}): impersonate a super administrator, or an admin whose role can read users, groups and reports.`;
  if (r === 'userRateLimitExceeded' || r === 'rateLimitExceeded' || err.status === 429)
    return `Google kept refusing for its rate limit (${r || err.status}) after waiting and asking again: read again later, or raise the Admin SDK's queries per minute in Google Cloud (and GOOGLE_QUERIES_PER_MINUTE).`;
  if (r === 'quotaExceeded')
    return `Google's quota for the Admin SDK was still used up after waiting for it to reset: read again later, or raise the quota in Google Cloud.`;
  if (err.status === 404 && /customer/i.test(err.message))
    return `The customer ID ${w.customerId} is not this account's: use my_customer, or the ID under Admin console → Account → Account settings.`;
  if (err.status === 401)
    return `Google did not accept the access token it issued (${err.message}): test the connection again; if it persists, create a new key.`;
  return `Google answered ${err.status}${r ? ` ${r}` : ''}: ${err.message}`;
}

/** Whether the IdP refused the stored credentials: its token endpoint, or a 401 from its API. */
export function refusesCredentials(err: unknown): boolean {
  return err instanceof GoogleError && (err.at === 'token' || err.status === 401);
}

/** A failure talking to Google as one sentence that says what to fix; undefined for what is not Google's (our bug). */
export function explainGoogleError(err: unknown, w: Who): string | undefined {
  if (err instanceof GoogleError) return err.at === 'token' ? tokenRefusal(err, w) : apiRefusal(err, w);
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR|CERT|DEPTH|SELF_SIGNED|UNABLE)/.test(code))
    return `Could not reach Google (${code}: ${(err as Error).message}): check this server's outbound HTTPS to googleapis.com.`;
  return undefined;
}
