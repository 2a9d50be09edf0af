import {
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import {
  AuthenticationHandler,
  Client,
  GraphError as SdkGraphError,
  PageIterator,
  ResponseType,
  type PageCollection,
} from '@microsoft/microsoft-graph-client';
import { OutboundHttp, type HttpOptions } from '../http';
import { OutboundRefused, RedirectRefused } from '../outbound';
import {
  FOREIGN_LINK,
  HttpsTransport,
  PageCount,
  PageCounter,
  SameOrigin,
  retryHandler,
  type RetryInfo,
} from './middleware';
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
  /** A call our policy refused (an address, a redirect): msal reports it as a failed discovery, so it is kept to be said as it is. */
  refused?: Error;

  constructor(private readonly http: OutboundHttp) {}

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
    let res;
    try {
      res = await this.http.request(method, url, options?.headers ?? {}, options?.body);
    } catch (err) {
      if (err instanceof OutboundRefused || err instanceof RedirectRefused) this.refused = err;
      throw err;
    }
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
  /** On the last batch of a delta query: the link for the next round. */
  deltaLink?: string;
  /** Graph pages fetched for this batch. */
  pages: number;
}

/** Items handed to the caller at a time (Graph's own largest page). */
const BATCH = 999;

export interface GraphOptions {
  /** Retries of a throttled or unavailable answer (the SDK allows 10 at most). */
  retries: number;
  onRetry?: (info: RetryInfo) => void;
}

/**
 * Microsoft Graph for one connection, through `@microsoft/microsoft-graph-client`: a
 * client-credentials token from msal-node (cached by msal, renewed before it expires), requests
 * marked `x-ms-throttle-priority: low`, the SDK's RetryHandler honouring Retry-After on
 * 429/503/504, its PageIterator following next links, and links followed only on the connection's
 * own Graph host — the token is never sent anywhere else.
 */
export class GraphClient {
  private readonly msal: ConfidentialClientApplication;
  private readonly network: MsalNetwork;
  private readonly client: Client;
  private readonly scope: string;

  constructor(settings: EntraSettings, clientSecret: string, http: OutboundHttp, options: GraphOptions) {
    const { authority, graphUrl } = endpointsOf(settings);
    this.scope = `${graphUrl}/.default`;
    this.network = new MsalNetwork(http);
    const authorityHost = new URL(authority).host;
    const config: Configuration = {
      auth: { clientId: settings.clientId, clientSecret, authority, knownAuthorities: [authorityHost] },
      system: { networkClient: this.network },
    };
    this.msal = new ConfidentialClientApplication(config);
    const graph = new URL(graphUrl);
    this.client = Client.initWithMiddleware({
      baseUrl: graph.origin,
      defaultVersion: 'v1.0',
      customHosts: new Set([graph.hostname]),
      fetchOptions: { headers: { accept: 'application/json', 'x-ms-throttle-priority': 'low' } },
      middleware: [
        new SameOrigin(graph.origin),
        new AuthenticationHandler({ getAccessToken: () => this.token() }),
        retryHandler(options.retries, options.onRetry),
        new PageCounter(),
        new HttpsTransport(http),
      ],
    });
  }

  /** A token for Graph (from msal's cache while it is fresh). */
  async token(): Promise<string> {
    try {
      const result = await this.msal.acquireTokenByClientCredential({ scopes: [this.scope] });
      if (!result?.accessToken) throw new GraphError(0, 'no_token', 'The token endpoint returned no access token.');
      return result.accessToken;
    } catch (err) {
      const refused = this.network.refused;
      this.network.refused = undefined;
      throw refused ?? toGraphError(err);
    }
  }

  /** GET a Graph path (`/users?…`) or a link Graph gave (`@odata.nextLink`); JSON back, or a GraphError. */
  async get<T = Record<string, unknown>>(
    pathOrUrl: string,
    headers: Record<string, string> = {},
    count?: PageCount,
  ): Promise<T> {
    // The token first: its failures keep their AAD codes (the SDK would flatten them); msal's cache serves the handler.
    await this.token();
    try {
      const request = this.client.api(pathOrUrl).headers(headers).responseType(ResponseType.JSON);
      if (count) request.middlewareOptions([count]);
      return (await request.get()) as T;
    } catch (err) {
      throw fromSdk(err);
    }
  }

  /** One page of a collection. */
  async page<T>(pathOrUrl: string, headers: Record<string, string> = {}): Promise<Omit<GraphPage<T>, 'pages'>> {
    const body = await this.get<PageCollection>(pathOrUrl, headers);
    return { value: (body.value ?? []) as T[], deltaLink: body['@odata.deltaLink'] };
  }

  /**
   * A collection in batches of up to 999 items, through the SDK's PageIterator (next links
   * until a delta link, if it is a delta query); the last batch carries the delta link. The
   * iterator reads the next batch while the caller writes the current one.
   */
  async *pages<T>(pathOrUrl: string, headers: Record<string, string> = {}): AsyncGenerator<GraphPage<T>> {
    const count = new PageCount();
    const first = await this.get<PageCollection>(pathOrUrl, headers, count);
    let batch: T[] = [];
    const iterator = new PageIterator(
      this.client,
      { ...first, value: first.value ?? [] },
      (item: T) => batch.push(item) < BATCH,
      { headers, middlewareOptions: [count] },
    );
    const next = () => {
      const running = iterator.resume();
      running.catch(() => undefined); // a failure surfaces when it is awaited, not as an unhandled rejection
      return running;
    };
    let running = next();
    for (;;) {
      try {
        await running;
      } catch (err) {
        throw fromSdk(err);
      }
      const done = iterator.isComplete();
      const out = { value: batch, deltaLink: done ? iterator.getDeltaLink() : undefined, pages: count.pages };
      batch = [];
      count.pages = 0;
      // The next batch is already being fetched while the caller writes this one.
      if (!done) running = next();
      if (out.value.length > 0 || done) yield out;
      if (done) return;
    }
  }
}

/** The SDK's errors as ours: Graph's status and code, network codes kept, links off the host named. */
function fromSdk(err: unknown): Error {
  if (err instanceof GraphError || !(err instanceof SdkGraphError)) return err as Error;
  if (err.code === FOREIGN_LINK) return new GraphError(0, 'foreign_link', err.message);
  if (err.statusCode <= 0 && err.code && /^E[A-Z]|^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|ERR_TLS)/.test(err.code))
    return Object.assign(new Error(err.message), { code: err.code });
  if (err.code === 'SyntaxError')
    return new GraphError(err.statusCode, 'invalid_response', `Graph answered HTTP ${err.statusCode} without JSON.`);
  const status = err.statusCode > 0 ? err.statusCode : 0;
  return new GraphError(status, err.code ?? `http_${status}`, err.message || `HTTP ${status}`);
}

/** msal's errors as GraphErrors: status, AAD error code (invalid_client, …) and AADSTS numbers. */
function toGraphError(err: unknown): GraphError {
  if (err instanceof GraphError) return err;
  const e = err as { errorCode?: string; errorMessage?: string; status?: number; message?: string; errorNo?: string };
  const text = e.errorMessage || e.message || String(err);
  const codes = [...text.matchAll(/AADSTS(\d+)/g)].map((m) => Number(m[1]));
  return new GraphError(e.status ?? 0, e.errorCode ?? 'token_error', text, codes);
}

export { OutboundHttp, type HttpOptions };
