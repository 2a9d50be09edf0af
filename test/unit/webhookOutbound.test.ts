import { Channels } from '../../src/notifications/channels';
import { compose } from '../../src/notifications/messages';
import { AddressGuard } from '../../src/sources/outbound';

/**
 * A webhook is sent through the outbound rules on every attempt (docs/notifications.md): an address
 * they refuse — as a literal, or a name that resolves to it — fails at once, never retried.
 */
const message = compose({
  kind: 'test',
  siteUrl: 'https://acme.atlassian.net',
  link: 'https://acme.atlassian.net',
  at: new Date(),
});
const channels = new Channels({ guard: new AddressGuard([]), timeoutMs: 2000 });
afterAll(() => channels.close());

it.each([
  ['an address', 'https://127.0.0.1:9/hooks/x'],
  ['a name resolving to it', 'https://localhost:9/hooks/x'],
])('refuses %s the outbound rules forbid, for good', async (_what, url) => {
  const sent = await channels.webhook(url, 'json', message, 0);
  expect(sent).toMatchObject({ ok: false, permanent: true });
  expect(!sent.ok && sent.error).toMatch(
    /is a loopback address, which this server does not call unless its operator allows it/,
  );
});
