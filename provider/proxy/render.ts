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
  lines.push(
    "",
    `    client_max_body_size ${route.maxBodySize};`,
    "",
    "    location / {",
    `        proxy_pass ${route.target.protocol}://${hostPort(route.target.host, route.target.port)};`,
    "        proxy_http_version 1.1;",
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Real-IP $remote_addr;",
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "        proxy_set_header X-Forwarded-Proto $scheme;",
    "        proxy_set_header X-Forwarded-Host $host;",
  );
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
  lines.push("    }", "}");
  if (tls && route.redirectHttp) {
    const port = proxy.httpsPort === 443 ? "" : `:${proxy.httpsPort}`;
    lines.push(
      "",
      "server {",
      `    listen ${listenOn(proxy, proxy.httpPort)};`,
      `    server_name ${route.hostname};`,
      `    return 301 https://$host${port}$request_uri;`,
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
