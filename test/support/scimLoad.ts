/** SCIM traffic from several clients at once against a running add-on, each answer recorded. */

export interface ScimTarget {
  scimBase: string;
  token: string;
}

export interface ScimAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests assert on the JSON
  body: any;
  retryAfter: string | null;
  ms: number;
}

/** One SCIM call with a bounded wait (a hang fails the test as an answer of status 0). */
export async function scimCall(
  t: ScimTarget,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ScimAnswer> {
  const started = performance.now();
  try {
    const res = await fetch(`${t.scimBase}${path}`, {
      method,
      headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/scim+json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: kept as text for the assertion that fails */
    }
    return {
      status: res.status,
      body: parsed,
      retryAfter: res.headers.get('retry-after'),
      ms: performance.now() - started,
    };
  } catch (err) {
    return { status: 0, body: String(err), retryAfter: null, ms: performance.now() - started };
  }
}

/** Clients creating users one after another (u-<tag>-<client>-<n>@load.example) until stopped. */
export class ScimLoad {
  readonly answers: Array<ScimAnswer & { name: string }> = [];
  private readonly extra: string[] = [];
  private running = false;
  private workers: Array<Promise<void>> = [];
  private round = 0;

  constructor(
    private readonly target: ScimTarget,
    private readonly tag: string,
    private readonly clients: number,
  ) {}

  static user(name: string) {
    return { userName: name, active: true, emails: [{ value: name, primary: true, type: 'work' }] };
  }

  /** Loads started and not yet stopped (for afterEach, when a test failed before stopping its load). */
  static readonly running: ScimLoad[] = [];

  start(): void {
    this.running = true;
    if (!ScimLoad.running.includes(this)) ScimLoad.running.push(this);
    this.round++;
    this.workers = Array.from({ length: this.clients }, (_, c) => this.client(c));
  }

  async stop(): Promise<void> {
    this.running = false;
    ScimLoad.running.splice(ScimLoad.running.indexOf(this) >>> 0, 1);
    await Promise.all(this.workers);
  }

  /** Stops sending for now (start() sends again, with new names). */
  async pause(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** The user names answered 201 (and those acknowledged later, e.g. by a retry). */
  acknowledged(): string[] {
    return [...this.answers.filter((a) => a.status === 201).map((a) => a.name), ...this.extra];
  }

  acknowledge(names: string[]): void {
    this.extra.push(...names);
  }

  /** Waits until the condition holds (fails after timeoutMs). */
  async until(cond: (l: ScimLoad) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond(this)) {
      if (Date.now() > deadline) {
        const statuses = this.answers.reduce<Record<number, number>>(
          (m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }),
          {},
        );
        throw new Error(`load condition not met in ${timeoutMs} ms; answers so far: ${JSON.stringify(statuses)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async client(c: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const name = `u-${this.tag}-${this.round}-${c}-${n}@load.example`;
      const answer = await scimCall(this.target, 'POST', '/Users', ScimLoad.user(name));
      this.answers.push({ ...answer, name });
      if (answer.status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
  }
}
