// The one Proxmox VE API client: auth (API token or ticket), pinned TLS, structured errors, task waiting,
// and the one retry policy.
//
// Why not proxmox-api's own ProxmoxEngine for the requests: it re-sends *any* request, POSTs included, once
// after a network error (a create could run twice), rejects API token secrets that are not UUIDs, prints
// to console, and flattens errors into strings that embed the URL and body. So the requests are made here
// with undici, and proxmox-api is used for what it is good at: its types and its typed path proxy, which
// `ProxmoxClient.api` serves over this client (see `api`).

import { randomBytes } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Proxmox } from "proxmox-api";
import type { Dispatcher } from "undici";
import { ConfigError, registerSecret, PveHttpError, PveNetworkError, PveTaskError, PveTimeoutError, isLaunchpadError } from "../errors";
import { backoff, done, expecting, learnedSchedule, LearnedDurations, notYet, pollUntil, shifted, type Expectation, type PollSchedule } from "../poll";
import { DEFAULT_RETRY_POLICY, isTaskLockTimeout, retrying, type RetryPolicy } from "../retry";
import type { ProxmoxConnection } from "./connection";
import { DEFAULT_TASK_POLL, followUpOf, taskWarnings, type TaskListEntry, type TaskPollPolicy } from "./tasks";
import { createDispatchers, PIN_MISMATCH, TLS_VERIFY_CODES, tlsHint, type Dispatchers } from "./tls";
import type { TaskLogLine, TaskStatus, TicketResponse } from "./types";
import { isUpid, parseUpid } from "./upid";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** One parameter's value: booleans are sent as 1/0, arrays as repeated keys, undefined and null are left out. */
export type ApiParamValue = string | number | boolean | readonly (string | number)[] | undefined | null;

/**
 * Parameters of a call, sent as the query (GET, DELETE) or a form body (POST, PUT): a plain record, or one
 * of the typed parameter interfaces of ./types (`LxcCreateParams`, `OciRegistryPullParams`, ...), whose
 * values are all `ApiParamValue`s. (`object`, because interfaces are not assignable to index signatures.)
 */
export type ApiParams = object;

/** One HTTP exchange, for metrics and debugging. `status` is 0 when no response came. */
export interface RequestInfo {
  method: HttpMethod;
  /** Relative to `/api2/json`, without the query. */
  path: string;
  status: number;
  ms: number;
}

export interface ProxmoxClientOptions {
  /** @default DEFAULT_RETRY_POLICY from provider/retry.ts */
  retry?: RetryPolicy;
  /** @default { initialMs: 50, maxMs: 2000, factor: 2 } */
  taskPoll?: TaskPollPolicy;
  /** Called after every HTTP exchange (retries, logins and task polls included). */
  onRequest?: (info: RequestInfo) => void;
  /** Default overall timeout of `waitForTask`. @default 600000 (10 min) */
  taskTimeoutMs?: number;
  /** A ticket is renewed once it is this old (Proxmox tickets live 2 h). @default 5400000 (90 min) */
  ticketRenewAfterMs?: number;
}

export interface RequestOptions {
  /**
   * Safe to send twice: retried on 5xx and on network errors. Defaults to true for GET, PUT and DELETE,
   * false for POST. A non-idempotent request is re-sent only when the server surely did not act
   * (lock contention, or a network error with `notSent`).
   */
  idempotent?: boolean;
  /** Overrides the connection's per-request timeout. */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** Overall deadline for the task; PveTimeoutError after it. @default the client's taskTimeoutMs */
  timeoutMs?: number;
  /** When the task was dispatched (ms since the epoch), for learning its type's duration. @default when the wait begins */
  dispatchedAt?: number;
}

export interface RunTaskOptions extends WaitOptions {
  /** As for `request`: false (the default for POST) means the dispatch is never re-sent when it may have arrived. */
  idempotent?: boolean;
  /**
   * The task's worker takes the config lock before it acts (start, stop, shutdown, reboot, destroy:
   * pve-container API2/LXC/Status.pm, API2/LXC.pm destroy_vm): a task that died on `can't lock file
   * ... got timeout` did nothing and is dispatched again. Not for a create, whose failed worker leaves
   * its `lock: create` config behind (API2/LXC.pm create_vm).
   */
  redispatchOnLockTimeout?: boolean;
}

