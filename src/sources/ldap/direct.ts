import type net from 'node:net';
import tls, { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { Client, Control, InvalidCredentialsError, NoSuchObjectError, SizeLimitExceededError } from 'ldapts';
import type { AddressGuard } from '../outbound';
import { PullFailed } from '../source';
import { explainLdapError, isUnreachable } from './errors';
import { PAGE_SIZE, type LdapEntry, type LdapSearch, type LdapSession } from './session';
import type { LdapSettings } from './settings';

/** Active Directory's Show Deleted control: searches see tombstones (deleted objects keep their objectGUID). */
const SHOW_DELETED = '1.2.840.113556.1.4.417';

/** The LDAP client itself (`ldapts`): what the reader's thread runs (see client.ts). */
export class DirectSession implements LdapSession {
  constructor(
    private readonly client: Client,
    readonly url: string,
  ) {}

  async *pages(base: string, opts: LdapSearch, more: { showDeleted?: boolean } = {}): AsyncGenerator<LdapEntry[]> {
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

  async find(base: string, opts: LdapSearch): Promise<LdapEntry[]> {
    try {
      return (await this.client.search(base, opts)).searchEntries;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return [];
      throw err;
    }
  }

  async read(dn: string, attributes: string[], explicitBufferAttributes: string[] = []): Promise<LdapEntry | null> {
    try {
      const r = await this.client.search(dn, { scope: 'base', attributes, explicitBufferAttributes });
      return r.searchEntries[0] ?? null;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return null;
      throw err;
    }
  }

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

  async rootDse(attributes: string[]): Promise<LdapEntry | null> {
    const r = await this.client.search('', { scope: 'base', filter: '(objectClass=*)', attributes });
    return r.searchEntries[0] ?? null;
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }
}

/**
 * Connects to the first server that answers (in the order given), upgrades an `ldap://` connection
 * with StartTLS when asked, verifies the certificate (unless the admin turned that off) and binds.
 * Every failure is a PullFailed whose message says what to fix.
 */
export async function openDirect(
  s: LdapSettings,
  password: string | null,
  guard?: AddressGuard,
): Promise<DirectSession> {
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
      return new DirectSession(client, url);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      last = err;
      if (isUnreachable(err) && url !== s.urls[s.urls.length - 1]) continue;
      throw new PullFailed(
        explainLdapError(err, { url, bindName: s.bindName }),
        err instanceof InvalidCredentialsError,
      );
    }
  }
  throw new PullFailed(
    explainLdapError(last, { url: s.urls[s.urls.length - 1], bindName: s.bindName }),
    last instanceof InvalidCredentialsError,
  );
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
