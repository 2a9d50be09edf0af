import type KcAdminClient from '@keycloak/keycloak-admin-client';
import type AdminEventRepresentation from '@keycloak/keycloak-admin-client/lib/defs/adminEventRepresentation';
import type GroupRepresentation from '@keycloak/keycloak-admin-client/lib/defs/groupRepresentation';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation';
import type { Dispatcher } from 'undici';
import { backoffDelay } from '../../backoff';
import { OutboundRefused, RedirectRefused } from '../outbound';
import type { KeycloakSettings } from './settings';

export type KeycloakUser = UserRepresentation;
export type KeycloakGroup = GroupRepresentation;
export type KeycloakAdminEvent = AdminEventRepresentation;

/** Page sizes: users 500 (Keycloak's default is 100; it has no maximum), groups and members 500, events 500. */
export const PAGE = { users: 500, groups: 500, members: 500, events: 500 } as const;

/** The admin events an incremental read follows. */
export const EVENT_RESOURCES = ['USER', 'GROUP', 'GROUP_MEMBERSHIP'];

/** An answer from Keycloak that was not a success: its status, Keycloak's `error` and description, and what failed. */
export class KeycloakError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** 'token' (the client's realm's token endpoint) or 'api' (the Admin REST API). */
    readonly at: 'token' | 'api',
  ) {
    super(message);
  }
}

const SERVER_TROUBLE = new Set([500, 502, 503, 504]);
/** A token is fetched again this long before it expires (Keycloak's default lifespan is 5 minutes). */
const REFRESH_EARLY_MS = 30_000;

/** The admin client, loaded when a Keycloak connection first reads (it is an ES module). */
let loaded: Promise<typeof KcAdminClient> | undefined;
const adminClientClass = () => (loaded ??= import('@keycloak/keycloak-admin-client').then((m) => m.default));

/**
 * One connection's way into a Keycloak realm: `@keycloak/keycloak-admin-client` (the client
 * credentials grant with the client's secret; the Admin REST API's users, groups, subgroups,
 * members and admin events), over the server's undici dispatcher (the operator's CA, the address
 * guard: the server URL is typed by an admin; redirects refused). The admin client keeps no refresh
 * token under client credentials and refuses to call with an expired token, so a new one is fetched
 * before the last expires, and once after a 401. Lists page by `first`/`max` until a page is short;
 * a 404 is `null`; server trouble and network failures are asked again with backoff; any other
 * failure a `KeycloakError`.
 */
export class KeycloakClient {
  private kc?: KcAdminClient;
  private expiresAt = 0;
  /** Requests made (the benchmark counts them against the floor of the page sizes). */
  calls = 0;

  constructor(
    private readonly s: KeycloakSettings,
    private readonly secret: string,
    private readonly o: {
      dispatcher: Dispatcher;
      timeoutMs: number;
      maxAttempts: number;
      sleep?: (ms: number) => Promise<void>;
    },
  ) {}

  // ---- reads ---------------------------------------------------------------------------------

  /** Pages of the realm's users, with their attributes. */
  users(): AsyncGenerator<KeycloakUser[]> {
    return this.pages(PAGE.users, (kc, first, max) => kc.users.find({ first, max, briefRepresentation: false }));
  }

  user(id: string): Promise<KeycloakUser | null> {
    return this.call(async (kc) => (await kc.users.findOne({ id })) ?? null);
  }

  /** Users whose username or email is exactly this. */
  async usersBy(field: 'username' | 'email', value: string): Promise<KeycloakUser[]> {
    return this.call((kc) => kc.users.find({ [field]: value, exact: true, briefRepresentation: false, max: 2 }));
  }

  /** The groups a user is a direct member of. */
  userGroups(id: string): AsyncGenerator<KeycloakGroup[]> {
    return this.pages(PAGE.groups, (kc, first, max) =>
      kc.users.listGroups({ id, first, max, briefRepresentation: true }),
    );
  }

  /** Pages of the realm's top-level groups. */
  topGroups(): AsyncGenerator<KeycloakGroup[]> {
    return this.pages(PAGE.groups, (kc, first, max) => kc.groups.find({ first, max, briefRepresentation: true }));
  }

  /** Pages of a group's direct subgroups (`/children`, Keycloak 23 and later); null for a group gone. */
  children(parentId: string): AsyncGenerator<KeycloakGroup[]> {
    return this.pages(
      PAGE.groups,
      async (kc, first, max) =>
        (await kc.groups.listSubGroups({ parentId, first, max, briefRepresentation: true })) ?? [],
    );
  }

  group(id: string): Promise<KeycloakGroup | null> {
    return this.call(async (kc) => (await kc.groups.findOne({ id })) ?? null);
  }

  /** Pages of a group's direct members (a subgroup's are listed under it only), brief or with attributes; a 404 for a group gone. */
  members(id: string, brief = true): AsyncGenerator<KeycloakUser[]> {
    return this.pages(PAGE.members, async (kc, first, max) => {
      const page = (await kc.groups.listMembers({ id, first, max, briefRepresentation: brief })) as
        KeycloakUser[] | null;
      if (page === null) throw new KeycloakError(404, 'not_found', `Group ${id} not found`, 'api');
      return page;
    });
  }

