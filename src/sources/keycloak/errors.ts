import { OutboundRefused, RedirectRefused } from '../outbound';
import { KeycloakError } from './client';
import { KEYCLOAK_ROLES } from './settings';

export interface Who {
  serverUrl: string;
  realm: string;
  clientRealm: string;
  clientId: string;
}

const ROLES = `Clients → the client → Service account roles → Assign role → filter by clients → realm-management: ${KEYCLOAK_ROLES.join(', ')}`;

/** What a token request's refusal means, in one sentence that says what to fix. */
function tokenRefusal(err: KeycloakError, w: Who): string {
  const said = `${err.code}: ${err.message}`;
  if (err.status === 404 || /realm does not exist/i.test(err.message))
    return `Keycloak has no realm ${w.clientRealm} at ${w.serverUrl} (${said}): check the server URL and the realm's name (it is case-sensitive).`;
  if (/service account/i.test(err.message))
    return `The client ${w.clientId} may not use client credentials (${said}): turn on Client authentication and Service accounts roles in its settings (Clients → ${w.clientId} → Settings → Capability config).`;
  if (err.code === 'unauthorized_client' || err.code === 'invalid_client' || err.status === 401)
    return `Keycloak did not accept client ${w.clientId} with this secret in the realm ${w.clientRealm} (${said}): check the client ID, and paste the secret from Clients → ${w.clientId} → Credentials.`;
  return `Keycloak refused a token for client ${w.clientId} (${said}).`;
}

/** What an Admin REST API refusal means, in one sentence that says what to fix. */
function apiRefusal(err: KeycloakError, w: Who): string {
  if (err.status === 403)
    return `The service account of client ${w.clientId} lacks a realm-management role this app needs (Keycloak: ${err.message}): ${ROLES}.`;
  if (err.status === 401)
    return `Keycloak did not accept the token it issued (${err.message}): test again; if it persists, check the client's realm (${w.clientRealm}) holds the management roles of ${w.realm}.`;
  if (err.status === 404)
    return `Keycloak answered 404 (${err.message}): check the realm ${w.realm} and the scope's groups.`;
  return `Keycloak answered ${err.status} ${err.code}: ${err.message}`;
}

/** Whether the IdP refused the stored credentials: its token endpoint, or a 401 from its API. */
export function refusesCredentials(err: unknown): boolean {
  return err instanceof KeycloakError && (err.at === 'token' || err.status === 401);
}

/** A failure talking to Keycloak as one sentence that says what to fix; undefined for what is not Keycloak's (our bug). */
export function explainKeycloakError(err: unknown, w: Who): string | undefined {
  if (err instanceof KeycloakError) return err.at === 'token' ? tokenRefusal(err, w) : apiRefusal(err, w);
  if (err instanceof OutboundRefused) return `${err.message}. Enter the Keycloak server's public URL.`;
  if (err instanceof RedirectRefused)
    return `${w.serverUrl} answered with a redirect, which this server does not follow: enter the URL Keycloak answers at (with /auth before Keycloak 17).`;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR|CERT|DEPTH|SELF_SIGNED|UNABLE)/.test(code))
    return `Could not reach ${w.serverUrl} (${code}: ${(err as Error).message}): check the server URL and this server's outbound HTTPS.`;
  return undefined;
}
