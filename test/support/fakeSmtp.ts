import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { selfSignedCert } from './fakeEntra/cert';

/** A mail the server accepted. */
export interface Mail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
}

/**
 * A real SMTP server (nodemailer's smtp-server) as an operator's relay is set up: STARTTLS with a
 * certificate the app trusts through SMTP_CA_FILE, AUTH required (PLAIN/LOGIN, only over TLS), and
 * recipients outside `example.com` refused `550` — a permanent failure.
 */
export class FakeSmtp {
  readonly mails: Mail[] = [];
  readonly user = 'relay';
  readonly password = 'relay-password';
  readonly certFile: string;
  port = 0;
  private readonly server: SMTPServer;

  constructor() {
    const tls = selfSignedCert();
    this.certFile = tls.certFile;
    this.server = new SMTPServer({
      key: tls.key,
      cert: tls.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth: (auth, session, done) => {
        if (!session.secure) return done(new Error('Must issue a STARTTLS command first'));
        if (auth.username === this.user && auth.password === this.password) return done(null, { user: auth.username });
        done(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo: (address, _session, done) => {
        if (!address.address.endsWith('@example.com'))
          return done(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
        done();
      },
      onData: (stream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            subject: /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1].replace(/\r?\n[ \t]/g, ' ') ?? '',
          });
          done();
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** The SMTP_URL an operator would set. */
  get url(): string {
    return `smtp://${this.user}:${this.password}@127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
