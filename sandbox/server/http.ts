// The HTTPS front: `/api2/json/...`, request bodies (form or JSON), authentication, parameter
// verification, fault injection, Proxmox's response shape, and the request log.
import * as fs from "fs";
import * as https from "https";
import type { IncomingMessage, ServerResponse } from "http";
import type { AddressInfo, Socket } from "net";
import type { AccessControl } from "./access";
import { permissionDenied } from "./access";
import type { Authenticator, Identity } from "./auth";
import type { Cluster, Params } from "./cluster";
import { ApiError } from "./errors";
import type { Faults } from "./faults";
import { isOpen, resolve } from "./routes";
import { receiveUpload, UPLOAD_PATH } from "./upload";
import { validateParameters, Errors, RawValue } from "./validate";

export interface RequestLogEntry {
  method: string;
  /** API path without `/api2/json`, e.g. `/nodes/pve1/lxc`. */
  path: string;
  /** The matched route template, e.g. `/nodes/{node}/lxc`, when there is one. */
  template?: string;
  /** Parameters (body and query, not path) with secrets replaced by `<redacted>`. */
  params: Record<string, unknown>;
  /** HTTP status sent; 0 when the connection was dropped instead. */
  status: number;
  /** `user@realm` or `user@realm!token`, when authenticated. */
  user?: string;
  time: Date;
  durationMs: number;
  /** `before` / `after`: dropped by fault injection before or after the handler ran. */
  dropped?: "before" | "after";
}

/** A request the sandbox refused with `Parameter verification failed.` because the official schema rejects it. */
export interface SchemaViolation {
  method: string;
  /** API path without `/api2/json`. */
  path: string;
  /** The matched route template, e.g. `/nodes/{node}/lxc`. */
  template: string;
  /** Per-parameter messages, as in the 400 response. */
  errors: Errors;
  time: Date;
}

export interface HttpOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  cluster: Cluster;
  auth: Authenticator;
  access: AccessControl;
  faults: Faults;
  log: RequestLogEntry[];
  /** Where schema rejections are recorded, for tests that assert a client never sent one. */
  violations: SchemaViolation[];
  logRequests: boolean;
}

// pveproxy answers any other method `501 method 'X' not available` before reading the request.
const KNOWN_METHODS = new Set(["GET", "POST", "PUT", "DELETE"]);

const SECRET_PARAMS = new Set(["password", "ssh-public-keys", "new-password", "otp", "tfa-challenge"]);
const MAX_BODY = 1024 * 1024;
const API_PREFIX = /^\/api2\/(json|extjs)(\/.*)?$/;

function redact(params: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) copy[key] = SECRET_PARAMS.has(key) ? "<redacted>" : value;
  return copy;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, "request too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Form decoding as pve-http-server does it: repeated keys are joined with NUL. */
function decodeForm(text: string, into: Record<string, RawValue>): void {
  for (const [key, value] of new URLSearchParams(text)) {
    const old = into[key];
    into[key] = old === undefined ? value : `${old}\0${value}`;
  }
}

async function requestParams(req: IncomingMessage, url: URL): Promise<Record<string, RawValue>> {
  const params: Record<string, RawValue> = {};
  if (req.method === "POST" || req.method === "PUT") {
    const body = await readBody(req);
    const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (body.trim() !== "") {
      if (type === "application/json") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new ApiError(400, "malformed JSON request body");
        }
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new ApiError(400, "JSON body must be an object");
        for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
          if (value !== null) params[key] = value as RawValue;
        }
      } else {
        decodeForm(body, params);
      }
    }
  }
  decodeForm(url.search.slice(1), params);
  delete params._dc; // ExtJS cache buster, dropped by PVE too
  return params;
}

function send(res: ServerResponse, status: number, body: unknown, reason?: string): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  if (reason) res.statusMessage = reason.split("\n")[0].replace(/[^\x20-\x7e]/g, "?");
  res.setHeader("Content-Type", "application/json;charset=UTF-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.setHeader("Cache-Control", "max-age=0");
  res.setHeader("Pragma", "no-cache");
  res.setHeader("Server", "pve-api-daemon/3.0");
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (error.bodyless) {
    res.statusCode = error.status;
    res.statusMessage = error.message.split("\n")[0].replace(/[^\x20-\x7e]/g, "?");
    res.setHeader("Content-Length", 0);
    res.setHeader("Cache-Control", "max-age=0");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Server", "pve-api-daemon/3.0");
    res.end();
    return;
  }
  const body: Record<string, unknown> = { data: null, message: error.message };
  if (error.errors) body.errors = error.errors;
  send(res, error.status, body, error.message);
}

/** PVE::APIServer::AnyEvent::error: the message is the reason phrase and, as plain text without a content type, the body. */
function sendPlainError(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  res.statusMessage = message;
  res.setHeader("Content-Length", Buffer.byteLength(message));
  res.setHeader("Cache-Control", "max-age=0");
  res.setHeader("Pragma", "no-cache");
  res.setHeader("Server", "pve-api-daemon/3.0");
  res.end(message);
}

