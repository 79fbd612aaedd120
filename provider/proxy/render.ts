// Pure rendering of route files. Every value placed here was held to a safe character set by
// schema.ts, so nothing is quoted or escaped at this point.

import { createHash } from "crypto";
import { isIP } from "net";
import type { HttpRoute, ProxyHost, ProxyRouteInputs, StreamRoute } from "./schema";

const HEADER = "# Managed by pulumi-launchpad (ProxyRoute). Edits here are reverted by the next `pulumi up`.";

/** Where a proxy host keeps its route files; the user's nginx.conf includes the two directories. */
export interface HostLayout {
  readonly httpDir: string;
  readonly streamDir: string;
  /** Definitions every HTTP route uses once (the WebSocket `map`); `_` cannot start a hostname. */
  readonly sharedHttpInclude: string;
  readonly lockFile: string;
}

export function hostLayout(proxy: ProxyHost): HostLayout {
  return {
    httpDir: `${proxy.confDir}/http`,
    streamDir: `${proxy.confDir}/stream`,
    sharedHttpInclude: `${proxy.confDir}/http/_launchpad-shared.conf`,
    lockFile: proxy.lockFile ?? `${proxy.confDir}/.launchpad.lock`,
  };
}

export function httpRoutePath(proxy: ProxyHost, route: HttpRoute): string {
  return `${hostLayout(proxy).httpDir}/${route.hostname}.conf`;
}

export function streamRoutePath(proxy: ProxyHost, route: StreamRoute, port: number): string {
  return `${hostLayout(proxy).streamDir}/${route.protocol}-${port}.conf`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const hostPort = (host: string, port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
const listenOn = (proxy: ProxyHost, port: number) => (proxy.listenAddress ? hostPort(proxy.listenAddress, port) : String(port));

export function renderSharedHttpInclude(): string {
  return [
    "# Managed by pulumi-launchpad: shared by every HTTP route in this directory.",
    "map $http_upgrade $launchpad_connection_upgrade {",
    "    default upgrade;",
    "    ''      close;",
    "}",
    "",
  ].join("\n");
}

/** The public URL of an HTTP route, with the port only when it is not the scheme's default. */
export function routeUrl(proxy: ProxyHost, route: HttpRoute): string {
  if (route.tls === "none") return `http://${route.hostname}${proxy.httpPort === 80 ? "" : `:${proxy.httpPort}`}`;
  return `https://${route.hostname}${proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`}`;
}

/** The webroot nginx serves `/.well-known/acme-challenge/` from, on every route's plain-HTTP server. */
export function acmeChallengeRoot(proxy: ProxyHost): string {
  return `${proxy.confDir}/acme`;
}

/** Where an HTTP-01 token's key authorization is put for nginx to serve. */
export function acmeTokenPath(proxy: ProxyHost, token: string): string {
  return `${acmeChallengeRoot(proxy)}/.well-known/acme-challenge/${token}`;
}

/** The htpasswd file of a route with basic auth: hashes only. */
export function htpasswdPath(proxy: ProxyHost, hostname: string): string {
  return `${proxy.confDir}/auth/${hostname}.htpasswd`;
}

/** A challenge-only server for a hostname that has no route yet; `_` cannot start a hostname. */
export function acmeChallengeServerPath(proxy: ProxyHost, hostname: string): string {
  return `${hostLayout(proxy).httpDir}/_acme-${hostname}.conf`;
}

function acmeChallengeLocation(proxy: ProxyHost): string[] {
  return [
    "    location ^~ /.well-known/acme-challenge/ {",
    `        root ${acmeChallengeRoot(proxy)};`,
    "    }",
  ];
}

export function renderAcmeChallengeServer(proxy: ProxyHost, hostname: string): string {
  return [
    "# Managed by pulumi-launchpad (AcmeCertificate): answers HTTP-01 challenges while a certificate is issued.",
    "server {",
    `    listen ${listenOn(proxy, proxy.httpPort)};`,
    `    server_name ${hostname};`,
    ...acmeChallengeLocation(proxy),
    "    location / {",
    "        return 404;",
    "    }",
    "}",
    "",
  ].join("\n");
}

const AUTH_LOCATION = "/_launchpad/auth";
const SIGN_IN_LOCATION = "@launchpad_sign_in";

/** `$upstream_http_x_auth_request_user` for `X-Auth-Request-User`. */
const upstreamHeaderVariable = (header: string) => `$upstream_http_${header.toLowerCase().replace(/-/g, "_")}`;

/** The proxying part of a location: the same for `location /` and the unauthenticated bypasses. */
function proxyLines(route: HttpRoute): string[] {
  const lines = [
    `        proxy_pass ${route.target.protocol}://${hostPort(route.target.host, route.target.port)};`,
    "        proxy_http_version 1.1;",
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Real-IP $remote_addr;",
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "        proxy_set_header X-Forwarded-Proto $scheme;",
    "        proxy_set_header X-Forwarded-Host $host;",
  ];
  if (route.websocket) {
    lines.push(
      "        proxy_set_header Upgrade $http_upgrade;",
      "        proxy_set_header Connection $launchpad_connection_upgrade;",
      "        proxy_read_timeout 1h;",
    );
  }
  for (const [name, value] of sorted(route.headers)) lines.push(`        proxy_set_header ${name} "${value}";`);
  for (const [name, value] of sorted(route.responseHeaders)) lines.push(`        add_header ${name} "${value}" always;`);
  lines.push("        proxy_buffering off;", "        proxy_request_buffering off;");
  if (route.target.protocol === "https") {
    lines.push("        proxy_ssl_server_name on;");
    if (route.target.trustedCertificate) {
      lines.push("        proxy_ssl_verify on;", `        proxy_ssl_trusted_certificate ${route.target.trustedCertificate};`);
    }
  }
  return lines;
}

