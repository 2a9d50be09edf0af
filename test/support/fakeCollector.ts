import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { failOnUnknownCalls } from './strictFake';

/** A span as the collector received it (ids as hex, attributes flattened). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
  resource: Record<string, unknown>;
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

/** OTLP/JSON ids are hex; a collector also takes base64 (protobuf-JSON's bytes). */
const hex = (id: string | undefined) =>
  !id ? '' : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
const flat = (kvs: KeyValue[] = []) =>
  Object.fromEntries(
    kvs.map((kv) => [kv.key, kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue ?? kv.value.doubleValue]),
  );

/**
 * An OpenTelemetry collector's OTLP/HTTP receiver: `POST /v1/traces` with an
 * ExportTraceServiceRequest as JSON (`Content-Type: application/json`), answered `200 {}` as the
 * collector does; anything else is a 404 and fails the test at `stop()`.
 */
export class FakeCollector {
  url = '';
  readonly spans: ReceivedSpan[] = [];
  private server?: http.Server;
  private readonly unknown: string[] = [];

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
          this.unknown.push(`${req.method} ${req.url} (${req.headers['content-type']})`);
          return void res.writeHead(404).end();
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{
            resource?: { attributes?: KeyValue[] };
            scopeSpans: Array<{ spans: Array<Record<string, unknown>> }>;
          }>;
        };
        for (const rs of body.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              this.spans.push({
                traceId: hex(s.traceId as string),
                spanId: hex(s.spanId as string),
                parentSpanId: hex(s.parentSpanId as string | undefined),
                name: s.name as string,
                kind: s.kind as number,
                attributes: flat(s.attributes as KeyValue[]),
                links: ((s.links as Array<{ traceId: string; spanId: string }>) ?? []).map((l) => ({
                  traceId: hex(l.traceId),
                  spanId: hex(l.spanId),
                })),
                resource: flat(rs.resource?.attributes),
              });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    failOnUnknownCalls('OpenTelemetry collector', this.unknown);
  }
}
