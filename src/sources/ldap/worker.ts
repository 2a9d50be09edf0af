import { parentPort } from 'node:worker_threads';
import { AddressGuard } from '../outbound';
import { PullFailed } from '../source';
import { openDirect, type DirectSession } from './direct';
import type { LdapEntry } from './session';
import { errorToWire, partOf, toWire, type Chunk, type Reply, type Request } from './wire';

/**
 * The LDAP reader's thread: the directory's sockets, TLS and the decoding of its answers (work that
 * never waits and, for a page of big groups, took the event loop for 40–60 ms at a time) run here.
 * The event loop's thread asks through client.ts; each page is handed over in parts small enough
 * to be taken up in a millisecond or two, one part per request.
 */

let nextId = 1;
const sessions = new Map<number, DirectSession>();

/** One search's pages, handed out a part at a time. */
class Search {
  private page: LdapEntry[] = [];
  private at = 0;

  constructor(
    readonly session: number,
    private readonly pages: AsyncGenerator<LdapEntry[]>,
  ) {}

  async next(): Promise<Chunk> {
    // Nothing of a page left (none yet, or the last part handed out): the next page.
    if (this.at >= this.page.length) {
      // The session's pages ask for the one after as this one arrives: one page ahead, as before.
      const p = await this.pages.next();
      if (p.done) return { done: true };
      this.page = p.value;
      this.at = 0;
      if (this.page.length === 0) return { entries: [], pageEnd: true };
    }
    const part = partOf(this.page, this.at);
    this.at += part.length;
    const pageEnd = this.at >= this.page.length;
    if (pageEnd) this.page = [];
    return { entries: part.map(toWire), pageEnd };
  }

  end(): void {
    void this.pages.return(undefined).catch(() => undefined);
  }
}
const searches = new Map<number, Search>();

function sessionOf(id: number): DirectSession {
  const s = sessions.get(id);
  if (!s)
    throw new PullFailed('The connection to the directory has ended (its reader thread was restarted): read again.');
  return s;
}

async function handle(r: Request): Promise<unknown> {
  switch (r.op) {
    case 'open': {
      const s = await openDirect(r.settings, r.password, r.allow ? new AddressGuard(r.allow) : undefined);
      const id = nextId++;
      sessions.set(id, s);
      return { session: id, url: s.url };
    }
    case 'pages': {
      const id = nextId++;
      searches.set(
        id,
        new Search(r.session, sessionOf(r.session).pages(r.base, r.opts, { showDeleted: r.showDeleted })),
      );
      return id;
    }
    case 'next': {
      const s = searches.get(r.search);
      // Never "done" for a search this thread does not know: a read that ends early must fail, not end.
      if (!s) throw new PullFailed('The search was ended before its last page: read again.');
      try {
        const chunk = await s.next();
        if ('done' in chunk) searches.delete(r.search);
        return chunk;
      } catch (err) {
        searches.delete(r.search);
        throw err;
      }
    }
    case 'end':
      searches.get(r.search)?.end();
      searches.delete(r.search);
      return null;
    case 'find':
      return (await sessionOf(r.session).find(r.base, r.opts)).map(toWire);
    case 'read': {
      const e = await sessionOf(r.session).read(r.dn, r.attributes, r.explicitBufferAttributes);
      return e && toWire(e);
    }
    case 'seesTombstones':
      return sessionOf(r.session).seesTombstones(r.namingContext);
    case 'rootDse': {
      const e = await sessionOf(r.session).rootDse(r.attributes);
      return e && toWire(e);
    }
    case 'close': {
      const s = sessions.get(r.session);
      sessions.delete(r.session);
      for (const [id, search] of searches)
        if (search.session === r.session) {
          search.end();
          searches.delete(id);
        }
      await s?.close();
      return null;
    }
  }
}

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread (see client.ts)');
port.on('message', (r: Request) => {
  handle(r).then(
    (value) => port.postMessage({ id: r.id, ok: true, value } satisfies Reply),
    (err: unknown) => port.postMessage({ id: r.id, ok: false, error: errorToWire(err) } satisfies Reply),
  );
});
