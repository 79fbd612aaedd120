// What a change to a route's inputs does: rewrite the same file in place, or replace the route
// (a new file somewhere else, then the old one removed). Pure: no I/O.

import { sealAccess } from "./access";
import { renderRoute, sha256 } from "./render";
import { UNKNOWN, type ProxyRouteInputs, type ProxyRouteOutputs } from "./schema";

export type FieldEffect = "update" | "replace" | "port";

/**
 * Per input field (longest matching prefix wins). `replace`: the route moves to another host,
 * directory or file name. `port`: replace only when the stream route's port would change.
 * Anything not listed is rewritten in place.
 */
export const ROUTE_DIFF_TABLE: Readonly<Record<string, FieldEffect>> = {
  "proxy.host": "replace",
  "proxy.confDir": "replace",
  "proxy.port": "update",
  "proxy.user": "update",
  "proxy.privateKey": "update",
  "proxy.passphrase": "update",
  "proxy.agent": "update",
  "proxy.hostKeyFingerprint": "update",
  "proxy.lockFile": "update",
  "proxy.testCommand": "update",
  "proxy.reloadCommand": "update",
  "proxy.pidFile": "update",
  "proxy.httpsPort": "update",
  "proxy.httpPort": "update",
  "proxy.listenAddress": "update",
  "proxy.http2": "update",
  "proxy.lockTimeoutSeconds": "update",
  "http": "replace", // appearing or disappearing: the route changes kind
  "http.hostname": "replace",
  "http.target": "update",
  "http.tls": "update",
  "http.websocket": "update",
  "http.maxBodySize": "update",
  "http.headers": "update",
  "http.responseHeaders": "update",
  "http.redirectHttp": "update",
  "http.access": "update",
  "stream": "replace",
  "stream.protocol": "replace",
  "stream.listenPort": "port",
  "stream.portRange": "port",
  "stream.target": "update",
  // Nothing in the file: an update re-checks that SSH answers through the port.
  "stream.ssh": "update",
};

export interface RouteDiff {
  changes: boolean;
  /** Top-level input keys, as the engine expects them. */
  replaces: string[];
  deleteBeforeReplace: false;
}

function effectOf(path: string): FieldEffect {
  for (let probe = path; probe; probe = probe.includes(".") ? probe.slice(0, probe.lastIndexOf(".")) : "") {
    const effect = ROUTE_DIFF_TABLE[probe];
    if (effect) return effect;
  }
  return "update";
}

/** Leaves by dotted path; an object that is missing on one side shows up as its own path. */
function leaves(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (prefix) out.set(prefix, "{object}");
    for (const [key, child] of entries) leaves(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

function portStillFits(olds: ProxyRouteOutputs, news: Record<string, unknown>): boolean {
  const stream = news.stream as Record<string, unknown> | undefined;
  if (!stream || olds.port === undefined) return false;
  if (stream.listenPort === UNKNOWN || stream.portRange === UNKNOWN) return false;
  if (typeof stream.listenPort === "number") return stream.listenPort === olds.port;
  const range = stream.portRange as { from?: unknown; to?: unknown } | undefined;
  if (!range) return false;
  if (typeof range.from !== "number" || typeof range.to !== "number") return false;
  return olds.port >= range.from && olds.port <= range.to;
}

/**
 * `olds` are the stored outputs (normalized inputs plus port, path and the file's hash as last
 * seen); `news` the checked inputs, possibly with unknown values during preview.
 */
export function diffRoute(olds: ProxyRouteOutputs, rawNews: Record<string, unknown>, newsComplete: boolean): RouteDiff {
  // State keeps password verifiers: compare the new passwords against them, not the text.
  const newHttp = rawNews.http as Record<string, unknown> | undefined;
  const news = newHttp && typeof newHttp === "object" && newHttp.access
    ? { ...rawNews, http: { ...newHttp, access: sealAccess(newHttp.access as Record<string, unknown>, olds.http?.access) } }
    : rawNews;
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const key of ["proxy", "http", "stream"] as const) {
    leaves((olds as unknown as Record<string, unknown>)[key], key, before);
    leaves(news[key], key, after);
  }
  const replaces = new Set<string>();
  let changes = false;
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(path);
    const next = after.get(path);
    if (old === next) continue;
    if (old === "{object}" && next === "{object}") continue;
    changes = true;
    const unknown = next === JSON.stringify(UNKNOWN);
    const effect = effectOf(path);
    const topLevel = path.split(".")[0];
    if (effect === "replace") replaces.add(topLevel);
    else if (effect === "port" && (unknown || !portStillFits(olds, news))) replaces.add(topLevel);
  }
  if (!changes && newsComplete && olds.configSha256) {
    // Same inputs, different file on the host (found by refresh) or a new rendering: rewrite it.
    const rendered = renderRoute(news as unknown as ProxyRouteInputs, olds.port);
    if (sha256(rendered.content) !== olds.configSha256) changes = true;
  }
  return { changes, replaces: [...replaces].sort(), deleteBeforeReplace: false };
}