/** A task that ended successfully (`OK` or `WARNINGS: n`). */
export interface TaskResult {
  upid: string;
  node: string;
  /** `vzcreate`, `vzstart`, ... */
  type: string;
  /** Usually the VMID. */
  id: string;
  exitstatus: string;
  /** 0 for `OK`, n for `WARNINGS: n`. */
  warnings: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_TASK_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_TICKET_RENEW_MS = 90 * 60_000;
/** Right after dispatch the status call can answer 400 for a moment: tolerated this long. */
const TASK_STATUS_GRACE_MS = 10_000;
const TASK_LOG_TAIL_LINES = 20;
/** A node's task list read this recently answers another waiting task too. */
const TASK_LIST_FRESH_MS = 20;
/** Entries per task-list read: every task of this process since the oldest one still waited on. */
const TASK_LIST_LIMIT = 500;

/**
 * How long each task type took on each endpoint, as this process saw it: the poll schedule of the next
 * task of the type is dense around that. Shared by every client of the process.
 */
export const taskDurations = new LearnedDurations();
/** Nodes (`endpoint|node`) whose finished tasks this process read already (once each, every type at once). */
const historyRead = new Set<string>();
/** Finished tasks per history read: enough to hold the recent creates and starts of a busy node. */
const HISTORY_LIMIT = 100;

/** The outcome of the task a first task started (a create's `vzstart`): its result, its failure, or none listed. */
export interface FollowUp {
  task: TaskResult;
  next?: TaskResult;
  /** The follow-up failed or outlived its timeout: PveTaskError or PveTimeoutError. */
  nextError?: unknown;
}

export interface RunTaskThenOptions extends RunTaskOptions {
  /** Deadline of the follow-up task, counted from when the first one was seen ended. */
  nextTimeoutMs?: number;
}

type TaskState = { status: "running" } | { status: "stopped"; exitstatus?: string };

/** Failures that happen before a byte of the request is written: DNS, refused connect, connect timeout. */
const CONNECT_PHASE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

interface Ticket {
  ticket: string;
  csrf: string;
  obtainedAt: number;
}

interface ApiBody {
  data?: unknown;
  message?: unknown;
  errors?: unknown;
  total?: unknown;
}

/**
 * A client for one Proxmox VE cluster. Paths are relative to `/api2/json` (`/nodes`, `/cluster/nextid`);
 * results are the response's `data`. Errors are PveHttpError (status, pveMessage, per-parameter
 * `errors`), PveNetworkError (`notSent` when the request surely never reached the server), PveTaskError
 * (with the task log's tail) and PveTimeoutError; no credential ever appears in their messages.
 *
 * @example
 *   const client = new ProxmoxClient(resolveConnection());
 *   const vmid = Number(await client.get("/cluster/nextid"));
 *   await client.runTask("POST", "/nodes/pve1/lxc", { vmid, ostemplate: "local:vztmpl/debian-12.tar.zst" });
 */
export class ProxmoxClient {
  readonly connection: Readonly<ProxmoxConnection>;
  readonly #apiBase: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #taskPoll: TaskPollPolicy;
  readonly #taskTimeoutMs: number;
  readonly #ticketRenewAfterMs: number;
  readonly #onRequest?: (info: RequestInfo) => void;
  readonly #dispatchers: Dispatchers;
  #ticket?: Ticket;
  #login?: Promise<Ticket>;
  #requestCount = 0;
  #api?: Proxmox.Api;
  /** Tasks being waited on, per node, with their start (Unix seconds): two or more share one task-list read. */
  readonly #waiting = new Map<string, Map<string, number>>();
  readonly #listing = new Map<string, { at: number; read: Promise<Map<string, TaskListEntry>> }>();

  constructor(connection: ProxmoxConnection, options: ProxmoxClientOptions = {}) {
    this.connection = Object.freeze({ ...connection });
    // Registered here too, for connections not built by resolveConnection.
    registerSecret(connection.apiToken);
    registerSecret(connection.apiToken?.slice(connection.apiToken.lastIndexOf("=") + 1));
    registerSecret(connection.password);
    this.#apiBase = `${connection.endpoint.replace(/\/+$/, "")}/api2/json`;
    this.#timeoutMs = connection.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#taskPoll = options.taskPoll ?? DEFAULT_TASK_POLL;
    this.#taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    this.#ticketRenewAfterMs = options.ticketRenewAfterMs ?? DEFAULT_TICKET_RENEW_MS;
    this.#onRequest = options.onRequest;
    this.#dispatchers = createDispatchers(connection, this.#timeoutMs);
    // The connection holds secrets: keep it out of JSON.stringify / util.inspect of the client.
    Object.defineProperty(this, "connection", { enumerable: false });
  }

  /** HTTP exchanges made so far (retries, logins and task polls included). */
  get requestCount(): number {
    return this.#requestCount;
  }

