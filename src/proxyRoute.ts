import * as pulumi from "@pulumi/pulumi";
import { forwardingProvider } from "./internal/forwardingProvider";

/** The nginx proxy host a route is written to, and how to reach it over SSH. */
export interface ProxyHostArgs {
  /** SSH address of the proxy host (hostname or IP). */
  readonly host: pulumi.Input<string>;
  /** SSH port. @default 22 */
  readonly port?: pulumi.Input<number>;
  /** SSH user; must be allowed to write `confDir` and run `testCommand` and `reloadCommand`. */
  readonly user: pulumi.Input<string>;
  /** Private key (PEM or OpenSSH); pass it as a secret. Only one of `privateKey` and `agent`. @default - the SSH agent */
  readonly privateKey?: pulumi.Input<string>;
  /** Passphrase of `privateKey`; pass it as a secret. @default - none */
  readonly passphrase?: pulumi.Input<string>;
  /** SSH agent socket path, when no `privateKey` is given. @default - $SSH_AUTH_SOCK of the provider process */
  readonly agent?: pulumi.Input<string>;
  /** The host key's fingerprint as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it: `SHA256:...`. */
  readonly hostKeyFingerprint: pulumi.Input<string>;
  /** Directory of the route files; nginx.conf includes `<confDir>/http/*.conf` and `<confDir>/stream/*.conf`. @default "/etc/nginx/launchpad" */
  readonly confDir?: pulumi.Input<string>;
  /** File that serializes edits from concurrent stacks (`flock`). @default "<confDir>/.launchpad.lock" */
  readonly lockFile?: pulumi.Input<string>;
  /** Checks the whole configuration; words and paths only, no shell syntax. @default "nginx -t" */
  readonly testCommand?: pulumi.Input<string>;
  /** Applies it. @default "nginx -s reload" */
  readonly reloadCommand?: pulumi.Input<string>;
  /**
   * The nginx master's pid file. After a reload the route waits (up to 10 s) until the master runs
   * workers with the new configuration, and fails (putting the old files back) when it does not.
   * A file that does not exist skips the wait. @default "/run/nginx.pid"
   */
  readonly pidFile?: pulumi.Input<string>;
  /** Port HTTPS routes listen on. @default 443 */
  readonly httpsPort?: pulumi.Input<number>;
  /** Port plain-HTTP routes (and the redirect to HTTPS) listen on. @default 80 */
  readonly httpPort?: pulumi.Input<number>;
  /** Address every route listens on. @default - all addresses */
  readonly listenAddress?: pulumi.Input<string>;
  /** How to enable HTTP/2: `listen` (`listen 443 ssl http2`, nginx < 1.25.1 such as Debian 12's), `directive` (`http2 on`, nginx >= 1.25.1) or `off`. @default "listen" */
  readonly http2?: pulumi.Input<"listen" | "directive" | "off">;
  /** How long to wait for another stack's edit to finish. @default 120 */
  readonly lockTimeoutSeconds?: pulumi.Input<number>;
}

/** An HTTP(S) `server` for one hostname. */
export interface HttpRouteArgs {
  /** The public name, e.g. `feature-x.preview.example.com`; one route per hostname per proxy host. */
  readonly hostname: pulumi.Input<string>;
  /** Where requests go. `protocol` @default "http"; `trustedCertificate` (a CA file on the proxy host) turns on upstream TLS verification. */
  readonly target: pulumi.Input<{
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    protocol?: pulumi.Input<"http" | "https">;
    trustedCertificate?: pulumi.Input<string>;
  }>;
  /** Certificate and key file paths on the proxy host (a wildcard certificate fits), or `"none"` for plain HTTP. */
  readonly tls: pulumi.Input<"none" | { certificate: pulumi.Input<string>; key: pulumi.Input<string> }>;
  /** Pass WebSocket upgrades through. @default true */
  readonly websocket?: pulumi.Input<boolean>;
  /** nginx `client_max_body_size`. @default "1g" */
  readonly maxBodySize?: pulumi.Input<string>;
  /** Extra request headers sent to the target. @default {} */
  readonly headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Extra response headers (e.g. `X-Robots-Tag: noindex` for previews). @default {} */
  readonly responseHeaders?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** With TLS, also answer plain HTTP on `httpPort` with a redirect to HTTPS. @default true */
  readonly redirectHttp?: pulumi.Input<boolean>;
  /** Only people who authenticate reach the target. @default - open to anyone who knows the name */
  readonly access?: pulumi.Input<RouteAccessArgs>;
}

/**
 * Access protection of an HTTP route: exactly one of `basicAuth` and `authRequest`.
 * @see https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html
 * @see https://nginx.org/en/docs/http/ngx_http_auth_request_module.html
 */
