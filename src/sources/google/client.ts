import { admin, type admin_directory_v1, type admin_reports_v1 } from '@googleapis/admin';
import { Gaxios, GaxiosError } from 'gaxios';
import { JWT } from 'google-auth-library';
import type { ServiceAccountKey } from './key';
import { GOOGLE_SCOPES } from './settings';
import { GOOGLE_API_URL, type GoogleTransport } from './transport';

export type GoogleUser = admin_directory_v1.Schema$User;
export type GoogleGroup = admin_directory_v1.Schema$Group;
export type GoogleMember = admin_directory_v1.Schema$Member;
export type GoogleActivity = admin_reports_v1.Schema$Activity;

/** Google's page maxima: users 500, groups and members 200, activities 1,000. */
export const PAGE = { users: 500, groups: 200, members: 200, activities: 1000 } as const;

/** An answer from Google that was not a success: its status, first reason and message, and what failed. */
export class GoogleError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** 'token' (the token endpoint) or 'api' (the Admin SDK). */
    readonly at: 'token' | 'api',
    /** The OAuth error of a token request (`unauthorized_client`, `invalid_grant`). */
    readonly oauthError?: string,
  ) {
    super(message);
  }
}

/** Paces a connection's requests under Google's per-user quota (queries per minute). */
class Pacer {
  private next = 0;
  constructor(private readonly intervalMs: number) {}
  async turn(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/**
 * One connection's way into Google Workspace: google-auth-library's JWT client (the service
 * account, domain-wide delegation to the admin it impersonates, the read-only scopes; a new token
 * signed before the last expires) and the Admin SDK's Directory and Reports APIs from
 * `@googleapis/admin`, all over `GoogleTransport`. Lists page at Google's maxima; a 404 is `null`;
 * any other failure a `GoogleError`.
 */
export class GoogleClient {
  private readonly jwt: JWT;
  private readonly directory: admin_directory_v1.Admin;
  private readonly reports: admin_reports_v1.Admin;
  private readonly pacer: Pacer;
  /** Requests made (the benchmark counts them against the floor of Google's page maxima). */
  calls = 0;

  constructor(
    key: ServiceAccountKey,
    subject: string,
    transport: GoogleTransport,
    queriesPerMinute: number,
    private readonly customer: string,
    /** Told of each wait Google asked for (a read shows it as its phase). */
    onWait?: Parameters<GoogleTransport['fetchFor']>[0],
  ) {
    const transporter = new Gaxios({ fetchImplementation: transport.fetchFor(onWait), retry: false });
    this.jwt = new JWT({
      email: key.clientEmail,
      key: key.privateKey,
      keyId: key.keyId,
      scopes: [...GOOGLE_SCOPES],
      subject,
      transporter,
      eagerRefreshThresholdMillis: 5 * 60_000,
    });
    const options = { auth: this.jwt, rootUrl: `${GOOGLE_API_URL}/`, retry: false } as const;
    this.directory = admin({ version: 'directory_v1', ...options });
    this.reports = admin({ version: 'reports_v1', ...options });
    this.pacer = new Pacer(60_000 / queriesPerMinute);
  }

  /** Signs and exchanges a JWT for a token (Test connection's first step). */
  async token(): Promise<void> {
    await this.call(async () => (await this.jwt.getAccessToken()).token);
  }

  /** Pages of users (`users.list`), 500 a page. */
  async *users(params: Omit<admin_directory_v1.Params$Resource$Users$List, 'customer' | 'maxResults' | 'pageToken'>) {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.directory.users.list({ ...params, customer: this.customer, maxResults: PAGE.users, pageToken }),
      );
      yield page.users ?? [];
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }

  /** One user by id or email (`users.get`); null when Google has none. */
  async user(
    userKey: string,
    params: { projection?: string; customFieldMask?: string } = {},
  ): Promise<GoogleUser | null> {
    return this.orNull(() => this.directory.users.get({ userKey, ...params }));
  }

  /** Pages of groups (`groups.list`): the account's, or those a user is a direct member of. */
  async *groups(params: { userKey?: string } = {}) {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.directory.groups.list({
          ...(params.userKey ? { userKey: params.userKey } : { customer: this.customer }),
          maxResults: PAGE.groups,
          pageToken,
        }),
      );
      yield page.groups ?? [];
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }

  /** One group by id or email; null when Google has none. */
  async group(groupKey: string): Promise<GoogleGroup | null> {
    return this.orNull(() => this.directory.groups.get({ groupKey }));
  }

  /** Pages of a group's direct members (users and groups); null when the group is gone. */
  async *members(groupKey: string): AsyncGenerator<GoogleMember[]> {
    let pageToken: string | undefined;
    do {
      const page = await this.orNull(() =>
        this.directory.members.list({ groupKey, maxResults: PAGE.members, pageToken }),
      );
      if (!page) throw new GoogleError(404, 'notFound', `group ${groupKey} was not found`, 'api');
      yield page.members ?? [];
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }

  /** Pages of Admin console events (Reports API, application `admin`) between two times. */
  async *activities(startTime: string, endTime: string): AsyncGenerator<GoogleActivity[]> {
    let pageToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.reports.activities.list({
          userKey: 'all',
          applicationName: 'admin',
          startTime,
          endTime,
          maxResults: PAGE.activities,
          pageToken,
          ...(this.customer === 'my_customer' ? {} : { customerId: this.customer }),
        }),
      );
      yield page.items ?? [];
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
  }

  private async orNull<T>(request: () => Promise<{ data: T }>): Promise<T | null> {
    try {
      return await this.call(request);
    } catch (err) {
      if (err instanceof GoogleError && err.status === 404) return null;
      throw err;
    }
  }

  /** One paced request; what it answered, or a GoogleError. */
  private async call<T>(request: () => Promise<{ data: T } | T>): Promise<T> {
    await this.pacer.turn();
    this.calls++;
    try {
      const res = await request();
      return res && typeof res === 'object' && 'data' in res ? res.data : res;
    } catch (err) {
      throw toGoogleError(err);
    }
  }
}

/** A library's failure as a GoogleError (its status, reason and message), or the error as it is. */
function toGoogleError(err: unknown): unknown {
  if (!(err instanceof GaxiosError) || !err.response) return err;
  const status = err.response.status;
  const data = err.response.data as
    | { error?: string | { message?: string; errors?: Array<{ reason?: string }> }; error_description?: string }
    | undefined;
  const isToken = typeof data?.error === 'string';
  if (isToken)
    return new GoogleError(
      status,
      data.error as string,
      data.error_description ?? (data.error as string),
      'token',
      data.error as string,
    );
  const body = data?.error as { message?: string; errors?: Array<{ reason?: string }> } | undefined;
  return new GoogleError(status, body?.errors?.[0]?.reason ?? '', body?.message ?? err.message, 'api');
}