/** The directives that guard `location /`: allow-list, then basic auth or the auth service. */
function accessLines(proxy: ProxyHost, route: HttpRoute): string[] {
  const access = route.access;
  if (!access) return [];
  const lines: string[] = [];
  if (access.allowCidrs.length > 0) {
    // `satisfy any`: an address on the list is enough; anyone else must authenticate.
    lines.push("        satisfy any;", ...access.allowCidrs.map((range) => `        allow ${range};`), "        deny all;");
  }
  if (access.basicAuth) {
    lines.push(`        auth_basic "${access.basicAuth.realm}";`, `        auth_basic_user_file ${htpasswdPath(proxy, route.hostname)};`);
  }
  if (access.authRequest) {
    lines.push(`        auth_request ${AUTH_LOCATION};`);
    sorted(access.authRequest.identityHeaders).forEach(([appHeader, authHeader], index) => {
      // Set from the auth service's answer: a client's own copy of the header is replaced, never passed on.
      lines.push(
        `        auth_request_set $launchpad_identity_${index} ${upstreamHeaderVariable(authHeader)};`,
        `        proxy_set_header ${appHeader} $launchpad_identity_${index};`,
      );
    });
    if (access.authRequest.signInUrl) lines.push(`        error_page 401 = ${SIGN_IN_LOCATION};`);
  }
  return lines;
}

/** The auth service's subrequest location and the sign-in redirect. */
function authServiceLocations(route: HttpRoute): string[] {
  const request = route.access?.authRequest;
  if (!request) return [];
  const lines = [
    "",
    `    location = ${AUTH_LOCATION} {`,
    "        internal;",
    `        proxy_pass ${request.url};`,
    "        proxy_pass_request_body off;",
    "        proxy_set_header Content-Length \"\";",
    "        proxy_set_header X-Original-URI $request_uri;",
    "        proxy_set_header X-Original-Method $request_method;",
    "        proxy_set_header X-Forwarded-Proto $scheme;",
    "        proxy_set_header X-Forwarded-Host $host;",
    "        proxy_set_header X-Forwarded-Uri $request_uri;",
    "        proxy_set_header X-Real-IP $remote_addr;",
  ];
  if (request.url.startsWith("https:")) lines.push("        proxy_ssl_server_name on;");
  lines.push("    }");
  if (request.signInUrl) {
    const separator = request.signInUrl.includes("?") ? "&" : "?";
    lines.push(
      "",
      `    location ${SIGN_IN_LOCATION} {`,
      `        return 302 ${request.signInUrl}${separator}${request.redirectParameter}=$scheme://$http_host$request_uri;`,
      "    }",
    );
  }
  return lines;
}

export function renderHttpRoute(proxy: ProxyHost, route: HttpRoute): string {
  const tls = route.tls === "none" ? undefined : route.tls;
  const lines: string[] = [HEADER, "server {"];
  if (tls) {
    // nginx before 1.25.1 (Debian 12 ships 1.22) only knows `listen ... http2`.
    const http2Parameter = proxy.http2 === "listen" ? " http2" : "";
    lines.push(`    listen ${listenOn(proxy, proxy.httpsPort)} ssl${http2Parameter};`);
    if (proxy.http2 === "directive") lines.push("    http2 on;");
  } else {
    lines.push(`    listen ${listenOn(proxy, proxy.httpPort)};`);
  }
  lines.push(`    server_name ${route.hostname};`);
  if (tls) {
    lines.push("", `    ssl_certificate ${tls.certificate};`, `    ssl_certificate_key ${tls.key};`);
  }
  lines.push("", `    client_max_body_size ${route.maxBodySize};`, "");
  // Plain HTTP answers ACME HTTP-01 challenges, outside any access rule.
  if (!tls) lines.push(...acmeChallengeLocation(proxy), "");
  lines.push("    location / {", ...accessLines(proxy, route), ...proxyLines(route), "    }");
  if (route.access) {
    for (const bypass of route.access.bypassPaths) lines.push("", `    location = ${bypass} {`, ...proxyLines(route), "    }");
  }
  lines.push(...authServiceLocations(route), "}");
  if (tls && route.redirectHttp) {
    const port = proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`;
    lines.push(
      "",
      "server {",
      `    listen ${listenOn(proxy, proxy.httpPort)};`,
      `    server_name ${route.hostname};`,
      ...acmeChallengeLocation(proxy),
      "    location / {",
      `        return 301 https://$host${port}$request_uri;`,
      "    }",
      "}",
    );
  }
  return lines.join("\n") + "\n";
}

export function renderStreamRoute(proxy: ProxyHost, route: StreamRoute, port: number): string {
  return [
    HEADER,
    "server {",
    `    listen ${listenOn(proxy, port)}${route.protocol === "udp" ? " udp" : ""};`,
    `    proxy_pass ${hostPort(route.target.host, route.target.port)};`,
    "}",
    "",
  ].join("\n");
}

/** The file for a route with complete inputs; a stream route needs its port decided first. */
export function renderRoute(inputs: ProxyRouteInputs, port?: number): { path: string; content: string } {
  if (inputs.http) return { path: httpRoutePath(inputs.proxy, inputs.http), content: renderHttpRoute(inputs.proxy, inputs.http) };
  if (inputs.stream && port !== undefined) {
    return { path: streamRoutePath(inputs.proxy, inputs.stream, port), content: renderStreamRoute(inputs.proxy, inputs.stream, port) };
  }
  throw new Error("renderRoute: a stream route needs its port");
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
