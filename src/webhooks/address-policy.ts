/**
 * The SSRF guard's rules: which addresses a webhook may be sent to. Only global unicast
 * addresses, by default — loopback, RFC 1918 private, link-local (169.254.0.0/16 with the
 * cloud metadata address, fe80::/10), unique-local (fc00::/7), carrier-grade NAT, multicast,
 * reserved and unspecified ranges are refused, and so are the IPv6 forms that embed an IPv4
 * address (NAT64, 6to4, Teredo), since they can lead to any of those. IPv4-mapped IPv6 is
 * judged as the IPv4 address it is. `allow_private` or a host on the allow-list opens it.
 *
 * The same rules run twice: at submit on a URL's literal address (a 422 before anything is
 * stored), and at delivery on the address the socket actually connected to, after DNS — so a
 * name that resolves (or re-resolves, DNS rebinding) to an internal address cannot pass.
 *
 * @module
 */
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** delivery.webhooks.allow_private: any address is allowed. */
  readonly allowPrivate: boolean;
  /** delivery.webhooks.allowed_hosts: host names (or `*.suffix`) allowed to be internal. */
  readonly allowedHosts: readonly string[];
}

/** The range `address` falls in when it is not a global unicast address; undefined when it is (or is not an IP address). */
export function restrictedRange(address: string): string | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(bare)) return undefined;
  const range = ipaddr.process(bare).range();
  return range === 'unicast' ? undefined : range;
}

/** Whether `host` (a URL's hostname) is exempt from the address rules by the policy. */
export function hostAllowed(host: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivate) return true;
  const name = host.toLowerCase().replace(/\.$/, '');
  return policy.allowedHosts.some((entry) => {
    const allowed = entry.toLowerCase();
    return allowed.startsWith('*.') ? name.endsWith(allowed.slice(1)) : name === allowed;
  });
}

/** The connect-time check: may a webhook for `host` go to the connected `address`? */
export function mayConnect(policy: AddressPolicy): (host: string, address: string) => boolean {
  return (host, address) => hostAllowed(host, policy) || (ipaddr.isValid(address) && restrictedRange(address) === undefined);
}

/**
 * What is wrong with a callback URL before anything is stored: not http(s), credentials in it,
 * or a host that is a refused address literal (or `localhost`). Names are judged at delivery,
 * after resolution. Undefined when the URL may be stored.
 */
export function callbackUrlProblem(text: string, policy: AddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@): receivers verify the signature instead';
  if (hostAllowed(url.hostname, policy)) return undefined;
  const range = restrictedRange(url.hostname);
  if (range !== undefined) return `points to a ${range} address, which webhooks may not reach (delivery.webhooks.allow_private or allowed_hosts opens it)`;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'points to localhost, which webhooks may not reach (delivery.webhooks.allow_private or allowed_hosts opens it)';
  return undefined;
}
