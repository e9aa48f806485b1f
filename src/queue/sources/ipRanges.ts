import { isIP } from 'node:net';

/**
 * Which addresses a link may point to. The tables follow RFC 6890 and the IANA IPv4 / IPv6 Special-Purpose
 * Address Registries (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry), plus multicast (RFC 5771, RFC 4291) and the
 * deprecated site-local block (RFC 3879). We refuse whole blocks even where the registry marks a few
 * addresses inside as globally reachable (e.g. 192.0.0.9/32): nobody hosts songs there.
 *
 * IPv6 is judged strictly: only global unicast (2000::/3) can be public, so unallocated space is refused too.
 * Addresses that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are
 * judged by that IPv4 address, since that is where the packets end up.
 */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'invalid';

interface Range {
  /** The network address, as bytes (4 for IPv4, 16 for IPv6). */
  readonly network: Uint8Array;
  /** Prefix length, bits. */
  readonly bits: number;
  readonly kind: Exclude<AddressClass, 'public' | 'invalid'>;
}

function range(cidr: string, kind: Range['kind']): Range {
  const [address, bits] = cidr.split('/');
  const network = parseAddress(address);
  if (!network) throw new Error(`bad range ${cidr}`);
  return { network, bits: Number(bits), kind };
}

/** Most specific first where ranges nest (the first match wins). */
const IPV4_RANGES: readonly Range[] = [
  range('255.255.255.255/32', 'broadcast'),
  range('0.0.0.0/32', 'unspecified'),
  range('0.0.0.0/8', 'reserved'), // "this network" (RFC 791)
  range('10.0.0.0/8', 'private'), // RFC 1918
  range('100.64.0.0/10', 'private'), // shared address space, carrier-grade NAT (RFC 6598)
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'), // includes cloud metadata 169.254.169.254
  range('172.16.0.0/12', 'private'), // RFC 1918
  range('192.0.0.0/24', 'reserved'), // IETF protocol assignments (RFC 6890)
  range('192.0.2.0/24', 'documentation'), // TEST-NET-1 (RFC 5737)
  range('192.88.99.0/24', 'reserved'), // 6to4 relay anycast (RFC 7526)
  range('192.168.0.0/16', 'private'), // RFC 1918
  range('198.18.0.0/15', 'reserved'), // benchmarking (RFC 2544)
  range('198.51.100.0/24', 'documentation'), // TEST-NET-2
  range('203.0.113.0/24', 'documentation'), // TEST-NET-3
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'), // future use (RFC 1112)
];

/** Checked after the IPv4-embedding prefixes; anything outside 2000::/3 that is not listed is 'reserved'. */
const IPV6_RANGES: readonly Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('64:ff9b:1::/48', 'private'), // local-use NAT64 (RFC 8215)
  range('100::/64', 'reserved'), // discard-only (RFC 6666)
  range('2001:db8::/32', 'documentation'), // RFC 3849
  range('2001::/23', 'reserved'), // IETF protocol assignments, incl. Teredo 2001::/32 (RFC 2928, RFC 4380)
  range('3fff::/20', 'documentation'), // RFC 9637
  range('5f00::/16', 'reserved'), // SRv6 SIDs (RFC 9602)
  range('fc00::/7', 'private'), // unique local (RFC 4193)
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'reserved'), // site-local, deprecated (RFC 3879)
  range('ff00::/8', 'multicast'),
];

const IPV4_MAPPED = range('::ffff:0:0/96', 'reserved');
const NAT64 = range('64:ff9b::/96', 'reserved'); // RFC 6052
const SIX_TO_FOUR = range('2002::/16', 'reserved'); // RFC 3056
const GLOBAL_UNICAST = range('2000::/3', 'reserved');

/**
 * Classifies an IP address literal (IPv4 dotted quad or IPv6, without brackets; an IPv6 zone such as
 * `%eth0` is allowed). Anything that is not an IP literal is 'invalid'.
 */
export function classifyAddress(ip: string): AddressClass {
  const zone = ip.indexOf('%');
  const bytes = parseAddress(zone >= 0 ? ip.slice(0, zone) : ip);
  if (!bytes || (zone >= 0 && bytes.length === 4)) return 'invalid';
  const kind = classifyBytes(bytes);
  // A zone only means something for link-scoped addresses; a "global" one with a zone is not a real target.
  return zone >= 0 && kind === 'public' ? 'reserved' : kind;
}

/** True only for addresses that are globally reachable unicast, i.e. safe for the bot to connect to. */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

function classifyBytes(bytes: Uint8Array): AddressClass {
  if (bytes.length === 4) return matchRange(bytes, IPV4_RANGES) ?? 'public';
  if (inRange(bytes, IPV4_MAPPED) || inRange(bytes, NAT64)) return classifyBytes(bytes.subarray(12, 16));
  if (inRange(bytes, SIX_TO_FOUR)) return classifyBytes(bytes.subarray(2, 6));
  const listed = matchRange(bytes, IPV6_RANGES);
  if (listed) return listed;
  return inRange(bytes, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

function matchRange(bytes: Uint8Array, ranges: readonly Range[]): Range['kind'] | undefined {
  return ranges.find((r) => inRange(bytes, r))?.kind;
}

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.network.length) return false;
  const whole = r.bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== r.network[i]) return false;
  const rest = r.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole] & mask) === (r.network[whole] & mask);
}

/** Parses an IP literal to 4 or 16 bytes; undefined when `node:net` does not accept it as one. */
export function parseAddress(ip: string): Uint8Array | undefined {
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (family !== 6) return undefined;
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}
