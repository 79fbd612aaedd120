import * as pulumi from "@pulumi/pulumi";
import type { DnsServerArgs } from "./dnsRecord";
import { forwardingProvider } from "./internal/forwardingProvider";
import type { ProxyHostArgs } from "./proxyRoute";

/** The DNS server DNS-01 records are written to: DnsRecord's backends (PowerDNS API, RFC 2136 + TSIG). */
export interface AcmeDnsArgs {
  /** The zone holding `_acme-challenge.<domain>`. */
  readonly zone: pulumi.Input<string>;
  /** The server and its credentials (secret), as a DnsRecord's `server`. */
  readonly server: pulumi.Input<DnsServerArgs>;
  /** TTL of the challenge record, seconds. @default 60 */
  readonly ttl?: pulumi.Input<number>;
}

export interface AcmeCertificateArgs {
  /** The proxy host (as a ProxyRoute's `proxy`): the key is made there, the certificate is written to `<confDir>/certs/`. */
  readonly proxy: pulumi.Input<ProxyHostArgs>;
  /** `app.example.com` (HTTP-01 or DNS-01), or `*.example.com` (DNS-01 only): one wildcard certificate for every preview under the domain. */
  readonly hostname: pulumi.Input<string>;
  /** The ACME directory, e.g. `https://acme-v02.api.letsencrypt.org/directory` (Let's Encrypt) or a Pebble's `https://127.0.0.1:14000/dir`. */
  readonly directoryUrl: pulumi.Input<string>;
  /** PEM CA certificate(s) the directory's HTTPS certificate must chain to, for a private ACME server. Verification stays on. @default - the system's CAs */
  readonly directoryCa?: pulumi.Input<string>;
  /** Contact for the ACME account (expiry notices). */
  readonly email: pulumi.Input<string>;
  /**
   * `http-01`: nginx on the proxy host answers under `/.well-known/acme-challenge/` on `httpPort` (the name must resolve to the proxy host).
   * `dns-01`: a TXT record at `_acme-challenge.<domain>` through `dns`; required for wildcards.
   * @default "dns-01" for a wildcard, else "http-01"
   */
  readonly challenge?: pulumi.Input<"http-01" | "dns-01">;
  /** Where DNS-01 records go. Required with `challenge: "dns-01"`. */
  readonly dns?: pulumi.Input<AcmeDnsArgs>;
  /** An `up` this many days or fewer before expiry issues the certificate again, in place. @default 30 */
  readonly renewBeforeDays?: pulumi.Input<number>;
  /** The certificate key, made on the proxy host with openssl. @default "ec-p256" */
  readonly keyType?: pulumi.Input<"ec-p256" | "ec-p384" | "rsa-2048" | "rsa-4096">;
  /** An existing ACME account's private key (PEM; pass it as a secret). @default - a P-256 key made on create, kept as a secret in state */
  readonly accountKey?: pulumi.Input<string>;
}

/**
 * A TLS certificate from any ACME server (RFC 8555), on an nginx proxy host. The private key is
 * made on the proxy host and never leaves it: only the CSR travels. The full chain and key are
 * written next to the route files (`<confDir>/certs/<name>.crt|.key`) and nginx is reloaded
 * through the routes' locked, checked edit path. An `up` within `renewBeforeDays` of expiry
 * renews in place; `refresh` notices a certificate removed or replaced on the host.
 * @see https://www.rfc-editor.org/rfc/rfc8555
 */
export class AcmeCertificate extends pulumi.dynamic.Resource {
  /** The full chain (leaf first) on the proxy host: a route's `tls.certificate`. */
  declare readonly certificatePath: pulumi.Output<string>;
  /** The private key on the proxy host: a route's `tls.key`. */
  declare readonly keyPath: pulumi.Output<string>;
  /** Expiry of the certificate, ISO 8601. */
  declare readonly notAfter: pulumi.Output<string>;
  declare readonly notBefore: pulumi.Output<string>;
  declare readonly serialNumber: pulumi.Output<string>;
  declare readonly issuer: pulumi.Output<string>;
  /** The ACME account's URL at the directory. */
  declare readonly accountUrl: pulumi.Output<string>;
  /** The ACME account key (secret). */
  declare readonly accountKey: pulumi.Output<string>;
  declare readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: AcmeCertificateArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      // Sealed here, not by the caller: the proxy's key, the DNS credentials and the account key
      // reach state as inputs too, where additionalSecretOutputs does not reach.
      proxy: pulumi.secret(args.proxy),
      dns: args.dns === undefined ? undefined : pulumi.secret(args.dns),
      accountKey: args.accountKey === undefined ? undefined : pulumi.secret(args.accountKey),
      certificatePath: undefined,
      keyPath: undefined,
      notAfter: undefined,
      notBefore: undefined,
      serialNumber: undefined,
      issuer: undefined,
      accountUrl: undefined,
      issuedSha256: undefined,
      certificateSha256: undefined,
    };
    super(
      forwardingProvider("acme"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "proxy", "dns", "accountKey"] },
      "launchpad",
      "AcmeCertificate",
    );
  }

  /** The `tls` of a ProxyRoute (or a PreviewEnvironment's `proxy.tls`) that serves this certificate. */
  get tls(): pulumi.Output<{ certificate: string; key: string }> {
    return pulumi.all([this.certificatePath, this.keyPath]).apply(([certificate, key]) => ({ certificate, key }));
  }
}
