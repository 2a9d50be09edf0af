import type net from 'node:net';
import tls, { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import {
  Client,
  ConfidentialityRequiredError,
  Control,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  OperationsError,
  ResultCodeError,
  SizeLimitExceededError,
  escapeFilter,
  StrongAuthRequiredError,
  type Entry,
  type SearchOptions,
} from 'ldapts';
import type { AddressGuard } from '../outbound';
import { PullFailed } from '../source';
import type { LdapSettings } from './settings';

/** A value as it may stand in a filter: `\`, `*`, `(`, `)` and NUL escaped (RFC 4515), so input cannot change the filter. */
export const escapeValue = (value: string): string => escapeFilter`${value}`;

/** Active Directory's Show Deleted control: searches see tombstones (deleted objects keep their objectGUID). */
const SHOW_DELETED = '1.2.840.113556.1.4.417';

/** The largest page asked for: Active Directory's MaxPageSize. */
export const PAGE_SIZE = 1000;

/** One entry's attribute values as strings (binary ones, such as objectGUID, as Buffers). */
export type LdapEntry = Entry;

/**
 * A bound connection to one of the connection's servers. `search` pages through results (the
 * server's size limit is per page, so a directory of any size is read page by page, never whole).
 */
export class LdapSession {
  constructor(
    private readonly client: Client,
    readonly url: string,
  ) {}

  /**
   * Every entry under `base`, page by page (with `showDeleted`, Active Directory's tombstones too).
   * The next page is asked for as soon as one arrives, so the server prepares it while the caller
   * handles this one (one page ahead, never more).
   */
  async *pages(base: string, opts: SearchOptions, more: { showDeleted?: boolean } = {}): AsyncGenerator<LdapEntry[]> {
    const controls = more.showDeleted ? [new Control(SHOW_DELETED, { critical: true })] : [];
    const it = this.client.searchPaginated(base, { ...opts, paged: { pageSize: PAGE_SIZE } }, controls);
    let ahead = it.next();
    try {
      for (;;) {
        const page = await ahead;
        if (page.done) return;
        ahead = it.next();
        ahead.catch(() => undefined); // its failure is thrown where it is awaited, the line above
        yield page.value.searchEntries;
      }
    } finally {
      // Left early (the caller stopped, or failed): end the search once the page in flight is in.
      void ahead.then(() => it.return(undefined)).catch(() => undefined);
    }
  }

  /** A small search in one request (a first login's user, whether one entry matches a filter). */
  async find(base: string, opts: SearchOptions): Promise<LdapEntry[]> {
    try {
      return (await this.client.search(base, opts)).searchEntries;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return [];
      throw err;
    }
  }

  /** One base-scope read of an entry (null when it does not exist). */
  async read(dn: string, attributes: string[], explicitBufferAttributes: string[] = []): Promise<LdapEntry | null> {
    try {
      const r = await this.client.search(dn, { scope: 'base', attributes, explicitBufferAttributes });
      return r.searchEntries[0] ?? null;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return null;
      throw err;
    }
  }

  /**
   * Whether this bind sees Active Directory's tombstones: any entry under `CN=Deleted Objects` of
   * the naming context, searched with Show Deleted (one is enough). Administrators do; a plain
   * domain account sees none unless granted "List contents" on the container. (A domain with no
   * deletion within its tombstone lifetime shows none either: then a scan is as right, if slower.)
   */
  async seesTombstones(namingContext: string): Promise<boolean> {
    try {
      const r = await this.client.search(
        `CN=Deleted Objects,${namingContext}`,
        { scope: 'one', filter: '(isDeleted=TRUE)', attributes: ['1.1'], sizeLimit: 1 },
        [new Control(SHOW_DELETED, { critical: true })],
      );
      return r.searchEntries.length > 0;
    } catch (err) {
      // One found and the size limit reached is a yes; no such object (hidden) or a refusal is a no.
      return err instanceof SizeLimitExceededError;
    }
  }

  /** The server's root DSE (naming contexts, Active Directory's highestCommittedUSN, dsServiceName…). */
  async rootDse(attributes: string[]): Promise<LdapEntry | null> {
    const r = await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes });
    return r.searchEntries[0] ?? null;
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

/** Errors that mean "this server cannot be reached": the next URL is tried. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
]);

/**
 * Connects to the first server that answers (in the order given), upgrades an `ldap://` connection
 * with StartTLS when asked, verifies the certificate (unless the admin turned that off) and binds.
 * Every failure is a PullFailed whose message says what to fix.
 */
export async function openSession(
  s: LdapSettings,
  password: string | null,
  guard?: AddressGuard,
): Promise<LdapSession> {
  let last: unknown;
  for (const url of s.urls) {
    const host = new URL(url).hostname;
    const tlsOptions: ConnectionOptions = {
      ...(s.caCertificate ? { ca: [s.caCertificate] } : {}),
      rejectUnauthorized: s.verifyCertificate,
      ...(s.tlsServerName ? { servername: s.tlsServerName } : isIp(host) ? {} : { servername: host }),
    };
    const secure = url.toLowerCase().startsWith('ldaps://');
    const client = new Client({
      url,
      timeout: s.timeoutMs,
      connectTimeout: s.connectTimeoutMs,
      strictDN: false,
      ...(secure ? { tlsOptions } : {}),
      // Where the URL may go: checked on the address connected to, after DNS (private ranges only if allowed).
      ...(guard
        ? {
            createConnection: ((port: number, host: string) => guard.connect(port, host)) as typeof net.connect,
            // StartTLS upgrades the socket already connected (one options argument): nothing new to check.
            createSecureConnection: ((port: number | ConnectionOptions, host: string, o?: ConnectionOptions) =>
              typeof port === 'object' ? tlsConnect(port) : guard.connectTls(port, host, o)) as typeof tls.connect,
          }
        : {}),
    });
    try {
      if (!secure && s.startTls) await client.startTLS(tlsOptions);
      if (s.bindName) await client.bind(s.bindName, password ?? '');
      return new LdapSession(client, url);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      last = err;
      if (isUnreachable(err) && url !== s.urls[s.urls.length - 1]) continue;
      throw new PullFailed(explainLdapError(err, { url, bindName: s.bindName }));
    }
  }
  throw new PullFailed(explainLdapError(last, { url: s.urls[s.urls.length - 1], bindName: s.bindName }));
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

function codeOf(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return e?.code ?? e?.cause?.code;
}

function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  return (code !== undefined && UNREACHABLE.has(code)) || /timed? ?out/i.test(String((err as Error)?.message));
}

/** Active Directory's reasons for a refused bind (`data 52e` in the message), in words. */
const AD_BIND_REASONS: Record<string, string> = {
  '525': 'the bind account does not exist',
  '52e': 'the password is wrong, or the bind account does not exist',
  '530': 'the bind account may not sign in at this time',
  '531': 'the bind account may not sign in from this workstation',
  '532': "the bind account's password has expired",
  '533': 'the bind account is disabled',
  '701': 'the bind account has expired',
  '773':
    "the bind account must change its password before it can bind (sign in once and change it, or clear 'must change password')",
  '775': 'the bind account is locked out',
};

/** What a failure of the directory means for the admin, in one sentence that says what to fix. */
export function explainLdapError(
  err: unknown,
  ctx: { url: string; bindName?: string | null; baseDn?: string },
): string {
  const where = new URL(ctx.url).host;
  const code = codeOf(err);
  const message = String((err as Error)?.message ?? err);
  if (err instanceof PullFailed) return err.message;
  if (err instanceof InvalidCredentialsError) {
    const reason = /data ([0-9a-f]{3})/i.exec(message)?.[1]?.toLowerCase();
    const why = (reason && AD_BIND_REASONS[reason]) ?? 'the password is wrong, or the bind account does not exist';
    return `${where} refused the bind as ${ctx.bindName ?? '(anonymous)'}: ${why}.`;
  }
  if (err instanceof StrongAuthRequiredError || err instanceof ConfidentialityRequiredError)
    return `${where} requires an encrypted connection: use an ldaps:// URL, or turn StartTLS on.`;
  if (err instanceof NoSuchObjectError)
    return `${where} has no entry ${ctx.baseDn ? `"${ctx.baseDn}"` : 'at that base DN'}: check the base DN (for example OU=Staff,DC=corp,DC=example).`;
  if (err instanceof InsufficientAccessError || (err instanceof OperationsError && /authenticat/i.test(message)))
    return `${where} did not let ${ctx.bindName ?? 'an anonymous bind'} read ${ctx.baseDn ?? 'the directory'}: bind with an account that may read users and groups.`;
  if (/certificate|self[- ]signed|unable to verify|CERT_|ERR_TLS/i.test(`${code ?? ''} ${message}`))
    return `${where}'s TLS certificate is not trusted (${message}): paste the CA certificate that signed it, or check that the URL's host name is the one in the certificate.`;
  if (code === 'EADDRNOTALLOWED') return `${where} was not called: ${message}.`;
  if (code === 'ECONNREFUSED')
    return `${where} refused the connection: is the directory server running, and is the port right (389 for ldap://, 636 for ldaps://)?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${where} was not found: check the server's host name.`;
  if (code === 'ECONNRESET' || /connection closed/i.test(message))
    return `${where} closed the connection: if it expects TLS from the start, use ldaps://; if it expects StartTLS, turn it on.`;
  if (isUnreachable(err)) return `${where} did not answer in time: check the URL, the firewall and the timeouts.`;
  if (err instanceof ResultCodeError) return `${where} answered: ${message} (LDAP result ${err.code}).`;
  return `${where}: ${message}`;
}
