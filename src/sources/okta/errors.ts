import { OutboundRefused, RedirectRefused } from '../outbound';
import { OktaError } from './client';
import { OKTA_SCOPES } from './settings';

export interface Who {
  orgUrl: string;
  clientId?: string;
  method: 'apiToken' | 'privateKey';
}

const SCOPES_TAB = 'Applications → the API service app → Okta API Scopes';
const ROLES_TAB = 'Applications → the API service app → Admin roles';

/** What a token request's refusal means, in one sentence that says what to fix. */
function tokenRefusal(err: OktaError, w: Who): string {
  const said = `${err.code}: ${err.message}`;
  if (err.code === 'invalid_client') {
    if (/kid|key|signature|jwks|verify/i.test(err.message))
      return `Okta did not accept the private key for client ${w.clientId} (${said}): add its public key to the service app (General → Public keys), or paste the private key of a key registered there, with its key ID.`;
    return `Okta does not know client ${w.clientId} at ${w.orgUrl}, or refused its assertion (${said}): check the client ID of the API service app, and that its client authentication is "Public key / Private key".`;
  }
  if (err.code === 'invalid_scope')
    return `The service app is not granted every scope this app reads (${said}): in ${SCOPES_TAB}, grant ${OKTA_SCOPES.join(', ')}.`;
  if (err.code === 'unauthorized_client')
    return `The app ${w.clientId} may not use client credentials (${said}): create an "API Services" app integration, whose grant is client credentials.`;
  if (/dpop/i.test(err.code))
    return `Okta refused the DPoP proof of the token request (${said}): check this server's clock (NTP), then test again.`;
  return `Okta refused a token for client ${w.clientId} (${said}).`;
}

/** What a Management API refusal means, in one sentence that says what to fix. */
function apiRefusal(err: OktaError, w: Who): string {
  if (err.code === 'insufficient_scope')
    return `The access token lacks the scope ${err.scope ?? ''}: in ${SCOPES_TAB}, grant ${OKTA_SCOPES.join(', ')}.`;
  if (err.code === 'E0000006')
    return w.method === 'apiToken'
      ? `The API token may not read this (Okta: ${err.message}): create it as an administrator who can read users, groups, apps and the System Log (Read-only Administrator is enough).`
      : `The service app has no admin role that may read this (Okta: ${err.message}): in ${ROLES_TAB}, assign Read-only Administrator.`;
  if (err.code === 'E0000011' || err.status === 401)
    return w.method === 'apiToken'
      ? `Okta did not accept the API token (${err.message}): it was revoked or expired (tokens unused for 30 days expire); create a new one under Security → API → Tokens and paste it.`
      : `Okta did not accept the access token it issued (${err.message}): test the connection again; if it persists, check the service app is active.`;
  if (err.code === 'E0000047' || err.status === 429)
    return `Okta kept refusing for its rate limit after waiting for each reset: read again later, or raise the org's limits (Reports → Rate limits).`;
  if (err.code === 'foreign_link') return `${err.message}: this server only follows links on ${w.orgUrl}.`;
  if (err.status === 404)
    return `Okta answered 404 (${err.message}): check the org URL ${w.orgUrl} and the scope's IDs.`;
  return `Okta answered ${err.status} ${err.code}: ${err.message}`;
}

/** Whether the IdP refused the stored credentials: its token endpoint, or a 401 from its API. */
export function refusesCredentials(err: unknown): boolean {
  return err instanceof OktaError && (err.at === 'token' || err.code === 'E0000011' || err.status === 401);
}

/** A failure talking to Okta as one sentence that says what to fix; undefined for what is not Okta's (our bug). */
export function explainOktaError(err: unknown, w: Who): string | undefined {
  if (err instanceof OktaError) return err.at === 'token' ? tokenRefusal(err, w) : apiRefusal(err, w);
  if (err instanceof OutboundRefused || err instanceof RedirectRefused)
    return `${err.message}. Enter the org URL Okta gives (https://<your org>.okta.com).`;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR|CERT|DEPTH|SELF_SIGNED|UNABLE)/.test(code))
    return `Could not reach ${w.orgUrl} (${code}: ${(err as Error).message}): check the org URL and this server's outbound HTTPS.`;
  return undefined;
}
