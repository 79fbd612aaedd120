import * as net from "net";
import type * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

/**
 * A public name at Cloudflare for something launchpad serves: what to pass to
 * `@pulumi/cloudflare`'s own `DnsRecord` (this package does not wrap Cloudflare's API).
 * @see https://www.pulumi.com/registry/packages/cloudflare/api-docs/dnsrecord/
 */
export interface PublicDnsRecordArgs {
  /** The Cloudflare zone id (Zone > Overview > API in the dashboard). */
  readonly zoneId: pulumi.Input<string>;
  /** The public host name, e.g. `pr-12.preview.example.com`. */
  readonly hostname: pulumi.Input<string>;
  /** Where it points: an IPv4 address (A), an IPv6 address (AAAA) or a host name (CNAME), e.g. the proxy host. */
  readonly target: pulumi.Input<string>;
  /** Serve through Cloudflare's proxy (orange cloud). @default false */
  readonly proxied?: pulumi.Input<boolean>;
  /** TTL in seconds, 60 to 86400; proxied records always use 1 ("automatic"), as Cloudflare requires. @default 300 */
  readonly ttl?: pulumi.Input<number>;
  /** Note shown in the Cloudflare dashboard, e.g. the branch. @default - none */
  readonly comment?: pulumi.Input<string>;
}

/** The record type a target calls for: A for IPv4, AAAA for IPv6, CNAME for a name. */
export function recordTypeFor(target: string): "A" | "AAAA" | "CNAME" {
  return net.isIPv4(target) ? "A" : net.isIPv6(target) ? "AAAA" : "CNAME";
}

/**
 * Arguments for `new cloudflare.DnsRecord(...)`: picks the type from the target and the TTL
 * Cloudflare accepts for proxied records, so components do not repeat those rules.
 */
export function publicDnsRecordArgs(args: PublicDnsRecordArgs): cloudflare.DnsRecordArgs {
  const proxied = pulumi.output(args.proxied ?? false);
  return {
    zoneId: args.zoneId,
    name: args.hostname,
    type: pulumi.output(args.target).apply(recordTypeFor),
    content: pulumi.output(args.target).apply((t) => t.replace(/\.$/, "")),
    proxied,
    ttl: pulumi.all([proxied, args.ttl ?? 300]).apply(([p, ttl]) => (p ? 1 : ttl)),
    ...(args.comment === undefined ? {} : { comment: args.comment }),
  };
}
