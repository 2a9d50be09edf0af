import { describeJiraBody, isRetryableStatus, JiraError } from './errors';
import { createForgeTransport, type JiraRequest, type JiraResponse } from './transport';

/**
 * The reserved app property through which Jira hands a Forge app (one that kept `app.connect.key`)
 * the Connect `clientKey` of the same app on the same site, until Connect's end of support. It is
 * synthetic and read-only, and absent (404) where the site never had the Connect version.
 */
export const CONNECT_CLIENT_KEY_PROPERTY = 'connect_client_key_019cdff3-8bfb-71fe-9628-875b700aebb8';

/** What Jira says of the site a Forge installation is on, asked with the app system token. */
export interface ForgeSiteFacts {
  /** The site's base URL (`serverInfo.baseUrl`), without a trailing slash. */
  baseUrl: string;
  displayUrl?: string;
  /** The Connect `clientKey` of this app on this site, when the site had the Connect version. */
  connectClientKey?: string;
}

/**
 * Asks Jira, through Forge's API base URL and the app system token a backend call brought, which
 * site an installation is on: `GET /rest/api/3/serverInfo` for its URL, and the reserved app property
 * for the Connect `clientKey` — both at once, one attempt each, since Forge gives a call 5 s and
 * redelivers it when the answer is an error. Throws a JiraError: retryable when Jira or the network
 * failed for now, not when the token was refused.
 */
export async function readForgeSite(opts: {
  apiBaseUrl: string;
  systemToken: string;
  appKey: string;
  timeoutMs: number;
}): Promise<ForgeSiteFacts> {
  const transport = createForgeTransport(opts.apiBaseUrl, opts.systemToken, opts.timeoutMs);
  const send = async (req: JiraRequest, accept: number[]): Promise<JiraResponse> => {
    const res = await transport.send(req);
    if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
    const said = describeJiraBody(res.body).errorMessages.join(' ');
    throw new JiraError(
      `${req.method} ${req.template ?? req.path} answered ${res.status}${said ? `: ${said}` : ''}`,
      'http',
      isRetryableStatus(res.status),
      { status: res.status, method: req.method, path: req.template ?? req.path },
    );
  };
  const [info, property] = await Promise.all([
    send({ method: 'GET', path: '/rest/api/3/serverInfo' }, []),
    send(
      {
        method: 'GET',
        path: `/rest/atlassian-connect/1/addons/${encodeURIComponent(opts.appKey)}/properties/${CONNECT_CLIENT_KEY_PROPERTY}`,
        template: '/rest/atlassian-connect/1/addons/{addonKey}/properties/{propertyKey}',
      },
      // 404: the site never had the Connect version (or Connect's end of support has passed); 403: not for this app.
      [403, 404],
    ),
  ]);
  const body = (info.body ?? {}) as { baseUrl?: unknown; displayUrl?: unknown };
  if (typeof body.baseUrl !== 'string' || !/^https?:\/\//.test(body.baseUrl))
    throw new JiraError('GET /rest/api/3/serverInfo named no baseUrl', 'http', false, {
      status: info.status,
      method: 'GET',
      path: '/rest/api/3/serverInfo',
    });
  return {
    baseUrl: body.baseUrl.replace(/\/+$/, ''),
    ...(typeof body.displayUrl === 'string' ? { displayUrl: body.displayUrl.replace(/\/+$/, '') } : {}),
    ...optional('connectClientKey', property.status === 200 ? clientKeyOf(property.body) : undefined),
  };
}

/** The property's value is the clientKey itself; an object that names it (`{clientKey}`) is read too. */
function clientKeyOf(body: unknown): string | undefined {
  const value = (body as { value?: unknown } | undefined)?.value;
  if (typeof value === 'string' && value) return value;
  const inner = (value as { clientKey?: unknown } | undefined)?.clientKey;
  return typeof inner === 'string' && inner ? inner : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
