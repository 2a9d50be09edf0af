import { AddressGuard, OutboundRefused } from '../../src/sources/outbound';
import { loadConfig } from '../../src/config';

/** Which addresses a URL a site admin typed may reach: each special range refused, the operator's allowances honoured. */
const guard = new AddressGuard();

it.each([
  ['127.0.0.1', 'a loopback address'],
  ['127.8.9.10', 'a loopback address'],
  ['::1', 'a loopback address'],
  ['169.254.169.254', 'a link-local address'],
  ['fe80::1', 'a link-local address'],
  ['10.1.2.3', 'a private address'],
  ['172.16.0.1', 'a private address'],
  ['172.31.255.255', 'a private address'],
  ['192.168.1.1', 'a private address'],
  ['fd12:3456::1', 'a private address'],
  ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
  ['0.0.0.0', 'not a routable address'],
  ['224.0.0.1', 'not a routable address'],
  ['::ffff:10.0.0.1', 'a private address'], // IPv4-mapped IPv6 is the IPv4 address
  ['::ffff:127.0.0.1', 'a loopback address'],
])('%s is refused as %s', (address, what) => {
  expect(guard.refusal(address)).toMatch(new RegExp(`is ${what.replace(/[()]/g, '\\$&')}`));
});

it.each(['20.190.160.1', '52.123.4.5', '172.32.0.1', '2603:1030::1', '8.8.8.8'])('%s (public) may be called', (a) => {
  expect(guard.refusal(a)).toBeUndefined();
});

it("the operator's allowances: CIDRs, single addresses, IPv6, or everything", () => {
  const g = new AddressGuard(['10.0.0.0/8', '192.168.5.7', 'fd00::/8']);
  expect(g.refusal('10.200.1.1')).toBeUndefined();
  expect(g.refusal('::ffff:10.200.1.1')).toBeUndefined();
  expect(g.refusal('192.168.5.7')).toBeUndefined();
  expect(g.refusal('192.168.5.8')).toMatch(/private/);
  expect(g.refusal('fd00::5')).toBeUndefined();
  expect(g.refusal('169.254.169.254')).toMatch(/link-local/);
  expect(new AddressGuard(['*']).refusal('169.254.169.254')).toBeUndefined();
});

it('an IP literal is checked before connecting; a name is checked on what it resolves to', async () => {
  expect(() => guard.checkHost('169.254.169.254')).toThrow(OutboundRefused);
  expect(() => guard.checkHost('[::1]')).toThrow(/loopback/);
  expect(() => guard.checkHost('login.microsoftonline.com')).not.toThrow(); // names go through lookup
  const looked = await new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((resolve) =>
    guard.lookup('localhost', {}, (err, address) =>
      resolve({ err, address: typeof address === 'string' ? address : '' }),
    ),
  );
  expect(looked.err).toBeInstanceOf(OutboundRefused);
  expect(looked.err?.code).toBe('EADDRNOTALLOWED');
  expect(looked.err?.message).toMatch(
    /^localhost: (127\.0\.0\.1|::1) is a loopback address, which this server does not call unless its operator allows it \(OUTBOUND_ALLOW/,
  );
  const allowed = await new Promise<string>((resolve, reject) =>
    new AddressGuard(['127.0.0.0/8', '::1/128']).lookup('localhost', {}, (err, address) =>
      err ? reject(err) : resolve(typeof address === 'string' ? address : ''),
    ),
  );
  expect(allowed).toMatch(/^(127\.0\.0\.1|::1)$/);
});

it('OUTBOUND_ALLOW is validated at start-up', () => {
  const base = { DATABASE_URL: 'postgres://u:p@localhost/db', APP_SECRET_KEY: 'a'.repeat(64) };
  expect(loadConfig({ ...base, OUTBOUND_ALLOW: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).outboundAllow).toEqual([
    '10.0.0.0/8',
    '127.0.0.1',
    'fd00::/8',
  ]);
  expect(loadConfig(base).outboundAllow).toEqual([]);
  expect(() => loadConfig({ ...base, OUTBOUND_ALLOW: '10.0.0.0/33' })).toThrow(/OUTBOUND_ALLOW/);
  expect(() => loadConfig({ ...base, OUTBOUND_ALLOW: 'intranet' })).toThrow(/OUTBOUND_ALLOW/);
});
