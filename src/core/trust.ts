/**
 * Which peers may speak for the client (`api.trust_proxy`): their `X-Forwarded-*` and
 * `Forwarded` headers are believed, kept and appended to. The forms Fastify's `trustProxy`
 * takes, compiled once into the function Fastify and the forwarding headers both use, so the
 * two never disagree:
 *
 * - `true` / `false`: every peer / none;
 * - a hop count `n`: the `n` hops nearest to us (the peer is hop 0), as Fastify counts;
 * - a list of addresses and CIDRs, or the names `loopback`, `linklocal`, `uniquelocal`.
 *
 * @module
 */
import { BlockList, isIP } from 'node:net';

export type TrustProxy = boolean | number | readonly string[];

export type TrustFunction = (address: string, hop: number) => boolean;

/** The ranges behind proxy-addr's names, which Fastify users already write. */
const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Why `entry` is not an address, a CIDR or a known name; undefined when it is one. */
export function trustEntryProblem(entry: string): string | undefined {
  if (Object.hasOwn(NAMED, entry.toLowerCase())) return undefined;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
    return `"${entry}" is not an IP address, a CIDR (10.0.0.0/8, fd00::/8) or one of ${Object.keys(NAMED).join(', ')}`;
  }
  return undefined;
}

export function trustFunction(setting: TrustProxy): TrustFunction {
  if (setting === true) return () => true;
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  const list = new BlockList();
  for (const entry of setting.flatMap((e) => NAMED[e.toLowerCase()] ?? [e])) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `::ffff:10.1.2.3` (an IPv4 client of a dual-stack socket) → `10.1.2.3`. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}
