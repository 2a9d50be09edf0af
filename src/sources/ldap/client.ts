import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AddressGuard } from '../outbound';
import { PullFailed } from '../source';
import type { LdapEntry, LdapSearch, LdapSession } from './session';
import type { LdapSettings } from './settings';
import { errorFromWire, fromWire, type Chunk, type Reply, type Request } from './wire';

/** A request without its id (given when it is sent). */
type Ask = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * The LDAP reader's thread, seen from the event loop's: one worker thread for every LDAP session of
 * the process, started on first use and again after it stopped. While it has nothing to answer it
 * does not keep the process alive.
 */
class ReaderThread {
  private worker: Worker | undefined;
  private nextId = 1;
  /** Which thread this is (counted from 1): a session opened on an earlier one has ended with it. */
  private generation = 0;
  /** Sessions open on the thread: with none and nothing asked, it stops after IDLE_MS (its heap goes with it). */
  private sessions = 0;
  private idle: NodeJS.Timeout | undefined;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** Asks the thread; with `on`, only the thread of that generation (a session's calls). */
  call<T>(ask: Ask, on?: number): Promise<T> {
    if (on !== undefined && (on !== this.generation || !this.worker)) return Promise.reject(new PullFailed(ENDED));
    const w = this.worker ?? this.start();
    const id = this.nextId++;
    clearTimeout(this.idle);
    if (ask.op === 'close') this.sessions--;
    return new Promise<T>((resolve, reject) => {
      const opened = (v: unknown) => {
        if (ask.op === 'open' && this.worker === w) this.sessions++;
        (resolve as (v: unknown) => void)(v);
      };
      this.waiting.set(id, { resolve: opened, reject });
      if (this.waiting.size === 1) w.ref();
      w.postMessage({ ...ask, id });
    });
  }

  /** Stops the thread (at shutdown, and in tests: what a crash of it does). Calls in flight fail. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.stopped(w, 'asked to stop');
    await w.terminate();
  }

  private start(): Worker {
    // Compiled, the thread runs worker.js beside this file; from TypeScript sources (tests, `npm run
    // dev`) it runs worker.ts through tsx, a development dependency.
    const entry = path.join(__dirname, `worker${path.extname(__filename)}`);
    const boot = `${entry.endsWith('.ts') ? "require('tsx/cjs');" : ''}require(${JSON.stringify(entry)});`;
    // A small young generation: the thread's garbage is collected often, off the event loop, and
    // its heap stays small beside a plan's.
    const w = new Worker(boot, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    w.unref();
    w.on('message', (r: Reply) => {
      const waiter = this.waiting.get(r.id);
      if (!waiter) return;
      this.waiting.delete(r.id);
      if (r.ok) waiter.resolve(r.value);
      else waiter.reject(errorFromWire(r.error));
      if (this.waiting.size > 0) return;
      w.unref();
      if (this.sessions <= 0) this.idle = setTimeout(() => void this.stop(), IDLE_MS).unref();
    });
    w.on('error', (err) => this.stopped(w, err.message));
    w.on('exit', (code) => this.stopped(w, `exit code ${code}`));
    this.worker = w;
    this.generation++;
    return w;
  }

  /** Whether a thread is running now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** The thread now running (after `call`, the one that answered). */
  get current(): number {
    return this.generation;
  }

  private stopped(w: Worker, why: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.sessions = 0;
    clearTimeout(this.idle);
    const failure = new PullFailed(
      `The LDAP reader's thread stopped (${why}) before the directory answered: read again.`,
    );
    for (const waiter of this.waiting.values()) waiter.reject(failure);
    this.waiting.clear();
  }
}

/** How long the thread stays with no session open: a read's sessions follow each other closely. */
const IDLE_MS = 2000;

const ENDED = 'The connection to the directory has ended (its reader thread stopped): read again.';

export const readerThread = new ReaderThread();

/** A session whose LDAP client runs on the reader's thread; its entries arrive part by part. */
class ThreadSession implements LdapSession {
  constructor(
    private readonly id: number,
    readonly url: string,
    /** The thread it lives on. */
    private readonly thread: number,
  ) {}

  async *pages(base: string, opts: LdapSearch, more: { showDeleted?: boolean } = {}): AsyncGenerator<LdapEntry[]> {
    const search = await readerThread.call<number>(
      {
        op: 'pages',
        session: this.id,
        base,
        opts,
        showDeleted: more.showDeleted ?? false,
      },
      this.thread,
    );
    let page: LdapEntry[] = [];
    try {
      for (;;) {
        const part = await readerThread.call<Chunk>({ op: 'next', search }, this.thread);
        if ('done' in part) return;
        for (const e of part.entries) page.push(fromWire(e));
        if (part.pageEnd) {
          yield page;
          page = [];
        }
      }
    } finally {
      void readerThread.call({ op: 'end', search }, this.thread).catch(() => undefined);
    }
  }

  async find(base: string, opts: LdapSearch): Promise<LdapEntry[]> {
    return (await readerThread.call<LdapEntry[]>({ op: 'find', session: this.id, base, opts }, this.thread)).map(
      fromWire,
    );
  }

  async read(dn: string, attributes: string[], explicitBufferAttributes: string[] = []): Promise<LdapEntry | null> {
    const e = await readerThread.call<LdapEntry | null>(
      {
        op: 'read',
        session: this.id,
        dn,
        attributes,
        explicitBufferAttributes,
      },
      this.thread,
    );
    return e && fromWire(e);
  }

  seesTombstones(namingContext: string): Promise<boolean> {
    return readerThread.call<boolean>({ op: 'seesTombstones', session: this.id, namingContext }, this.thread);
  }

  async rootDse(attributes: string[]): Promise<LdapEntry | null> {
    const e = await readerThread.call<LdapEntry | null>({ op: 'rootDse', session: this.id, attributes }, this.thread);
    return e && fromWire(e);
  }

  async close(): Promise<void> {
    await readerThread.call({ op: 'close', session: this.id }, this.thread).catch(() => undefined);
  }
}

/**
 * Connects to the first server that answers (in the order given), upgrades an `ldap://` connection
 * with StartTLS when asked, verifies the certificate (unless the admin turned that off) and binds —
 * on the reader's thread. Every failure is a PullFailed whose message says what to fix.
 */
export async function openSession(
  s: LdapSettings,
  password: string | null,
  guard?: AddressGuard,
): Promise<LdapSession> {
  const { session, url } = await readerThread.call<{ session: number; url: string }>({
    op: 'open',
    settings: s,
    password,
    allow: guard ? guard.allow : null,
  });
  return new ThreadSession(session, url, readerThread.current);
}
