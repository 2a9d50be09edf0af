import {
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { MicrosoftHttp, type HttpOptions } from './http';
import { endpointsOf, type EntraSettings } from './settings';

/** Graph or the token endpoint said no: the HTTP status, Graph's or AAD's error code, and its message. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly aadCodes: number[] = [],
  ) {
    super(message);
  }

  /** The delta state is gone (HTTP 410 or syncStateNotFound): start again with a full read. */
  get resyncRequired(): boolean {
    return this.status === 410 || /syncstatenotfound|resyncrequired|syncstateinvalid/i.test(this.code);
  }
}

/** msal's network client: our HTTPS (extra CA, keep-alive) with Retry-After on the token endpoint, which msal does not retry itself. */
class MsalNetwork implements INetworkModule {
  constructor(private readonly http: MicrosoftHttp) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(
    method: 'GET' | 'POST',
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> {
    const res = await this.http.request(method, url, options?.headers ?? {}, options?.body);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = {
        error: 'invalid_response',
        error_description: `HTTP ${res.status} from ${new URL(url).host} without a JSON body`,
      };
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }
}

export interface GraphPage<T> {
  value: T[];
  nextLink?: string;
  deltaLink?: string;
}

/**
 * Microsoft Graph for one connection: a client-credentials token from msal-node (cached by msal,
 * renewed before it expires), requests marked `x-ms-throttle-priority: low`, Retry-After honoured on
 * 429/503/504, and next/delta links followed only on the connection's own Graph host — the token is
 * never sent anywhere else.
 */
export class GraphClient {
  private readonly msal: ConfidentialClientApplication;
  private readonly graphUrl: string;
  private readonly scope: string;

  constructor(
    settings: EntraSettings,
    clientSecret: string,
    private readonly http: MicrosoftHttp,
  ) {
    const { authority, graphUrl } = endpointsOf(settings);
    this.graphUrl = graphUrl;
    this.scope = `${graphUrl}/.default`;
    const authorityHost = new URL(authority).host;
    const config: Configuration = {
      auth: { clientId: settings.clientId, clientSecret, authority, knownAuthorities: [authorityHost] },
      system: { networkClient: new MsalNetwork(http) },
    };
    this.msal = new ConfidentialClientApplication(config);
  }

  /** A token for Graph (from msal's cache while it is fresh). */
  async token(): Promise<string> {
    try {
      const result = await this.msal.acquireTokenByClientCredential({ scopes: [this.scope] });
      if (!result?.accessToken) throw new GraphError(0, 'no_token', 'The token endpoint returned no access token.');
      return result.accessToken;
    } catch (err) {
      throw toGraphError(err);
    }
  }

  /** GET a Graph path (`/users?…`) or a link Graph gave (`@odata.nextLink`); JSON back, or a GraphError. */
  async get<T = Record<string, unknown>>(pathOrUrl: string, headers: Record<string, string> = {}): Promise<T> {
    const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${this.graphUrl}/v1.0${pathOrUrl}`;
    if (new URL(url).origin !== new URL(this.graphUrl).origin)
      throw new GraphError(
        0,
        'foreign_link',
        `Graph sent a link to another host (${new URL(url).host}); not followed.`,
      );
    const token = await this.token();
    const res = await this.http.request('GET', url, {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'x-ms-throttle-priority': 'low',
      ...headers,
    });
    let body: unknown;
    try {
      body = res.text ? JSON.parse(res.text) : {};
    } catch {
      throw new GraphError(res.status, 'invalid_response', `Graph answered HTTP ${res.status} without JSON.`);
    }
    if (res.status >= 400) {
      const e = (body as { error?: { code?: string; message?: string } }).error;
      throw new GraphError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `HTTP ${res.status}`);
    }
    return body as T;
  }

  /** One page of a collection. */
  async page<T>(pathOrUrl: string, headers: Record<string, string> = {}): Promise<GraphPage<T>> {
    const body = await this.get<{ value?: T[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string }>(
      pathOrUrl,
      headers,
    );
    return { value: body.value ?? [], nextLink: body['@odata.nextLink'], deltaLink: body['@odata.deltaLink'] };
  }

  /**
   * Every page of a collection, following next links (until a delta link, if it is a delta query).
   * The next page is already being fetched while the caller writes the current one.
   */
  async *pages<T>(pathOrUrl: string, headers: Record<string, string> = {}): AsyncGenerator<GraphPage<T>> {
    let pending: Promise<GraphPage<T>> | undefined = this.page<T>(pathOrUrl, headers);
    while (pending) {
      const page: GraphPage<T> = await pending;
      pending = page.nextLink ? this.page<T>(page.nextLink, headers) : undefined;
      pending?.catch(() => undefined); // a failure surfaces when it is awaited, not as an unhandled rejection
      yield page;
    }
  }
}

/** msal's errors as GraphErrors: status, AAD error code (invalid_client, …) and AADSTS numbers. */
function toGraphError(err: unknown): GraphError {
  if (err instanceof GraphError) return err;
  const e = err as { errorCode?: string; errorMessage?: string; status?: number; message?: string; errorNo?: string };
  const text = e.errorMessage || e.message || String(err);
  const codes = [...text.matchAll(/AADSTS(\d+)/g)].map((m) => Number(m[1]));
  return new GraphError(e.status ?? 0, e.errorCode ?? 'token_error', text, codes);
}

export { MicrosoftHttp, type HttpOptions };