  /**
   * proxmox-api's typed path proxy, served by this client (its retries, TLS and errors):
   * `await client.api.nodes.$(node).lxc.$get()`. `$post` counts as non-idempotent.
   */
  get api(): Proxmox.Api {
    if (!this.#api) {
      // Loaded on first use only: proxmox-api pulls in its own copy of undici.
      const { proxmoxApi } = require("proxmox-api") as typeof import("proxmox-api");
      this.#api = proxmoxApi({
        doRequest: (method: string, path: string, _template: string, params?: ApiParams) =>
          this.request(method.toUpperCase() as HttpMethod, path.replace(/^\/api2\/json/, ""), params),
      });
    }
    return this.#api;
  }

  /** GET `path`; retried on 5xx and network errors. */
  get<T = unknown>(path: string, params?: ApiParams, opts?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, params, opts);
  }

  /** POST `path`. Not idempotent unless `opts.idempotent` says so: never re-sent when it may have arrived. */
  post<T = unknown>(path: string, params?: ApiParams, opts?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, params, opts);
  }

  /** PUT `path` (idempotent by default). */
  put<T = unknown>(path: string, params?: ApiParams, opts?: RequestOptions): Promise<T> {
    return this.request<T>("PUT", path, params, opts);
  }

  /** DELETE `path` (idempotent by default). */
  delete<T = unknown>(path: string, params?: ApiParams, opts?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, params, opts);
  }

  /**
   * POSTs a file as PVE's `upload` takes it (pve-http-server AnyEvent.pm file_upload_multipart): a
   * multipart body with a Content-Length, the `fields` before the file part `filename`, the file
   * streamed from disk, never buffered whole. Like any POST, it is re-sent only when it surely never
   * arrived. Returns the response's `data` (the `imgcopy` task's UPID).
   */
  async upload<T = unknown>(path: string, fields: Record<string, string>, file: { path: string; name: string }, opts: RequestOptions = {}): Promise<T> {
    const body = await retrying(() => this.#authenticated("POST", path, undefined, false, opts.timeoutMs, multipart(fields, file)), { idempotent: false }, this.#retry);
    return body.data as T;
  }

  /** One API call through the retry policy; returns the response's `data`. */
  async request<T = unknown>(method: HttpMethod, path: string, params?: ApiParams, opts: RequestOptions = {}): Promise<T> {
    const idempotent = opts.idempotent ?? method !== "POST";
    const body = await retrying(() => this.#authenticated(method, path, params, idempotent, opts.timeoutMs), { idempotent }, this.#retry, (error) => !isDefinitive500(error));
    return body.data as T;
  }

  /** Dispatches a task-starting call (it returns a UPID) and waits for the task to end. */
  async runTask(
    method: HttpMethod,
    path: string,
    params?: ApiParams,
    opts: RunTaskOptions = {},
  ): Promise<TaskResult> {
    // Only a worker that failed to take the config lock is dispatched again; the call has its own retries in `request`.
    return retrying(async () => {
      const dispatchedAt = Date.now();
      const upid = await this.request<unknown>(method, path, params, { idempotent: opts.idempotent });
      if (!isUpid(upid)) {
        throw new PveTaskError({ upid: "(none)", exitstatus: `${method} ${path} started no task: it answered ${JSON.stringify(upid)}`, log: [] });
      }
      return this.waitForTask(upid, { timeoutMs: opts.timeoutMs, dispatchedAt });
    }, { idempotent: false }, this.#retry, (error) => opts.redispatchOnLockTimeout === true && isTaskLockTimeout(error));
  }

  /**
   * Waits until the task stops: `GET /nodes/{node}/tasks/{upid}/status`, or, while other tasks of this
   * client on the node are waited on too, one shared `GET /nodes/{node}/tasks` for all of them. Probes
   * are dense around the end this task type had before in this process (a backoff when it has none).
   * `OK` and `WARNINGS: n` resolve; any other exit status throws PveTaskError with the log's last lines;
   * past `timeoutMs` throws PveTimeoutError (the task may still be running).
   */
  async waitForTask(upid: string, opts: WaitOptions = {}): Promise<TaskResult> {
    const task = parseUpid(upid);
    const timeoutMs = opts.timeoutMs ?? this.#taskTimeoutMs;
    const began = Date.now();
    const dispatchedAt = opts.dispatchedAt ?? began;
    const kind = `${this.connection.endpoint}|${task.type}`;
    let lastRunningAt = dispatchedAt;
    let probeSentAt = began;
    const learnHistory = this.#historyWanted(task.node, kind);
    const waiting = this.#waiting.get(task.node) ?? new Map<string, number>();
    this.#waiting.set(task.node, waiting.set(upid, task.starttime));
    let status: TaskState;
    try {
      status = await pollUntil(began + timeoutMs, async (probes) => {
        probeSentAt = Date.now();
        let state: TaskState;
        try {
          state = await this.#taskState(task.node, upid);
        } catch (error) {
          const justDispatched = Date.now() - began < TASK_STATUS_GRACE_MS;
          if (!(justDispatched && isLaunchpadError(error, "ERR_PVE_HTTP") && (error as PveHttpError).status === 400)) throw error;
          return notYet("status not readable yet");
        }
        if (state.status === "stopped") return done(state);
        // After the first probe, not before it (a short task may be over by then), and alongside the next ones.
        if (learnHistory && probes === 1) void this.#learnFromHistory(task.node);
        lastRunningAt = Date.now();
        return notYet("running");
      }, learnedSchedule(taskDurations, kind, { initialMs: this.#taskPoll.initialMs, factor: this.#taskPoll.factor, maxMs: this.#taskPoll.maxMs }), {
        timeout: () => new PveTimeoutError(
          `Proxmox task ${upid} (${task.type} ${task.id} on ${task.node}) did not finish within ${timeoutMs} ms; it may still be running`,
          { context: { upid, node: task.node } },
        ),
      });
    } finally {
      waiting.delete(upid);
      if (waiting.size === 0) this.#waiting.delete(task.node);
    }
    const warnings = taskWarnings(status.exitstatus);
    if (warnings !== undefined) {
      // It ended between the last "running" answer and the probe that saw it stopped. A failed task is not
      // learned: it ends early, and would pull the next windows of its type towards nothing.
      taskDurations.observe(kind, (lastRunningAt + probeSentAt) / 2 - dispatchedAt);
      return { upid, node: task.node, type: task.type, id: task.id, exitstatus: status.exitstatus!, warnings };
    }
    throw new PveTaskError(
      { upid, exitstatus: status.exitstatus ?? "stopped without an exit status", log: await this.#logTail(task.node, upid) },
      { context: { node: task.node, type: task.type, id: task.id } },
    );
  }

  /**
   * Tasks of this node started since `sinceSeconds` (running ones included), one read shared by every
   * waiter that asks while it is in flight or fresh. Exposed for waits that look for a task by VMID.
   */
  async nodeTasks(node: string, filter: { vmid?: number; typefilter?: string; since?: number } = {}): Promise<Array<TaskListEntry & { type?: string; id?: string; starttime?: number }>> {
    return this.get(`/nodes/${encodeURIComponent(node)}/tasks`, { source: "all", limit: TASK_LIST_LIMIT, ...filter });
  }

  /**
   * How long from dispatching a `type` task to the end of the `nextType` task it starts (a create's
   * `vzstart`), as this process expects it: what it saw of the pair, else the sum of what it knows of each.
   */
  chainExpectation(type: string, nextType: string): Expectation | undefined {
    const kind = `${this.connection.endpoint}|${type}`;
    const nextKind = `${this.connection.endpoint}|${nextType}`;
    const both = taskDurations.expectation(`${kind}>${nextType}`);
    if (both) return both;
    const [first, next] = [taskDurations.expectation(kind), taskDurations.expectation(nextKind)];
    return first && next ? sumOf(first, next) : undefined;
  }

  /** Reads `node`'s finished tasks once per process while `type` is not known yet (see `#learnFromHistory`). */
  async learnTaskDurations(node: string, type: string): Promise<void> {
    if (this.#historyWanted(node, `${this.connection.endpoint}|${type}`)) await this.#learnFromHistory(node);
  }

  /** True once per node, while `kind` is not known yet: the caller then reads the node's history. */
  #historyWanted(node: string, kind: string): boolean {
    const key = `${this.connection.endpoint}|${node}`;
    if (taskDurations.count(kind) > 0 || historyRead.has(key)) return false;
    historyRead.add(key);
    return true;
  }

  /**
   * A process that has not seen a task type yet (one CI stack creates one container) learns every type
   * from the node's finished tasks, in one read: whole seconds only (`starttime`, `endtime`), so each
   * duration is known to within a second.
   */
  async #learnFromHistory(node: string): Promise<void> {
    try {
      const entries = await this.get<Array<{ type?: string; starttime?: number; endtime?: number; status?: string }>>(`/nodes/${encodeURIComponent(node)}/tasks`, { limit: HISTORY_LIMIT });
      for (const entry of entries) {
        // Only tasks that succeeded: a failed one ends early, and says nothing of how long the type takes.
        if (typeof entry.type === "string" && typeof entry.starttime === "number" && typeof entry.endtime === "number" && taskWarnings(entry.status) !== undefined) {
          taskDurations.observe(`${this.connection.endpoint}|${entry.type}`, (entry.endtime - entry.starttime) * 1000, 1000);
        }
      }
    } catch {
      // Only a hint: without it the wait backs off as it would anyway.
    }
  }

  /**
   * Dispatches a task that starts another one as it ends (a create with `start=1` forks `vzstart`) and
   * waits for both in one wait, one task-list read per probe: the create's failure or timeout throws, as
   * `runTask`'s would; the follow-up's outcome is returned (a failed start is the caller's to report).
   */
  async runTaskThen(method: HttpMethod, path: string, params: ApiParams | undefined, nextType: string, opts: RunTaskThenOptions = {}): Promise<FollowUp> {
    const dispatchedAt = Date.now();
    const upid = await this.request<unknown>(method, path, params, { idempotent: opts.idempotent });
    if (!isUpid(upid)) {
      throw new PveTaskError({ upid: "(none)", exitstatus: `${method} ${path} started no task: it answered ${JSON.stringify(upid)}`, log: [] });
    }
    return this.waitForTaskThen(upid, nextType, { ...opts, dispatchedAt });
  }

  /** The wait of `runTaskThen`, for a task already dispatched. */
  async waitForTaskThen(upid: string, nextType: string, opts: RunTaskThenOptions = {}): Promise<FollowUp> {
    const task = parseUpid(upid);
    const timeoutMs = opts.timeoutMs ?? this.#taskTimeoutMs;
    const nextTimeoutMs = opts.nextTimeoutMs ?? this.#taskTimeoutMs;
    const began = Date.now();
    const dispatchedAt = opts.dispatchedAt ?? began;
    const kind = `${this.connection.endpoint}|${task.type}`;
    const nextKind = `${this.connection.endpoint}|${nextType}`;
    const chainKind = `${kind}>${nextType}`;
    // Read right before the first probe: a create is never over that soon, so the history costs no
    // probe and the schedule knows both tasks from the first sleep on.
    const history = this.#historyWanted(task.node, kind) ? this.#learnFromHistory(task.node) : undefined;
    let lastRunningAt = dispatchedAt;
    let probeSentAt = began;
    /** When the first task was seen ended: from then on the schedule is the follow-up's alone. */
    let firstEnded: { at: number; result: TaskResult; estimatedEnd: number } | undefined;
    let schedule: PollSchedule | undefined;
    const unknown = backoff({ initialMs: this.#taskPoll.initialMs, factor: this.#taskPoll.factor, maxMs: this.#taskPoll.maxMs });
    let probesBefore = 0;
    const chooseSchedule: PollSchedule = (probes, elapsedMs) => {
      schedule ??= firstEnded ? this.#followUpSchedule(nextKind, firstEnded.estimatedEnd - began, firstEnded.at - firstEnded.estimatedEnd) : this.#chainSchedule(task.type, nextType);
      // Nothing known: the backoff starts over for the follow-up, which began a moment ago.
      return schedule ? schedule(probes, elapsedMs) : unknown(probes - probesBefore, elapsedMs);
    };
    const waiting = this.#waiting.get(task.node) ?? new Map<string, number>();
    this.#waiting.set(task.node, waiting.set(upid, task.starttime));
    try {
      return await pollUntil(began + timeoutMs + nextTimeoutMs, async (probes) => {
        // The first probe after the history read, on the same keep-alive socket: 50 stacks starting at once
        // open 50 connections, not 100.
        if (probes === 1) await history;
        probeSentAt = Date.now();
        let entries: Map<string, TaskListEntry>;
        let own: TaskState | undefined;
        try {
          entries = await this.#guestTasks(task.node, task.id, task.starttime);
          // Not listed: its own status call, which can answer 400 right after dispatch as waitForTask's does.
          if (!firstEnded) own = entries.has(upid) ? listedState(entries.get(upid)!) : await this.#taskState(task.node, upid);
        } catch (error) {
          if (!(Date.now() - began < TASK_STATUS_GRACE_MS && isLaunchpadError(error, "ERR_PVE_HTTP") && (error as PveHttpError).status === 400)) throw error;
          return notYet("task state not readable yet");
        }
        if (!firstEnded) {
          const state = own!;
          if (state.status === "running") {
            lastRunningAt = Date.now();
            if (lastRunningAt - began > timeoutMs) throw this.#timeout(upid, task, timeoutMs);
            return notYet("running");
          }
          const result = await this.#ended(upid, task, state.exitstatus);
          const estimatedEnd = (lastRunningAt + probeSentAt) / 2;
          taskDurations.observe(kind, estimatedEnd - dispatchedAt);
          firstEnded = { at: probeSentAt, result, estimatedEnd };
          schedule = undefined;
          probesBefore = probes - 1;
          lastRunningAt = probeSentAt;
        }
        const next = followUpOf(entries.values(), nextType, task.id, task)
          ?? followUpOf((await this.#guestTasks(task.node, task.id, task.starttime, nextType)).values(), nextType, task.id, task);
        if (!next) return done<FollowUp>({ task: firstEnded.result });
        const state = listedState(next);
        if (state.status === "running") {
          const now = Date.now();
          lastRunningAt = now;
          if (now - firstEnded.at > nextTimeoutMs) return done<FollowUp>({ task: firstEnded.result, nextError: this.#timeout(next.upid, parseUpid(next.upid), nextTimeoutMs) });
          return notYet(`${nextType} running`);
        }
        const end = (lastRunningAt + probeSentAt) / 2;
        // Learned only when it succeeded, and (alone) when a probe saw it running: otherwise its start is not
        // known to better than the probe gap.
        if (taskWarnings(state.exitstatus) !== undefined) {
          if (lastRunningAt > firstEnded.at) taskDurations.observe(nextKind, end - firstEnded.estimatedEnd);
          taskDurations.observe(chainKind, end - dispatchedAt);
        }
        try {
          return done<FollowUp>({ task: firstEnded.result, next: await this.#ended(next.upid, parseUpid(next.upid), state.exitstatus) });
        } catch (error) {
          return done<FollowUp>({ task: firstEnded.result, nextError: error });
        }
      }, chooseSchedule, {
        timeout: () => this.#timeout(upid, task, timeoutMs + nextTimeoutMs),
      });
    } finally {
      waiting.delete(upid);
      if (waiting.size === 0) this.#waiting.delete(task.node);
    }
  }

  /** Both tasks in one window (`chainExpectation`). */
  #chainSchedule(type: string, nextType: string): PollSchedule | undefined {
    const both = this.chainExpectation(type, nextType);
    return both ? expecting(both) : undefined;
  }

  /** The follow-up's window, from the first task's estimated end, widened by how uncertain that end is. */
  #followUpSchedule(nextKind: string, offsetMs: number, uncertaintyMs: number): PollSchedule | undefined {
    const next = taskDurations.expectation(nextKind);
    return next ? shifted(expecting({ expectedMs: next.expectedMs, spreadMs: next.spreadMs + uncertaintyMs / 2 }), offsetMs) : undefined;
  }

  /** A guest's tasks since `since`: the shared node list while other tasks are waited on, else its own filtered read. */
  async #guestTasks(node: string, id: string, since: number, typefilter?: string): Promise<Map<string, TaskListEntry>> {
    const waiting = this.#waiting.get(node);
    if (!typefilter && waiting && waiting.size > 1) return this.#sharedList(node, Math.min(since, ...waiting.values()));
    const vmid = Number(id);
    const entries = await this.nodeTasks(node, { ...(Number.isInteger(vmid) ? { vmid } : {}), since, ...(typefilter ? { typefilter } : {}) });
    return new Map(entries.filter((entry) => entry.id === undefined || entry.id === id).map((entry) => [entry.upid, entry]));
  }

  /** A stopped task's result; a failure throws PveTaskError with the log's last lines. */
  async #ended(upid: string, task: { node: string; type: string; id: string }, exitstatus: string | undefined): Promise<TaskResult> {
    const warnings = taskWarnings(exitstatus);
    if (warnings !== undefined) return { upid, node: task.node, type: task.type, id: task.id, exitstatus: exitstatus!, warnings };
    throw new PveTaskError(
      { upid, exitstatus: exitstatus ?? "stopped without an exit status", log: await this.#logTail(task.node, upid) },
      { context: { node: task.node, type: task.type, id: task.id } },
    );
  }

  #timeout(upid: string, task: { node: string; type: string; id: string }, timeoutMs: number): PveTimeoutError {
    return new PveTimeoutError(
      `Proxmox task ${upid} (${task.type} ${task.id} on ${task.node}) did not finish within ${timeoutMs} ms; it may still be running`,
      { context: { upid, node: task.node } },
    );
  }

  /** One task's state: its own status call when it is the only one waited on at its node, else the shared list. */
  async #taskState(node: string, upid: string): Promise<TaskState> {
    const waiting = this.#waiting.get(node);
    if (waiting && waiting.size > 1) {
      const entry = (await this.#sharedList(node, Math.min(...waiting.values()))).get(upid);
      // Not listed (another user's task this token may not list): ask for it alone.
      if (entry) return listedState(entry);
    }
    const status = await this.get<TaskStatus>(`/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`);
    return status.status === "stopped" ? { status: "stopped", exitstatus: status.exitstatus } : { status: "running" };
  }

  #sharedList(node: string, since: number): Promise<Map<string, TaskListEntry>> {
    const current = this.#listing.get(node);
    if (current && Date.now() - current.at < TASK_LIST_FRESH_MS) return current.read;
    const read = this.nodeTasks(node, { since }).then((entries) => new Map(entries.map((entry) => [entry.upid, entry])));
    const listing = { at: Number.POSITIVE_INFINITY, read };
    this.#listing.set(node, listing);
    // Fresh from when it answered; a failed read is not shared with later probes.
    read.then(() => (listing.at = Date.now()), () => this.#listing.get(node) === listing && this.#listing.delete(node));
    return read;
  }

  /**
   * Opens, now, the new connection the next write that must not be sent twice (a create POST) will
   * take: its handshake runs alongside the reads before that write, not in front of it. It never carried
   * a request, so the write still goes on a fresh connection; unused for 2 s, it is closed.
   */
  prepareWrite(): void {
    this.#dispatchers.prepareFresh(new URL(this.#apiBase).origin);
  }

  /** Closes pooled connections. The client must not be used afterwards. */
  async close(): Promise<void> {
    this.#dispatchers.dropPrepared();
    await Promise.all([this.#dispatchers.pooled.close(), this.#dispatchers.fresh.close()]);
  }

  /** The last lines of a task's log; a failure to read it never hides the task's own failure. */
  async #logTail(node: string, upid: string): Promise<string[]> {
    const logPath = `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/log`;
    const read = (start: number, limit: number) =>
      retrying(() => this.#authenticated("GET", logPath, { start, limit }, true), { idempotent: true }, this.#retry);
    try {
      let body = await read(0, 5_000);
      let lines = Array.isArray(body.data) ? (body.data as TaskLogLine[]) : [];
      if (typeof body.total === "number" && body.total > lines.length) {
        body = await read(Math.max(0, body.total - TASK_LOG_TAIL_LINES), TASK_LOG_TAIL_LINES);
        lines = Array.isArray(body.data) ? (body.data as TaskLogLine[]) : lines;
      }
      return lines.slice(-TASK_LOG_TAIL_LINES).map((line) => String(line.t));
    } catch (error) {
      return [`(task log unavailable: ${(error as Error).message})`];
    }
  }

  /** One exchange with credentials; under ticket auth a 401 renews the ticket and resends once (the server did nothing). */
  async #authenticated(method: HttpMethod, path: string, params: ApiParams | undefined, idempotent: boolean, timeoutMs?: number, upload?: MultipartBody): Promise<ApiBody> {
    const { apiToken } = this.connection;
    if (apiToken) {
      return this.#exchange(method, path, params, { authorization: `PVEAPIToken=${apiToken}` }, idempotent, timeoutMs, upload);
    }
    for (let stale: Ticket | undefined, renewed = false; ; renewed = true) {
      const ticket = await this.#currentTicket(stale);
      const headers: Record<string, string> = { cookie: `PVEAuthCookie=${ticket.ticket}` };
      if (method !== "GET") headers["CSRFPreventionToken"] = ticket.csrf;
      try {
        return await this.#exchange(method, path, params, headers, idempotent, timeoutMs, upload);
      } catch (error) {
        if (renewed || !isLaunchpadError(error, "ERR_PVE_HTTP") || (error as PveHttpError).status !== 401) throw error;
        stale = ticket;
      }
    }
  }

  /**
   * The current ticket, logging in (once, shared by concurrent callers) when there is none, it is old,
   * or it is the `stale` one the server just refused.
   */
  #currentTicket(stale?: Ticket): Promise<Ticket> {
    const ticket = this.#ticket;
    if (ticket && ticket !== stale && Date.now() - ticket.obtainedAt < this.#ticketRenewAfterMs) return Promise.resolve(ticket);
    if (!this.#login) {
      this.#login = this.#loginOnce().finally(() => (this.#login = undefined));
    }
    return this.#login;
  }

  async #loginOnce(): Promise<Ticket> {
    const { username, password } = this.connection;
    if (!username || !password) {
      throw new ConfigError("Proxmox connection has neither an apiToken nor a username and password");
    }
    // A login creates nothing on the server: safe to retry like a read.
    const body = await retrying(() => this.#exchange("POST", "/access/ticket", { username, password }, {}, true), { idempotent: true }, this.#retry);
    const data = body.data as TicketResponse | null;
    if (!data?.ticket || !data.CSRFPreventionToken) {
      throw new PveHttpError({ status: 200, message: "login answered without a ticket", method: "POST", path: "/access/ticket" });
    }
    this.#ticket = { ticket: data.ticket, csrf: data.CSRFPreventionToken, obtainedAt: Date.now() };
    return this.#ticket;
  }

  /** One HTTP request and its response, parsed; no retries here. */
  async #exchange(
    method: HttpMethod,
    path: string,
    params: ApiParams | undefined,
    authHeaders: Record<string, string>,
    idempotent: boolean,
    timeoutMs = this.#timeoutMs,
    upload?: MultipartBody,
  ): Promise<ApiBody> {
    const relative = path.startsWith("/") ? path : `/${path}`;
    const url = new URL(this.#apiBase + relative);
    const form = encodeParams(params);
    const headers: Record<string, string> = { accept: "application/json", ...authHeaders };
    let body: string | Readable | undefined;
    if (upload) {
      // A fresh stream per attempt: a retry (only when nothing was sent) reads the file again.
      body = upload.stream();
      headers["content-type"] = upload.contentType;
      headers["content-length"] = String(upload.length);
    } else if (method === "GET" || method === "DELETE") {
      for (const [key, value] of form) url.searchParams.append(key, value);
    } else if ([...form.keys()].length) {
      body = form.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const dispatcher: Dispatcher = idempotent ? this.#dispatchers.pooled : this.#dispatchers.fresh;
    const started = performance.now();
    const report = (status: number) => this.#onRequest?.({ method, path: relative, status, ms: Math.round(performance.now() - started) });
    this.#requestCount++;

    let status: number;
    let statusText: string;
    let contentType: string;
    let text: string;
    try {
      // undici's own request API, not fetch: no "bad port" list, no redirects, errors not wrapped.
      const response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.statusCode;
      statusText = response.statusText ?? "";
      contentType = String(response.headers["content-type"] ?? "");
      text = await response.body.text();
      // undici hands the connection back to its pool only after this turn of the event loop: a request sent
      // now, as a wait's next read often is, would open a second connection (a TLS handshake here and on the
      // node) while this one sits idle. One turn later it rides this one.
      if (idempotent) await nextTurn();
    } catch (error) {
      report(0);
      throw this.#networkError(method, relative, error, timeoutMs);
    }
    report(status);

    let parsed: ApiBody | undefined;
    if (/json/i.test(contentType) || /^\s*[{[]/.test(text)) {
      try {
        parsed = JSON.parse(text) as ApiBody;
      } catch {
        parsed = undefined;
      }
    }
    if (status >= 200 && status < 300) {
      if (!parsed || typeof parsed !== "object") {
        throw new PveHttpError({ status, message: `unreadable response body (${contentType || "no content type"})`, method, path: relative });
      }
      return parsed;
    }
    const bodyMessage = typeof parsed?.message === "string" ? parsed.message.trim() : "";
    throw new PveHttpError(
      { status, message: bodyMessage || statusText || `HTTP ${status}`, errors: stringRecord(parsed?.errors), method, path: relative },
      { context: { endpoint: this.connection.endpoint, reason: statusText } },
    );
  }

  #networkError(method: HttpMethod, path: string, error: unknown, timeoutMs: number): PveNetworkError {
    const where = `Proxmox ${method} ${path} at ${this.connection.endpoint}`;
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError" || errorCode(error) === "UND_ERR_ABORTED") {
      return new PveNetworkError(`${where}: no answer within ${timeoutMs} ms (the request may have reached the server)`, { notSent: false }, { cause: error });
    }
    const cause = rootCause(error);
    const code = errorCode(cause);
    const tls = code !== undefined && (TLS_VERIFY_CODES.has(code) || code === PIN_MISMATCH);
    const notSent = code !== undefined && (tls || CONNECT_PHASE_CODES.has(code));
    // OpenSSL's messages end in a newline: the error stays one line.
    const text = ((cause as Error)?.message ?? String(cause)).trim();
    const detail = code && !text.includes(code) && code !== PIN_MISMATCH ? `${text} (${code})` : text;
    const message = tls
      ? `${where}: TLS verification failed: ${detail}. ${tlsHint(code!, this.connection)}`
      : `${where}: ${detail}${notSent ? "" : " (the request may have reached the server)"}`;
    return new PveNetworkError(message, { notSent }, { cause: error, context: { code } });
  }
}

/** A task-list entry's state: `RUNNING` (or no status) while active, the exit status once stopped. */
function listedState(entry: TaskListEntry): TaskState {
  return entry.status === undefined || entry.status === "RUNNING" ? { status: "running" } : { status: "stopped", exitstatus: entry.status };
}

/** The newest `type` task of guest `id` that started at or after `since` (the task that forked it). */
/** Two waits in a row as one: expected ends add up, and so do their spreads. */
function sumOf(a: Expectation, b: Expectation): Expectation {
  return { expectedMs: a.expectedMs + b.expectedMs, spreadMs: a.spreadMs + b.spreadMs };
}

const sharedClients = new Map<string, ProxmoxClient>();

/**
 * The client of this process for `connection`: every operation of a `pulumi up` (one provider host) uses
 * the same keep-alive pool, login ticket and task-list reads. Never closed: it ends with the process.
 */
export function sharedClient(connection: ProxmoxConnection): ProxmoxClient {
  const key = JSON.stringify(Object.entries(connection).sort(([a], [b]) => a.localeCompare(b)));
  let client = sharedClients.get(key);
  if (!client) sharedClients.set(key, (client = new ProxmoxClient(connection)));
  return client;
}

/** A multipart body whose length is known before a byte is read, as pveproxy requires of uploads. */
interface MultipartBody {
  contentType: string;
  length: number;
  stream(): Readable;
}

function multipart(fields: Record<string, string>, file: { path: string; name: string }): MultipartBody {
  const boundary = `----launchpad${randomBytes(12).toString("hex")}`;
  // pveproxy reads `content`, `checksum-algorithm` and `checksum` only before the file part.
  const head = Buffer.from(
    Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join("") +
      `--${boundary}\r\nContent-Disposition: form-data; name="filename"; filename="${file.name.replace(/["\r\n]/g, "_")}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = statSync(file.path).size;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + size + tail.length,
    stream: () => Readable.from((async function* () {
      yield head;
      yield* createReadStream(file.path);
      yield tail;
    })()),
  };
}

/** Form / query encoding as Proxmox reads it: booleans as 1/0, arrays repeated, undefined and null left out. */
export function encodeParams(params: ApiParams | undefined): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries((params ?? {}) as Record<string, ApiParamValue>)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) form.append(key, String(item));
    else if (typeof value === "object") throw new TypeError(`Proxmox parameter ${key} must be a string, number, boolean or array`);
    else form.append(key, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  return form;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** fetch wraps the socket's error as `cause`; happy-eyeballs connects wrap several in an AggregateError. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown })?.cause;
    if (next === undefined || errorCode(current) !== undefined) break;
    current = next;
  }
  return current;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  const inner = (error as { errors?: unknown[] })?.errors;
  if (Array.isArray(inner) && inner.length) {
    const codes = new Set(inner.map(errorCode));
    return codes.size === 1 ? [...codes][0] : undefined;
  }
  return undefined;
}

/**
 * A 500 that asking again cannot change: the guest's config is not on that node (PVE::AbstractConfig
 * load_config, pve-guest-common), or an ACL names a role, user or group that does not exist (API2/ACL.pm
 * update_acl, under "ACL update failed"). Retrying it only delays the caller's answer by the whole backoff.
 */
function isDefinitive500(error: unknown): boolean {
  if (!isLaunchpadError(error, "ERR_PVE_HTTP")) return false;
  const message = (error as PveHttpError).pveMessage.trim();
  return /^Configuration file '[^']+' does not exist$/.test(message) || /^ACL update failed: (role|user|group) '[^']+' does not exist$/.test(message);
}
