import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Fails the test that called a fake in a way it does not know (a route, a parameter): the product
 * called something of the vendor's that the fake was not made for, so a green test would prove
 * nothing about it. Empties the list.
 */
export function failOnUnknownCalls(vendor: string, unknown: string[]): void {
  if (unknown.length === 0) return;
  const calls = [...new Set(unknown)].join(', ');
  unknown.length = 0;
  throw new Error(
    `The fake ${vendor} was called on routes it does not know: ${calls}. Add them to the fake, as strict as ${vendor}'s documentation.`,
  );
}

/** An HTTPS server for a fake on a free port of 127.0.0.1 (keep-alive as a cloud service holds it), and its URL. */
export async function listenHttps(
  tls: { key: string; cert: string },
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: https.Server; url: string }> {
  const server = https.createServer(tls, handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Closes a fake's server (its open connections first). */
export async function closeServer(server: https.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
}
