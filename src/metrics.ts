import type { Sequelize } from 'sequelize';
import type { Sql } from './db/sql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { APP_VERSION, INSTANCE_ID } from './instance';

/**
 * The process's metrics in Prometheus' format (`GET /metrics`, docs/operations.md#metrics). Labels
 * name routes, kinds and outcomes — never a site, a user or an email (cardinality, privacy): what
 * one site does is in its admin API. One registry per process; the app's parts count into it.
 */
export const registry = new Registry();
let defaults = false;

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const metrics = {
  runs: new Counter({
    name: 'idp_sync_runs_total',
    help: 'Sync runs ended, by trigger and outcome',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [registry],
  }),
  operations: new Counter({
    name: 'idp_sync_operations_total',
    help: 'Operations applied to Jira, by kind and outcome (done, parked)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  }),
  notifications: new Counter({
    name: 'idp_notification_deliveries_total',
    help: "Attempts to deliver a site's alert, by channel (webhook, email) and outcome (sent, retry, failed)",
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
  jiraCalls: new Counter({
    name: 'idp_jira_calls_total',
    help: "Calls to Jira's REST APIs, by endpoint template, status (0: no answer) and credential",
    labelNames: ['endpoint', 'status', 'credential'] as const,
    registers: [registry],
  }),
  jiraDuration: new Histogram({
    name: 'idp_jira_call_duration_seconds',
    help: 'Time a Jira call took (the answer, not the wait before it)',
    labelNames: ['credential'] as const,
    buckets: SECONDS,
    registers: [registry],
  }),
  jiraRateLimited: new Counter({
    name: 'idp_jira_rate_limited_total',
    help: 'Jira answers 429, by credential',
    labelNames: ['credential'] as const,
    registers: [registry],
  }),
  jiraLimiterWait: new Counter({
    name: 'idp_jira_limiter_wait_seconds_total',
    help: "Time calls waited on the per-site limiter (Jira's pace, a free slot, a quota pause) before going out",
    registers: [registry],
  }),
  pullReads: new Counter({
    name: 'idp_pull_reads_total',
    help: 'Pull reads of an IdP ended, by source kind, mode and outcome',
    labelNames: ['kind', 'mode', 'outcome'] as const,
    registers: [registry],
  }),
  pullReadDuration: new Histogram({
    name: 'idp_pull_read_duration_seconds',
    help: 'Time a pull read took, by source kind',
    labelNames: ['kind'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600],
    registers: [registry],
  }),
  pullPages: new Counter({
    name: 'idp_pull_read_pages_total',
    help: 'Pages an IdP answered to pull reads, by source kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  pullUsers: new Counter({
    name: 'idp_pull_read_users_total',
    help: 'Users pull reads saw, by source kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: 'idp_executor_queue_depth',
    help: "Operations waiting to be applied, all sites (the database's count at scrape time)",
    registers: [registry],
  }),
  queueOldest: new Gauge({
    name: 'idp_executor_oldest_pending_seconds',
    help: 'Age of the oldest operation waiting to be applied (0 when none)',
    registers: [registry],
  }),
  instance: new Gauge({
    name: 'idp_instance_info',
    help: 'This instance (its id is in the User-Agent of its Jira calls) and the app version; always 1',
    labelNames: ['instance', 'version'] as const,
    registers: [registry],
  }),
  dbPool: new Gauge({
    name: 'idp_db_pool_connections',
    help: "The database pool's connections, by state (in use, idle, waiting for one)",
    labelNames: ['state'] as const,
    registers: [registry],
  }),
};

interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  buckets?: Float64Array;
}

/**
 * A counter or histogram kept in plain numbers and given to prom-client at scrape time: a request
 * costs a map lookup and a few additions. prom-client's own Counter and Histogram hash their labels
 * on every call, which cost the SCIM benchmark 8 % of its throughput (docs/benchmarks.md).
 */
class LeanMetric {
  private readonly series = new Map<string, Series>();
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
  ) {}

  /** The series `key` names (its labels' values in order, separated by spaces: no value holds one). */
  private seriesOf(key: string): Series | undefined {
    let s = this.series.get(key);
    if (!s && this.series.size < 5_000) {
      const values = key.split(' ');
      s = {
        labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] ?? ''])),
        count: 0,
        sum: 0,
        buckets: this.type === 'histogram' ? new Float64Array(SECONDS.length) : undefined,
      };
      this.series.set(key, s);
    }
    return s; // undefined past a bound no set of route templates reaches
  }

  /** A function that records into one series, for a caller that keeps it (no lookup per call). */
  recorder(key: string): (seconds?: number) => void {
    const s = this.seriesOf(key);
    return s ? (seconds = 0) => observe(s, seconds) : () => undefined;
  }

  get() {
    const values: Array<{ metricName?: string; labels: Record<string, string | number>; value: number }> = [];
    for (const s of this.series.values()) {
      if (!s.buckets) {
        values.push({ labels: s.labels, value: s.count });
        continue;
      }
      SECONDS.forEach((le, i) =>
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: s.buckets![i] }),
      );
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.series.clear();
  }
}

