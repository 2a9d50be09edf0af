import { GraphError } from './graph';

/** Whether an error comes from talking to Microsoft (and so has an explanation for the admin), not from our own code. */
export function isEntraError(err: unknown): boolean {
  return (
    err instanceof GraphError ||
    /^(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EPIPE|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|ERR_TLS)/.test(
      String((err as NodeJS.ErrnoException)?.code ?? ''),
    )
  );
}

/** Whether Microsoft refused the app's credentials (a wrong or expired secret, an unknown client). */
export function refusesCredentials(err: unknown): boolean {
  if (!(err instanceof GraphError)) return false;
  return [7000215, 7000222, 700016].some((c) => err.aadCodes.includes(c)) || err.code === 'invalid_client';
}

/**
 * One line telling the admin what to fix, for whatever reading Entra ID threw: a wrong or expired
 * secret, an unknown tenant or app, missing permissions or consent, an unknown group or app, a
 * network failure. Never includes the secret.
 */
export function explainEntraError(err: unknown, where: { authorityHost: string; graphHost: string }): string {
  if (err instanceof GraphError) {
    const codes = new Set(err.aadCodes);
    const text = err.message;
    if (codes.has(7000215))
      return "The client secret is wrong: copy the secret's Value (not its Secret ID) from the app registration's Certificates & secrets and save it here.";
    if (codes.has(7000222))
      return 'The client secret has expired: create a new client secret under Certificates & secrets and save it here.';
    if (codes.has(700016))
      return "No application with this client ID exists in the tenant: check the Application (client) ID on the app registration's Overview page, and the tenant ID.";
    if (
      codes.has(90002) ||
      /invalid_tenant|endpoints_resolution_error|tenant .* not found/i.test(`${err.code} ${text}`)
    ) {
      return `The tenant was not found at ${where.authorityHost}: check the Directory (tenant) ID and the cloud (global, US Government, China).`;
    }
    if (err.code === 'invalid_client')
      return `The token endpoint refused the client credentials (${firstLine(text)}): check the client ID and secret.`;
    if (err.status === 403 || err.code === 'Authorization_RequestDenied') {
      return 'Microsoft Graph refused to read the directory: add the application permissions User.Read.All and GroupMember.Read.All (or Directory.Read.All; Application.Read.All for an enterprise application scope) to the app registration and click "Grant admin consent".';
    }
    if (err.status === 404 || err.code === 'Request_ResourceNotFound')
      return `Not found in the directory: ${firstLine(text)} Check the group or enterprise application IDs of the sync scope.`;
    if (err.status === 400 && /filter|query/i.test(`${err.code} ${text}`))
      return `Microsoft Graph rejected a query: ${firstLine(text)} Check the user filter.`;
    if (err.status === 429 || err.status === 503 || err.status === 504)
      return `Microsoft Graph is throttling or unavailable (HTTP ${err.status}) and kept refusing after waiting as asked; the next sync will try again.`;
    if (err.code === 'foreign_link') return firstLine(text);
    return `Microsoft answered HTTP ${err.status || 'error'} ${err.code}: ${firstLine(text)}`;
  }
  const e = err as NodeJS.ErrnoException;
  if (
    e?.code &&
    /^(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(e.code)
  ) {
    return `Could not reach ${where.authorityHost} or ${where.graphHost} (${e.code}): check the cloud and any proxy or firewall.`;
  }
  return `Reading Entra ID failed: ${firstLine((err as Error)?.message ?? String(err))}`;
}

const firstLine = (s: string) => s.split(/\r?\n/)[0].trim();
