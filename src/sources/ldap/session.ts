import { escapeFilter, type Entry, type SearchOptions } from 'ldapts';

/** A value as it may stand in a filter: `\`, `*`, `(`, `)` and NUL escaped (RFC 4515), so input cannot change the filter. */
export const escapeValue = (value: string): string => escapeFilter`${value}`;

/** The largest page asked for: Active Directory's MaxPageSize. */
export const PAGE_SIZE = 1000;

/** One entry's attribute values as strings (binary ones, such as objectGUID, as Buffers). */
export type LdapEntry = Entry;

/** What a search may ask: plain data (a filter as text), so it can be handed to the reader's thread. */
export type LdapSearch = Pick<
  SearchOptions,
  | 'scope'
  | 'filter'
  | 'attributes'
  | 'explicitBufferAttributes'
  | 'sizeLimit'
  | 'derefAliases'
  | 'returnAttributeValues'
> & { filter?: string };

/**
 * A bound connection to one of the connection's servers. `pages` pages through results (the
 * server's size limit is per page, so a directory of any size is read page by page, never whole).
 */
export interface LdapSession {
  /** The server this session is bound to. */
  readonly url: string;
  /**
   * Every entry under `base`, page by page (with `showDeleted`, Active Directory's tombstones too).
   * The next page is asked for as soon as one arrives, so the server prepares it while the caller
   * handles this one (one page ahead, never more). Leaving the loop early ends the search.
   */
  pages(base: string, opts: LdapSearch, more?: { showDeleted?: boolean }): AsyncGenerator<LdapEntry[]>;
  /** A small search in one request (a first login's user, whether one entry matches a filter); none when the base does not exist. */
  find(base: string, opts: LdapSearch): Promise<LdapEntry[]>;
  /** One base-scope read of an entry (null when it does not exist). */
  read(dn: string, attributes: string[], explicitBufferAttributes?: string[]): Promise<LdapEntry | null>;
  /**
   * Whether this bind sees Active Directory's tombstones: any entry under `CN=Deleted Objects` of
   * the naming context, searched with Show Deleted (one is enough). Administrators do; a plain
   * domain account sees none unless granted "List contents" on the container. (A domain with no
   * deletion within its tombstone lifetime shows none either: then a scan is as right, if slower.)
   */
  seesTombstones(namingContext: string): Promise<boolean>;
  /** The server's root DSE (naming contexts, Active Directory's highestCommittedUSN, dsServiceName…). */
  rootDse(attributes: string[]): Promise<LdapEntry | null>;
  close(): Promise<void>;
}
