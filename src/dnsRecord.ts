import * as pulumi from "@pulumi/pulumi";
import { forwardingProvider } from "./internal/forwardingProvider";

/**
 * A PowerDNS Authoritative server, written through its HTTP API.
 * @see https://doc.powerdns.com/authoritative/http-api/zone.html
 */
export interface PowerDnsServerArgs {
  readonly kind: pulumi.Input<"powerdns">;
  /** URL of the PowerDNS webserver (`webserver-address`/`webserver-port`), e.g. `https://dns.internal:8081`. TLS is verified; `http://` needs `allowPlainHttp`. */
  readonly url: pulumi.Input<string>;
  /**
   * The API key (`api-key` in pdns.conf). Stored only as a secret; never appears in messages.
   * @see https://doc.powerdns.com/authoritative/settings.html#api-key
   */
  readonly apiKey: pulumi.Input<string>;
  /** The server id in API paths. @default "localhost" */
  readonly serverId?: pulumi.Input<string>;
  /** Allow a plain `http://` `url` (the API key then travels in clear): only for a loopback or a trusted network. @default false */
  readonly allowPlainHttp?: pulumi.Input<boolean>;
}

/**
 * A TSIG key the DNS server accepts for updates of the zone.
 * @see https://www.rfc-editor.org/rfc/rfc8945
 */
export interface TsigKeyArgs {
  /** Key name as the server knows it, e.g. `launchpad` (BIND `key "launchpad"`, PowerDNS `pdnsutil import-tsig-key launchpad ...`). */
  readonly name: pulumi.Input<string>;
  /** HMAC algorithm. @default "hmac-sha256" */
  readonly algorithm?: pulumi.Input<"hmac-sha256" | "hmac-sha512">;
  /** The key in base64, as `tsig-keygen` or `pdnsutil generate-tsig-key` print it. Stored only as a secret. */
  readonly secret: pulumi.Input<string>;
}

/**
 * Any server that takes RFC 2136 dynamic updates signed with TSIG: BIND, Knot, PowerDNS
 * (`dnsupdate=yes`), Windows DNS. Sent over UDP, over TCP when large, truncated or unanswered.
 * @see https://www.rfc-editor.org/rfc/rfc2136
 */
export interface Rfc2136ServerArgs {
  readonly kind: pulumi.Input<"rfc2136">;
  /** Address or name of the primary server for the zone. */
  readonly host: pulumi.Input<string>;
  /** DNS port. @default 53 */
  readonly port?: pulumi.Input<number>;
  readonly tsig: pulumi.Input<TsigKeyArgs>;
}

export type DnsServerArgs = PowerDnsServerArgs | Rfc2136ServerArgs;

/**
 * Arguments of a {@link DnsRecord}.
 * @see https://www.rfc-editor.org/rfc/rfc1035#section-3.2
 */
export interface DnsRecordArgs {
  /** The zone the record lives in, e.g. `preview.example.com`. Changing it replaces the record. */
  readonly zone: pulumi.Input<string>;
  /**
   * Name relative to the zone (`app`, `_sip._tcp`, `*.pr-12`, or `@` for the apex), or an absolute
   * name inside the zone (`app.preview.example.com`). Labels up to 63 characters of letters, digits,
   * `-` and `_`; at most 253 characters in all. Changing it replaces the record.
   */
  readonly name: pulumi.Input<string>;
  /** Record type. Changing it replaces the record. */
  readonly type: pulumi.Input<"A" | "AAAA" | "CNAME" | "TXT" | "SRV" | "MX">;
  /**
   * The record set's values, one or more (a CNAME exactly one, and never at the apex):
   * A `192.0.2.10`; AAAA `2001:db8::10`; CNAME `lb.example.com`; MX `10 mail.example.com`;
   * SRV `priority weight port target` (`10 5 5060 sip.example.com`); TXT plain text (split into
   * 255-byte strings for you) or quoted strings (`"part one" "part two"`). Host names are absolute,
   * trailing dot optional. Changing values updates the set in place, atomically.
   */
  readonly values: pulumi.Input<pulumi.Input<string>[]>;
  /** Time to live in seconds, 1 to 2147483647. @default 300 */
  readonly ttl?: pulumi.Input<number>;
  /**
   * Take over a record set with this name and type that holds other values (and replace it even if
   * it was changed out of band since the last refresh). An identical set is always adopted.
   * @default false
   */
  readonly overwrite?: pulumi.Input<boolean>;
  /**
   * Where the zone is served, and the credentials to change it. Stored only as a secret.
   * Changing `kind` replaces the record; address and credentials update in place (same server).
   */
  readonly server: pulumi.Input<DnsServerArgs>;
}

/**
 * One record set (all values of one name and type) on a self-hosted DNS server, through the
 * PowerDNS HTTP API or RFC 2136 dynamic updates. The resource owns the set: it refuses to take
 * over a different existing one unless `overwrite`, adopts an identical one, and on delete removes
 * only the values it wrote. Its id is `<zone>/<fqdn>/<type>`.
 * For public zones at Cloudflare use `@pulumi/cloudflare`'s own `DnsRecord` (see the README).
 */
export class DnsRecord extends pulumi.dynamic.Resource {
  /** Fully-qualified name, lower case, without the trailing dot: `app.preview.example.com`. */
  declare readonly fqdn: pulumi.Output<string>;
  /** The values in canonical form, sorted (after `refresh`: what the server serves). */
  declare readonly values: pulumi.Output<string[]>;
  declare readonly zone: pulumi.Output<string>;
  /** The name relative to the zone (`@` for the apex). */
  declare readonly name: pulumi.Output<string>;
  declare readonly type: pulumi.Output<string>;
  declare readonly ttl: pulumi.Output<number>;
  declare readonly overwrite: pulumi.Output<boolean>;
  declare readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: DnsRecordArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      zone: args.zone,
      name: args.name,
      type: args.type,
      values: args.values,
      ttl: args.ttl,
      overwrite: args.overwrite,
      // The whole server is secret, so the API key and TSIG secret never reach state in clear text.
      server: pulumi.secret(args.server),
      fqdn: undefined,
      schemaVersion: undefined,
    };
    super(
      forwardingProvider("dns"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "server"] },
      "launchpad",
      "DnsRecord",
    );
  }
}
