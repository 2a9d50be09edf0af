import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';

/**
 * Which addresses the server may call at URLs a site admin typed (an Entra custom cloud's authority
 * and Graph URLs, LDAP servers). A server hosting many sites must not become a way into its own
 * network: loopback, link-local (cloud metadata at 169.254.169.254), private and other special
 * ranges are refused unless the operator allows them (`OUTBOUND_ALLOW`, CIDRs). The check is on
 * the address actually connected to — after DNS, for every connection, redirects included — so a
 * name that resolves to a private address is refused as well as the address itself.
 */
export class AddressGuard {
  private readonly allowed = new net.BlockList();
  private readonly allowAll: boolean;

  /** `allow`: CIDRs the operator allows ("10.0.0.0/8", "127.0.0.1/32", "fd00::/8"), or "*" for any address. */
  constructor(readonly allow: string[] = []) {
    this.allowAll = allow.includes('*');
    for (const cidr of allow.filter((a) => a !== '*')) {
      const [address, bits] = cidr.split('/');
      const type = net.isIPv6(address) ? 'ipv6' : 'ipv4';
      this.allowed.addSubnet(address, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type);
    }
  }

  /** Why the address may not be called (a sentence's end), or undefined when it may. */
  refusal(address: string): string | undefined {
    if (this.allowAll) return undefined;
    const v4 = mappedV4(address);
    const type = v4 || net.isIPv4(address) ? 'ipv4' : 'ipv6';
    const a = v4 ?? address;
    if (this.allowed.check(a, type)) return undefined;
    const range = SPECIAL.find((r) => r.list.check(a, type));
    return range && `${a} is ${range.what}`;
  }

  /** A DNS lookup for sockets that refuses forbidden addresses (Node calls it for host names, not for IP literals). */
  readonly lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses;
      const refused = list.map((x) => this.refusal(x.address)).find((r) => r);
      // One forbidden address refuses the name: DNS answers can change between two lookups.
      if (refused) return callback(new OutboundRefused(hostname, refused), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };

  /** Throws OutboundRefused when `host` is an IP literal the server may not call (lookup covers names). */
  checkHost(host: string): void {
    const h = host.replace(/^\[|\]$/g, '');
    if (!net.isIP(h)) return;
    const refused = this.refusal(h);
    if (refused) throw new OutboundRefused(host, refused);
  }

  /** Resolves a host name (or takes an IP literal) and throws OutboundRefused when it may not be called: a check before a client that hides network errors (msal) gets to it. The connection itself is checked again. */
  async checkName(host: string): Promise<void> {
    this.checkHost(host);
    if (net.isIP(host.replace(/^\[|\]$/g, ''))) return;
    await new Promise<void>((resolve, reject) =>
      this.lookup(host, {}, (err) => (err && err instanceof OutboundRefused ? reject(err) : resolve())),
    );
  }

  /** `net.connect` through the guard. */
  connect(port: number, host: string): net.Socket {
    this.checkHost(host);
    return net.connect({ port, host, lookup: this.lookup });
  }

  /** `tls.connect` through the guard. */
  connectTls(port: number, host: string, options: tls.ConnectionOptions = {}): tls.TLSSocket {
    this.checkHost(host);
    return tls.connect({ ...options, port, host, lookup: this.lookup });
  }
}

/** A connection refused because of where it would go: the message says which address and why, and how to allow it. */
export class OutboundRefused extends Error {
  readonly code = 'EADDRNOTALLOWED';
  constructor(host: string, why: string) {
    super(
      `${host}: ${why}, which this server does not call unless its operator allows it (OUTBOUND_ALLOW, for example 10.0.0.0/8)`,
    );
  }
}

/**
 * A redirect from a server at a tenant-typed URL, never followed: a redirect could lead the server
 * anywhere, and the URL the admin typed is the one that must answer.
 */
export class RedirectRefused extends Error {
  readonly code = 'EREDIRECTREFUSED';
  constructor(host: string, location: string) {
    let to = location;
    try {
      to = new URL(location, `https://${host}`).host;
    } catch {
      /* a malformed Location: named as it is */
    }
    super(`${host} answered with a redirect (to ${to}), which this server does not follow: the URL must answer itself`);
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:10.0.0.1), if it is one. */
function mappedV4(address: string): string | undefined {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m?.[1];
}

function ranges(what: string, cidrs: string[]): { what: string; list: net.BlockList } {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [address, bits] = c.split('/');
    list.addSubnet(address, Number(bits), net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }
  return { what, list };
}

/** The ranges a tenant's URL may not reach (RFC 6890's special-purpose registries, the ones that matter here). */
const SPECIAL = [
  ranges('a loopback address', ['127.0.0.0/8', '::1/128']),
  ranges('a link-local address (cloud metadata lives there)', ['169.254.0.0/16', 'fe80::/10']),
  ranges('a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
  ranges('a shared (carrier-grade NAT) address', ['100.64.0.0/10']),
  ranges('not a routable address', [
    '0.0.0.0/8',
    '192.0.0.0/24',
    '198.18.0.0/15',
    '224.0.0.0/4',
    '240.0.0.0/4',
    '::/128',
    'ff00::/8',
  ]),
];
