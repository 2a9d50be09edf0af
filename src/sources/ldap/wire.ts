import * as ldapts from 'ldapts';
import { PullFailed } from '../source';
import type { LdapEntry, LdapSearch } from './session';
import type { LdapSettings } from './settings';

/**
 * What the event loop's thread and the LDAP reader's thread say to each other (client.ts,
 * worker.ts): one request, one reply, matched by id. Entries and errors cross as plain data
 * (structured clone) and are made whole again on the other side.
 */
export type Request = { id: number } & (
  | { op: 'open'; settings: LdapSettings; password: string | null; allow: string[] | null }
  | { op: 'pages'; session: number; base: string; opts: LdapSearch; showDeleted: boolean }
  | { op: 'next'; search: number }
  | { op: 'end'; search: number }
  | { op: 'find'; session: number; base: string; opts: LdapSearch }
  | { op: 'read'; session: number; dn: string; attributes: string[]; explicitBufferAttributes: string[] }
  | { op: 'seesTombstones'; session: number; namingContext: string }
  | { op: 'rootDse'; session: number; attributes: string[] }
  | { op: 'close'; session: number }
);

export type Reply = { id: number } & ({ ok: true; value: unknown } | { ok: false; error: WireError });

/** A search's next part: some entries of the current page (`pageEnd` on its last part), or the search's end. */
export type Chunk = { entries: LdapEntry[]; pageEnd: boolean } | { done: true };

/**
 * How many attribute values one part holds at most. The receiving thread turns a message into
 * objects in one go; a page of 1,000 groups can hold 60,000 member DNs, which would hold the event
 * loop for tens of milliseconds. A part of 10,000 values takes a millisecond or two.
 */
export const CHUNK_VALUES = 10_000;

function valuesOf(e: LdapEntry): number {
  let n = 1;
  for (const k in e) {
    const v = e[k];
    n += Array.isArray(v) ? v.length : 1;
  }
  return n;
}

/** The entries from `from` on that fit in one part (always at least one, however large). */
export function partOf(entries: LdapEntry[], from: number, budget = CHUNK_VALUES): LdapEntry[] {
  let to = from;
  let values = 0;
  while (to < entries.length) {
    const n = valuesOf(entries[to]);
    if (to > from && values + n > budget) break;
    values += n;
    to++;
  }
  return entries.slice(from, to);
}

/**
 * An entry ready to cross: each binary value copied out of the message buffer it is a view of (a
 * clone of a view copies the whole buffer behind it).
 */
export function toWire(e: LdapEntry): LdapEntry {
  const out: LdapEntry = { dn: e.dn };
  for (const k in e) {
    const v = e[k];
    if (Buffer.isBuffer(v)) out[k] = new Uint8Array(v) as Buffer;
    else if (Array.isArray(v) && v.length > 0 && Buffer.isBuffer(v[0]))
      out[k] = (v as Buffer[]).map((b) => new Uint8Array(b)) as Buffer[];
    else out[k] = v;
  }
  return out;
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** An entry as it arrived, its binary values Buffers again. */
export function fromWire(e: LdapEntry): LdapEntry {
  for (const k in e) {
    const v = e[k] as unknown;
    if (v instanceof Uint8Array) e[k] = asBuffer(v);
    else if (Array.isArray(v) && v[0] instanceof Uint8Array) e[k] = (v as Uint8Array[]).map(asBuffer);
  }
  return e;
}

/** An error as it crosses: its class's name, message and codes (an LDAP result code, or a socket's). */
export interface WireError {
  name: string;
  message: string;
  code?: string | number;
  causeCode?: string;
  /** A PullFailed's `credentials`. */
  credentials?: boolean;
}

export function errorToWire(err: unknown): WireError {
  const e = err as Error & { code?: string | number; cause?: { code?: string } };
  return {
    name: err instanceof PullFailed ? 'PullFailed' : (e?.name ?? 'Error'),
    ...(err instanceof PullFailed && err.credentials ? { credentials: true } : {}),
    message: String(e?.message ?? err),
    ...(e?.code === undefined ? {} : { code: e.code }),
    ...(e?.cause?.code === undefined ? {} : { causeCode: e.cause.code }),
  };
}

/**
 * The error again, of the same class where the class is `ldapts`'s or PullFailed (so `instanceof`
 * tells an invalid credential from a missing entry, as it did in one thread), with its codes.
 */
export function errorFromWire(w: WireError): Error {
  if (w.name === 'PullFailed') return new PullFailed(w.message, w.credentials === true);
  const known = (ldapts as Record<string, unknown>)[w.name];
  const proto = typeof known === 'function' && known.prototype instanceof Error ? known.prototype : Error.prototype;
  const err = Object.create(proto) as Error & { code?: string | number; cause?: { code: string } };
  Object.defineProperty(err, 'message', { value: w.message, writable: true, configurable: true });
  err.name = w.name;
  err.stack = `${w.name}: ${w.message}\n    (in the LDAP reader's thread)`;
  if (w.code !== undefined) err.code = w.code;
  if (w.causeCode !== undefined) err.cause = { code: w.causeCode };
  return err;
}