function observe(s: Series, seconds: number): void {
  s.count += 1;
  const buckets = s.buckets;
  if (!buckets) return;
  s.sum += seconds;
  for (let i = 0; i < SECONDS.length; i++) if (seconds <= SECONDS[i]) buckets[i] += 1;
}

/** Per-request figures, kept lean (see LeanMetric). */
export const http = {
  requests: new LeanMetric(
    'idp_http_requests_total',
    'HTTP requests answered, by route template and status',
    'counter',
    ['method', 'route', 'status'],
  ),
  duration: new LeanMetric(
    'idp_http_request_duration_seconds',
    'Time to answer an HTTP request, by route template',
    'histogram',
    ['method', 'route'],
  ),
  scim: new LeanMetric(
    'idp_scim_requests_total',
    'SCIM requests, by the connection provider (entra, okta, generic…), method, resource type and status',
    'counter',
    ['provider', 'method', 'resource', 'status'],
  ),
};
for (const m of Object.values(http)) registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);

/** Process metrics (CPU, memory, event-loop lag, handles), once per process. */
export function collectProcessMetrics(): void {
  if (defaults) return;
  defaults = true;
  collectDefaultMetrics({ register: registry, prefix: 'idp_', eventLoopMonitoringPrecision: 20 });
  metrics.instance.set({ instance: INSTANCE_ID, version: APP_VERSION }, 1);
}

/** Figures read at scrape time (the queue in the database, the pool), set by the app that owns them. */
let sampler: (() => Promise<void>) | undefined;
export function sampleOnScrape(fn: () => Promise<void>): void {
  sampler = fn;
}

/** The text a scrape gets. */
export async function scrape(): Promise<string> {
  await sampler?.().catch(() => undefined);
  return registry.metrics();
}

/** A path made a template for a label: ids, numbers and long tokens become `{id}`. */
export function templateOf(path: string): string {
  const segs = path.split('?')[0].split('/');
  return segs
    .map((seg, i) =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(seg) ||
      (/^\d+$/.test(seg) && segs[i - 1] !== 'api') || // /rest/api/3 is a version
      /^[0-9a-f]{24,}$/i.test(seg) ||
      seg.length > 40
        ? '{id}'
        : seg,
    )
    .join('/');
}

/**
 * What /metrics reads at scrape time: the executor's queue (waiting operations, and how long the
 * oldest ready one has waited) and the database pool; the process's own figures once.
 */
export function measure(sequelize: Sequelize, sql: Sql): void {
  collectProcessMetrics();
  sampleOnScrape(async () => {
    const [q] = await sql.query<{ n: string; oldest: number | null }>(
      `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(not_before) FILTER (WHERE not_before <= now()))::float8 AS oldest
         FROM sync_operations WHERE status = 'pending'`,
    );
    metrics.queueDepth.set(Number(q.n));
    metrics.queueOldest.set(Math.max(0, q.oldest ?? 0));
    const pool = (sequelize.connectionManager as unknown as { pool?: PoolFigures }).pool;
    if (pool) {
      metrics.dbPool.set({ state: 'in-use' }, pool.using ?? 0);
      metrics.dbPool.set({ state: 'idle' }, pool.available ?? 0);
      metrics.dbPool.set({ state: 'waiting' }, pool.waiting ?? 0);
    }
  });
}

/** What sequelize-pool says of itself. */
interface PoolFigures {
  using?: number;
  available?: number;
  waiting?: number;
}