export interface RouteAccessArgs {
  /**
   * Users with passwords. The proxy host keeps only SHA-512-crypt hashes (`<confDir>/auth/<hostname>.htpasswd`),
   * made there from stdin; state keeps an scrypt verifier. The route's `http` is kept secret.
   */
  readonly basicAuth?: pulumi.Input<{
    /** @default "Restricted" */
    realm?: pulumi.Input<string>;
    users: pulumi.Input<pulumi.Input<{ name: pulumi.Input<string>; password: pulumi.Input<string> }>[]>;
  }>;
  /** An auth service (oauth2-proxy style) asked with a subrequest: 2xx lets the request through, 401/403 refuses it. */
  readonly authRequest?: pulumi.Input<{
    /** The check endpoint, e.g. `http://127.0.0.1:4180/oauth2/auth`. */
    url: pulumi.Input<string>;
    /** Where a 401 sends the browser, with the original URL in `redirectParameter`. @default - the 401 is returned as is */
    signInUrl?: pulumi.Input<string>;
    /** @default "rd" */
    redirectParameter?: pulumi.Input<string>;
    /** App request header -> the auth service response header it is copied from, e.g. `{"X-User-ID": "X-Auth-Request-User"}`. A client's own copy is never passed on. @default {} */
    identityHeaders?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  }>;
  /** Exact paths served without authentication (health checks), e.g. `["/healthz"]`. @default [] */
  readonly bypassPaths?: pulumi.Input<pulumi.Input<string>[]>;
  /** Clients from these addresses or CIDR ranges need no authentication. @default [] */
  readonly allowCidrs?: pulumi.Input<pulumi.Input<string>[]>;
}

/** A TCP or UDP listener in nginx's `stream {}` block (SSH access is a TCP route to port 22). */
export interface StreamRouteArgs {
  readonly protocol: pulumi.Input<"tcp" | "udp">;
  /** A fixed public port. Only one of `listenPort` and `portRange`. @default - allocated from `portRange` */
  readonly listenPort?: pulumi.Input<number>;
  /** Allocate the lowest port free on the proxy host (per protocol) from this range. @default {from: 2000, to: 65535} */
  readonly portRange?: pulumi.Input<{ from: pulumi.Input<number>; to: pulumi.Input<number> }>;
  readonly target: pulumi.Input<{ host: pulumi.Input<string>; port: pulumi.Input<number> }>;
  /**
   * This route carries SSH: create and update return only once an SSH server answers through it
   * (its `SSH-` banner, read through nginx's port on the proxy host, which must allow TCP forwarding).
   * `containerKind: "application"` (LaunchpadContainer's `kind`) is refused in check, before anything is written.
   * @default - no check
   */
  readonly ssh?: pulumi.Input<{
    /** How long to wait for the banner; 0 does not wait. @default 120 */
    readonly timeoutSeconds?: pulumi.Input<number>;
    readonly containerKind?: pulumi.Input<"application" | "system">;
    /** The container's `initCommand`, named in the refusal. */
    readonly containerInitCommand?: pulumi.Input<string>;
  }>;
}

/** Exactly one of `http` and `stream`. */
export interface ProxyRouteArgs {
  readonly proxy: pulumi.Input<ProxyHostArgs>;
  /** An HTTP(S) route. Only one of `http` and `stream`. */
  readonly http?: pulumi.Input<HttpRouteArgs>;
  /** A TCP/UDP route. Only one of `http` and `stream`. */
  readonly stream?: pulumi.Input<StreamRouteArgs>;
}

/**
 * One route on an nginx proxy host, written over SSH: an HTTPS `server` for a hostname, or a
 * TCP/UDP listener on a fixed or allocated port. Edits are locked, checked with `nginx -t`, and
 * rolled back on failure so other routes keep serving.
 * @see https://nginx.org/en/docs/http/ngx_http_proxy_module.html
 * @see https://nginx.org/en/docs/stream/ngx_stream_proxy_module.html
 */
export class ProxyRoute extends pulumi.dynamic.Resource {
  /** `https://<hostname>` (or `http://` without TLS) for HTTP routes. */
  declare readonly url: pulumi.Output<string | undefined>;
  /** The public port of a stream route. */
  declare readonly port: pulumi.Output<number | undefined>;
  /** The route's file on the proxy host. */
  declare readonly configPath: pulumi.Output<string>;
  /** SHA-256 of the route file as last written or refreshed. */
  declare readonly configSha256: pulumi.Output<string>;
  /** Normalized proxy settings (secret: they hold the private key). */
  declare readonly proxy: pulumi.Output<Record<string, unknown>>;
  declare readonly http: pulumi.Output<Record<string, unknown> | undefined>;
  declare readonly stream: pulumi.Output<Record<string, unknown> | undefined>;

  constructor(name: string, args: ProxyRouteArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      // Sealed here, not by the caller: a plain-string private key or passphrase never reaches state in clear.
      proxy: pulumi.secret(args.proxy),
      // Basic-auth passwords are inputs: the whole `http` travels and is stored as a secret then.
      http: args.http !== undefined && mayHoldPasswords(args.http) ? pulumi.secret(args.http) : args.http,
      url: undefined,
      port: undefined,
      configPath: undefined,
      configSha256: undefined,
    };
    super(
      forwardingProvider("proxy"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "proxy"] },
      "launchpad",
      "ProxyRoute",
    );
  }
}

/** True unless `http` is plainly given without `access.basicAuth` (an Output may hold anything). */
function mayHoldPasswords(http: pulumi.Input<HttpRouteArgs>): boolean {
  if (pulumi.Output.isInstance(http) || http instanceof Promise) return true;
  const access = (http as HttpRouteArgs).access;
  if (access === undefined) return false;
  if (pulumi.Output.isInstance(access) || access instanceof Promise) return true;
  return (access as RouteAccessArgs).basicAuth !== undefined;
}
