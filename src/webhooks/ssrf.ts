import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { validationFailed } from '../common/domain-error';

/**
 * Where a webhook may point (SPEC B.7). Only http(s) URLs without credentials. Unless private
 * receivers are allowed (WEBHOOK_ALLOW_PRIVATE; on outside production), every address the host
 * name resolves to must be public: loopback, private, link-local (cloud metadata at
 * 169.254.169.254 and fd00:ec2::254), carrier-grade NAT, multicast and unspecified addresses
 * are refused, IPv4 inside IPv6 included. The check runs at registration and again inside
 * every connection's own DNS lookup, so a name that later resolves elsewhere (DNS rebinding)
 * is refused too; redirects are never followed.
 */
const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2002::', 16],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv6');
}

const MAX_URL_LENGTH = 2000;

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, if any. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match) return match[1];
  const hex = /^::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const high = parseInt(hex[1] ?? '0', 16);
  const low = parseInt(hex[2] ?? '0', 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return BLOCKED.check(v4, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

export interface ParsedTarget {
  readonly url: URL;
  /** The host name or address, without IPv6 brackets. */
  readonly host: string;
}

/** Checks the shape of a webhook URL (no network access). */
export function parseTarget(raw: string): ParsedTarget {
  if (raw.length > MAX_URL_LENGTH) throw validationFailed('url', `must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw validationFailed('url', 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationFailed('url', 'must be http or https');
  if (url.username !== '' || url.password !== '') throw validationFailed('url', 'must not carry credentials');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw validationFailed('url', 'has no host');
  return { url, host };
}

export type Resolver = (host: string) => Promise<readonly string[]>;

/** Every address a host name resolves to (the system resolver, as connections use it). */
export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) => {
      if (error) reject(error);
      else resolve(addresses.map((a) => a.address));
    });
  });

/** Resolves a host and refuses it when any of its addresses is not public. Returns the addresses. */
export async function publicAddresses(host: string, resolver: Resolver = systemResolver): Promise<readonly string[]> {
  const addresses = isIP(host) ? [host] : await resolver(host);
  if (addresses.length === 0) throw new Error(`${host} does not resolve`);
  const refused = addresses.find(isPrivateAddress);
  if (refused !== undefined) throw new PrivateAddressError(host, refused);
  return addresses;
}

export class PrivateAddressError extends Error {
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a loopback, private or link-local address`);
  }
}

/** At registration: the URL's shape, and (unless private receivers are allowed) its addresses. */
export async function checkTarget(raw: string, allowPrivate: boolean, resolver: Resolver = systemResolver): Promise<URL> {
  const { url, host } = parseTarget(raw);
  if (allowPrivate) return url;
  try {
    await publicAddresses(host, resolver);
  } catch (error) {
    if (error instanceof PrivateAddressError) throw validationFailed('url', 'must not point at a loopback, private or link-local address');
    throw validationFailed('url', `host ${host} does not resolve`);
  }
  return url;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses private addresses at connection time: the
 * connection goes to an address that was checked, never to one resolved again later.
 */
export function guardedLookup(resolver: Resolver = systemResolver) {
  return (host: string, options: { all?: boolean }, callback: LookupCallback): void => {
    publicAddresses(host, resolver).then(
      (addresses) => {
        const first = addresses[0] as string;
        if (options.all)
          callback(
            null,
            addresses.map((address) => ({ address, family: isIP(address) })),
          );
        else callback(null, first, isIP(first));
      },
      (error: Error) => callback(Object.assign(error, { code: 'EWEBHOOKADDRESS' }), '', 0),
    );
  };
}