  /** The realm's admin events on users, groups and memberships since a time (ms), newest first as Keycloak gives them. */
  adminEvents(dateFrom: number, dateTo: number): AsyncGenerator<KeycloakAdminEvent[]> {
    return this.pages(PAGE.events, (kc, first, max) =>
      kc.realms.findAdminEvents({
        realm: this.s.realm,
        resourceTypes: EVENT_RESOURCES,
        dateFrom: String(dateFrom),
        dateTo: String(dateTo),
        first,
        max,
      } as never),
    );
  }

  /** Whether the realm records admin events. */
  async adminEventsEnabled(): Promise<boolean> {
    const config = await this.call((kc) => kc.realms.getConfigEvents({ realm: this.s.realm }));
    return Boolean(config.adminEventsEnabled);
  }

  /** A token now (Test connection's first step). */
  async authenticate(): Promise<void> {
    await this.admin();
  }

  // ---- transport -----------------------------------------------------------------------------

  private async *pages<T>(
    size: number,
    page: (kc: KcAdminClient, first: number, max: number) => Promise<T[]>,
  ): AsyncGenerator<T[]> {
    for (let first = 0; ; first += size) {
      const items = await this.call((kc) => page(kc, first, size));
      yield items;
      if (items.length < size) return;
    }
  }

  /** One request with a fresh token: a 401 fetches a new one once; server trouble and network failures are asked again. */
  private async call<T>(request: (kc: KcAdminClient) => Promise<T>): Promise<T> {
    const sleep = this.o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const kc = await this.admin();
      this.calls++;
      try {
        return await request(kc);
      } catch (err) {
        const failure = toKeycloakError(err, 'api');
        if (failure instanceof KeycloakError && failure.status === 401 && !renewed) {
          renewed = true;
          this.expiresAt = 0;
          attempt--;
          continue;
        }
        const again = failure instanceof KeycloakError ? SERVER_TROUBLE.has(failure.status) : isNetwork(failure);
        if (!again || attempt >= this.o.maxAttempts) throw failure;
        await sleep(backoffDelay(attempt, { backoffBaseMs: 1000, backoffMaxMs: 30_000 }, Math.random));
      }
    }
  }

  /** The admin client with a token valid for a while yet (the client's realm for the token, the data's for the calls). */
  private async admin(): Promise<KcAdminClient> {
    if (this.kc && Date.now() < this.expiresAt - REFRESH_EARLY_MS) return this.kc;
    const Client = await adminClientClass();
    const requestOptions = { dispatcher: this.o.dispatcher, redirect: 'error' } as unknown as RequestInit;
    this.kc ??= new Client({
      baseUrl: this.s.serverUrl,
      realmName: this.s.realm,
      requestOptions,
      timeout: this.o.timeoutMs,
    });
    const kc = this.kc;
    // setConfig replaces the request options too: they go with each call of it.
    kc.setConfig({ realmName: this.s.clientRealm ?? this.s.realm, requestOptions });
    this.calls++;
    try {
      await kc.auth({ grantType: 'client_credentials', clientId: this.s.clientId, clientSecret: this.secret });
    } catch (err) {
      throw toKeycloakError(err, 'token');
    } finally {
      kc.setConfig({ realmName: this.s.realm, requestOptions });
    }
    this.expiresAt = Date.now() + expiresInMs(kc.accessToken);
    return kc;
  }
}

/** A token's remaining life from its `exp` (the admin client keeps only the token). */
function expiresInMs(token: string | undefined): number {
  try {
    const payload = JSON.parse(Buffer.from(String(token).split('.')[1], 'base64url').toString('utf8')) as {
      exp?: number;
    };
    return payload.exp ? payload.exp * 1000 - Date.now() : 60_000;
  } catch {
    return 60_000;
  }
}

/** A failure of the network (asked again), not of where the request went (never asked again). */
function isNetwork(err: unknown): boolean {
  if (err instanceof OutboundRefused || err instanceof RedirectRefused) return false;
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^(E[A-Z]+|UND_ERR)/.test(code) && code !== 'EADDRNOTALLOWED';
}

/** The admin client's failure as a KeycloakError (Keycloak's `error` and description), or the error as it is. */
export function toKeycloakError(err: unknown, at: 'token' | 'api'): unknown {
  // fetch's own failure: what lies under it (the address guard's refusal, a redirect, a network error)
  // (checked by shape: fetch's errors come from Node's own realm, where instanceof may not hold)
  const cause = (err as { message?: string; cause?: unknown })?.cause;
  if ((err as Error)?.message === 'fetch failed' && cause && typeof cause === 'object') {
    if (/redirect/i.test(String((cause as Error).message)))
      return new RedirectRefused('the Keycloak server', 'elsewhere');
    return cause;
  }
  const e = err as { response?: { status?: number }; responseData?: unknown };
  if (!e || typeof e !== 'object' || !('responseData' in e) || !e.response?.status) return err;
  const data = (e.responseData ?? {}) as { error?: unknown; error_description?: unknown; errorMessage?: unknown };
  const code = typeof data.error === 'string' ? data.error : String(e.response.status);
  const description =
    typeof data.error_description === 'string'
      ? data.error_description
      : typeof data.errorMessage === 'string'
        ? data.errorMessage
        : code;
  return new KeycloakError(e.response.status, code, description, at);
}
