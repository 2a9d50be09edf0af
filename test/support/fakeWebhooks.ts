import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { selfSignedCert } from './fakeEntra/cert';
import { closeServer, failOnUnknownCalls, listenHttps } from './strictFake';

/** A message a fake hook received. */
export interface Received {
  hook: string;
  body: Record<string, unknown>;
  userAgent: string | undefined;
}

type Kind = 'slack' | 'teams' | 'json';

/**
 * Incoming webhooks over HTTPS, as strict as their documentation: Slack's (`/services/…`: a JSON
 * body with `text` or Block Kit `blocks` — header plain_text ≤ 150, section text ≤ 3,000, ≤ 10 fields
 * of ≤ 2,000, buttons with a URL — answered `200 ok`, else `400 invalid_payload` / `no_text` /
 * `invalid_blocks`; an archived channel `410 channel_is_archived`), Microsoft Teams' Workflows
 * webhook (`/workflows/…`: `{type: "message", attachments: [an Adaptive Card]}`, answered 202) and
 * a plain JSON receiver (`/hooks/…`, 200). `fail(hook, status, times)` makes a hook answer an
 * error. Any other route fails the test at `stop()`.
 */
export class FakeWebhooks {
  url = '';
  readonly certFile: string;
  readonly received: Received[] = [];
  private server?: https.Server;
  private readonly unknown: string[] = [];
  private readonly failures = new Map<
    string,
    { status: number; body: string; times: number; headers: Record<string, string> }
  >();
  private readonly tls = selfSignedCert();

  constructor() {
    this.certFile = this.tls.certFile;
  }

  async start(): Promise<this> {
    const { server, url } = await listenHttps(this.tls, (req, res) => this.handle(req, res));
    this.server = server;
    this.url = url;
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    failOnUnknownCalls('webhooks', this.unknown);
  }

  /** A hook's URL: Slack's, a Teams Workflows trigger's, or a plain JSON receiver's. */
  hook(kind: Kind, name = 'T000/B000/secretpart'): string {
    const base = { slack: '/services/', teams: '/workflows/', json: '/hooks/' }[kind];
    return `${this.url}${base}${name}`;
  }

  /** The next `times` messages to a hook path are answered `status` (and `body`, `headers`). */
  fail(hookUrl: string, status: number, times = 1, body = 'server_error', headers: Record<string, string> = {}): void {
    this.failures.set(new URL(hookUrl).pathname, { status, body, times, headers });
  }

  to(hookUrl: string): Received[] {
    const path = new URL(hookUrl).pathname;
    return this.received.filter((r) => r.hook === path);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      const kind: Kind | undefined = path.startsWith('/services/')
        ? 'slack'
        : path.startsWith('/workflows/')
          ? 'teams'
          : path.startsWith('/hooks/')
            ? 'json'
            : undefined;
      if (req.method !== 'POST' || !kind) {
        this.unknown.push(`${req.method} ${path}`);
        return void res.writeHead(404).end();
      }
      const failing = this.failures.get(path);
      if (failing && failing.times > 0) {
        failing.times--;
        return void res
          .writeHead(failing.status, { 'content-type': 'text/plain', ...failing.headers })
          .end(failing.body);
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        if (!/^application\/json/.test(req.headers['content-type'] ?? '')) throw new Error('content type');
      } catch {
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
      }
      const problem = kind === 'slack' ? slackProblem(body) : kind === 'teams' ? teamsProblem(body) : undefined;
      if (problem) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(problem);
      this.received.push({ hook: path, body, userAgent: req.headers['user-agent'] });
      if (kind === 'slack') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (kind === 'teams') return void res.writeHead(202).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }
}

type Obj = Record<string, unknown>;
const isText = (t: unknown, type: string, max: number) =>
  typeof t === 'object' &&
  t !== null &&
  (t as Obj).type === type &&
  typeof (t as Obj).text === 'string' &&
  ((t as Obj).text as string).length >= 1 &&
  ((t as Obj).text as string).length <= max;

/** What Slack would refuse in an incoming webhook's message (its Block Kit limits), if anything. */
function slackProblem(b: Obj): string | undefined {
  if (b.blocks === undefined) return typeof b.text === 'string' && b.text ? undefined : 'no_text';
  if (!Array.isArray(b.blocks) || b.blocks.length > 50) return 'invalid_blocks';
  for (const block of b.blocks as Obj[]) {
    const ok =
      block.type === 'header'
        ? isText(block.text, 'plain_text', 150)
        : block.type === 'section'
          ? (block.text === undefined || isText(block.text, 'mrkdwn', 3000)) &&
            (block.fields === undefined ||
              (Array.isArray(block.fields) &&
                block.fields.length <= 10 &&
                (block.fields as unknown[]).every((f) => isText(f, 'mrkdwn', 2000)))) &&
            (block.text !== undefined || block.fields !== undefined)
          : block.type === 'actions'
            ? Array.isArray(block.elements) &&
              (block.elements as Obj[]).every(
                (e) => e.type === 'button' && isText(e.text, 'plain_text', 75) && /^https?:\/\//.test(String(e.url)),
              )
            : false;
    if (!ok) return 'invalid_blocks';
  }
  return undefined;
}

/** What a Teams Workflows webhook would refuse ("Post card in a chat or channel" needs an Adaptive Card attachment). */
function teamsProblem(b: Obj): string | undefined {
  const attachments = b.attachments as Obj[] | undefined;
  if (b.type !== 'message' || !Array.isArray(attachments) || attachments.length === 0) return 'invalid message';
  const card = attachments[0];
  const content = card.content as Obj | undefined;
  if (card.contentType !== 'application/vnd.microsoft.card.adaptive' || content?.type !== 'AdaptiveCard')
    return 'the attachment must be an Adaptive Card';
  if (typeof content.version !== 'string' || !Array.isArray(content.body)) return 'invalid Adaptive Card';
  return undefined;
}
