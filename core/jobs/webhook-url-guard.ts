import { lookup as dnsLookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { ApiError } from "../contracts/errors.ts";

/** Resolves a host name to all its addresses (dns.lookup with `all: true` in production). */
export type ResolveHost = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface WebhookUrlPolicy {
  /** Allow private, loopback, link-local and unique-local targets (the embedded default, for local receivers). */
  allowPrivate: boolean;
  /** Allow plain http:// (the embedded default); otherwise https only. */
  allowHttp: boolean;
  /** Injected in tests to make a name resolve to a chosen address. */
  resolve?: ResolveHost;
}

/** A URL that passed the guard, with the address that was checked: connect to it and nothing else. */
export interface CheckedWebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

const resolveWithDns: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// Cloud metadata and credential endpoints (EC2 and Alibaba metadata, ECS task credentials, EKS Pod
// Identity): refused even where private targets are allowed.
const METADATA_ADDRESSES = new Set([
  "169.254.169.254",
  "fd00:ec2::254",
  "100.100.100.200",
  "169.254.170.2",
  "169.254.170.23",
  "fd00:ec2::23",
]);
// Ranges a private deployment may reach; everything else that is not public unicast is refused always.
const PRIVATE_RANGES = new Set(["private", "loopback", "linkLocal", "uniqueLocal", "carrierGradeNat"]);

function refuse(detail: string): never {
  throw new ApiError("webhook_url_refused", detail);
}

/**
 * The IPv4 address an IPv6 address carries, for the forms a stack or a translator may turn into an IPv4
 * connection: IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96 and the
 * local-use 64:ff9b:1::/48) and 6to4 (2002:aabb:ccdd::/48). IPv4-mapped is handled by ipaddr.process.
 */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const w = ip.parts;
  const low32 = () => ipaddr.fromByteArray(ip.toByteArray().slice(12)) as ipaddr.IPv4;
  const zeros = (from: number, to: number) => w.slice(from, to).every((part) => part === 0);
  // :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones.
  if (zeros(0, 6) && !(w[6] === 0 && w[7]! <= 1)) return low32();
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return low32();
  if (w[0] === 0x64 && w[1] === 0xff9b && (zeros(2, 6) || w[2] === 1)) return low32();
  if (w[0] === 0x2002) return ipaddr.fromByteArray(ip.toByteArray().slice(2, 6)) as ipaddr.IPv4;
  return null;
}

/**
 * Why an address may not be a webhook target, or null when it may. An IPv6 address that embeds an IPv4 one
 * (mapped, compatible, translated, NAT64, 6to4) is judged by that IPv4 address as well.
 */
export function addressRefusal(address: string, allowPrivate: boolean): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const ip = ipaddr.process(address);
  const embedded = ip.kind() === "ipv6" ? embeddedIPv4(ip as ipaddr.IPv6) : null;
  if (embedded) {
    const why = addressRefusal(embedded.toString(), allowPrivate);
    if (why) return `${address} embeds the IPv4 address ${embedded.toString()}, and ${why}`;
  }
  const normalized = ip.toNormalizedString();
  if (METADATA_ADDRESSES.has(normalized) || METADATA_ADDRESSES.has(ip.toString())) {
    return `${address} is a cloud metadata address`;
  }
  const range = ip.range();
  if (range === "unicast") return null;
  if (allowPrivate && PRIVATE_RANGES.has(range)) return null;
  return `${address} is a ${range} address`;
}

/**
 * Checks a webhook URL against the policy and resolves it once. Called when a subscription is created and
 * again before every delivery, whose request then connects to the returned address (no DNS rebinding).
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<CheckedWebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    refuse(`${JSON.stringify(raw)} is not an absolute URL.`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    refuse(`Webhook URLs must use https${policy.allowHttp ? " or http" : ""}; got ${url.protocol}.`);
  }
  if (url.username || url.password) refuse("Webhook URLs may not contain credentials.");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const addresses = ipaddr.isValid(host)
    ? [{ address: host, family: ipaddr.parse(host).kind() === "ipv6" ? 6 : 4 }]
    : await (policy.resolve ?? resolveWithDns)(host).catch(() =>
        refuse(`The host ${host} does not resolve.`),
      );
  if (addresses.length === 0) refuse(`The host ${host} does not resolve.`);
  // Every address must pass: a name that also resolves to an internal address is refused outright.
  for (const { address } of addresses) {
    const why = addressRefusal(address, policy.allowPrivate);
    if (why) refuse(`The webhook host ${host} resolves to a refused address: ${why}.`);
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