export class SandboxHttpServer {
  private readonly server: https.Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: HttpOptions) {
    this.server = https.createServer({ cert: options.cert, key: options.key, keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent && !res.destroyed) sendError(res, new ApiError(500, String(error?.message ?? error)));
      });
    });
    // Raw TCP sockets, so close() also ends connections still in the TLS handshake.
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.on("tlsClientError", () => undefined);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolveListen, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => resolveListen());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = String(req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "https://sandbox.invalid");
    const entry: RequestLogEntry = { method, path: url.pathname, params: {}, status: 0, time: new Date(started), durationMs: 0 };
    const finish = (status: number) => {
      entry.status = status;
      entry.durationMs = Date.now() - started;
      this.options.log.push(entry);
      if (this.options.logRequests) {
        process.stderr.write(`${entry.time.toISOString()} ${method} ${entry.path} ${status || "dropped"} ${entry.durationMs}ms\n`);
      }
    };
    const drop = (when: "before" | "after") => {
      entry.dropped = when;
      finish(0);
      req.socket.destroy();
    };

    if (!KNOWN_METHODS.has(method)) {
      finish(501);
      return sendError(res, new ApiError(501, `method '${method}' not available`, undefined, { bodyless: true }));
    }
    const prefix = API_PREFIX.exec(url.pathname);
    if (!prefix) {
      finish(501);
      return sendPlainError(res, 501, "no such uri");
    }
    const path = prefix[2] && prefix[2] !== "/" ? prefix[2].replace(/\/+$/, "") : "/";
    entry.path = path;

    let params: Record<string, RawValue>;
    // The file an upload wrote, handed to the handler as `tmpfilename` (pveproxy's proxy_params), removed after it.
    let tmpfilename: string | undefined;
    try {
      // pveproxy takes any body sent to an upload path as a file upload (AnyEvent.pm, `isUpload`).
      if (method === "POST" && UPLOAD_PATH.test(path) && Number(req.headers["content-length"] ?? 0) > 0) {
        const query: Record<string, RawValue> = {};
        decodeForm(url.search.slice(1), query);
        const upload = await receiveUpload(req, query);
        ({ params, tmpfilename } = upload);
      } else {
        params = await requestParams(req, url);
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(400, String(error));
      finish(apiError.status);
      return sendError(res, apiError);
    }
    entry.params = redact(params);

    const fault = this.options.faults.matchEndpoint(method, path);
    // Every fault but a delay keeps the handler from running: the upload it would have taken goes now.
    if (fault && fault.action !== "delay" && tmpfilename) fs.rmSync(tmpfilename, { force: true });
    if (fault && (fault.action ?? "error") === "drop-before") return drop("before");
    if (fault?.action === "delay") await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 0));
    if (fault && (fault.action ?? "error") === "error") {
      const apiError = new ApiError(fault.status ?? 500, fault.message ?? "injected fault");
      finish(apiError.status);
      return sendError(res, apiError);
    }

    let status = 200;
    let data: unknown;
    const attributes: { total?: number } = {};
    try {
      // pveproxy authenticates before it looks for a handler: an unknown path without credentials is a 401.
      let identity: Identity | undefined;
      if (!isOpen(method, path)) {
        identity = this.options.auth.authenticate(req.headers, method !== "GET");
        entry.user = identity.principal;
      }
      const { route, pathParams } = resolve(method, path);
      entry.template = route.template;
      const conflicts = conflictingParams(params, pathParams);
      if (conflicts) {
        this.options.violations.push({ method, path, template: route.template, errors: conflicts, time: entry.time });
        throw new ApiError(400, "Parameter verification failed.", conflicts);
      }
      // PVE::HTTPServer::rest_handler: tokens and permissions are checked before the parameters are verified.
      if (identity?.viaToken && !route.allowtoken) throw permissionDenied(`URI '${path}' not available with API token, need proper ticket.\n`);
      this.options.access.checkApi(route.permissions, identity?.principal, { ...params, ...pathParams });
      const errors = validateParameters(route.schema, { ...params, ...pathParams });
      if (errors) {
        this.options.violations.push({ method, path, template: route.template, errors, time: entry.time });
        throw new ApiError(400, "Parameter verification failed.", errors);
      }
      const all: Record<string, RawValue> = { ...params, ...pathParams };
      if (tmpfilename) all.tmpfilename = tmpfilename;
      data = await route.handler({
        params: all as Params,
        identity,
        cluster: this.options.cluster,
        auth: this.options.auth,
        access: this.options.access,
        faults: this.options.faults,
        attributes,
      });
    } catch (error) {
      if (tmpfilename) fs.rmSync(tmpfilename, { force: true });
      const apiError = error instanceof ApiError ? error : new ApiError(500, String((error as Error)?.message ?? error));
      if (fault?.action === "drop-after") return drop("after");
      finish(apiError.status);
      return sendError(res, apiError);
    }
    if (fault?.action === "drop-after") return drop("after");
    finish(status);
    const body: Record<string, unknown> = { data: data === undefined ? null : data };
    if (attributes.total) body.total = attributes.total; // rest_handler copies a true `total` only
    send(res, status, body);
  }
}

/** PVE::HTTPServer::rest_handler: a body or query parameter that repeats a path parameter must not differ from it. */
function conflictingParams(params: Record<string, RawValue>, pathParams: Record<string, string>): Errors | undefined {
  const errors: Errors = {};
  for (const key of Object.keys(params).sort()) {
    if (pathParams[key] !== undefined && String(params[key]) !== pathParams[key]) {
      errors[key] = "duplicate parameter (already defined in URI) with conflicting values!";
    }
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}
