// Fault injection for tests and benchmarks: failing or slow endpoints, failing or slow tasks, dropped
// connections (before the handler ran, or after it acted), config lock timeouts.

export interface EndpointFault {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Matched against the API path without `/api2/json`, e.g. `^/nodes/[^/]+/lxc$`. */
  path: RegExp | string;
  /**
   * What happens: an error response, the connection dropped before or after the handler ran, or the
   * handler run `delayMs` late (a slow node: PVE forks `ip` in the CT's namespace for `/interfaces`).
   */
  action?: "error" | "drop-before" | "drop-after" | "delay";
  /** For `delay`: how long the request waits before its handler runs. */
  delayMs?: number;
  /** HTTP status for `error` (default 500). */
  status?: number;
  /** Message for `error` (default `injected fault`). */
  message?: string;
  /** Fire on this many matching requests, then stop (default: unlimited). */
  count?: number;
  /** Probability 0..1 that a matching request is hit (default 1). */
  rate?: number;
}

export interface TaskFault {
  /** Task type (`vzcreate`, `vzstart`, ...). */
  type: string;
  /** Fail the task with this exit status (default `injected task failure`). */
  fail?: string | boolean;
  /** Add this many milliseconds to the task's duration. */
  delayMs?: number;
  count?: number;
  rate?: number;
}

interface Armed<T> {
  spec: T;
  remaining: number;
  hits: number;
}

export interface FaultInjector {
  /** Adds an endpoint fault; returns a function that removes it. */
  endpoint(fault: EndpointFault): () => void;
  /** Adds a task fault; returns a function that removes it. */
  task(fault: TaskFault): () => void;
  /**
   * The next `count` config-lock attempts on `vmid` (any when absent) fail with `can't lock file ... got timeout`;
   * with `holder`, only those of that task type's worker (`vzreboot`, `vzdestroy`, ...) or of `config` (PUT config).
   */
  lockTimeout(count?: number, vmid?: number, holder?: string): () => void;
  /** After dispatch, `tasks/{upid}/status` answers 400 for this many ms (as PVE can, right after fork). */
  taskStatusNotReadyMs: number;
  /** Removes every fault. */
  clear(): void;
  /** How many times each kind fired. */
  readonly fired: { endpoint: number; task: number; lock: number };
}

function takes<T extends { count?: number; rate?: number }>(armed: Armed<T>): boolean {
  if (armed.remaining <= 0) return false;
  if (armed.spec.rate !== undefined && Math.random() >= armed.spec.rate) return false;
  armed.remaining--;
  armed.hits++;
  return true;
}

export class Faults implements FaultInjector {
  private endpoints: Array<Armed<EndpointFault>> = [];
  private tasks: Array<Armed<TaskFault>> = [];
  private locks: Array<{ remaining: number; vmid?: number; holder?: string }> = [];
  taskStatusNotReadyMs = 0;
  readonly fired = { endpoint: 0, task: 0, lock: 0 };

  endpoint(fault: EndpointFault): () => void {
    const armed = { spec: fault, remaining: fault.count ?? Infinity, hits: 0 };
    this.endpoints.push(armed);
    return () => {
      this.endpoints = this.endpoints.filter((entry) => entry !== armed);
    };
  }

  task(fault: TaskFault): () => void {
    const armed = { spec: fault, remaining: fault.count ?? Infinity, hits: 0 };
    this.tasks.push(armed);
    return () => {
      this.tasks = this.tasks.filter((entry) => entry !== armed);
    };
  }

  lockTimeout(count = 1, vmid?: number, holder?: string): () => void {
    const armed = { remaining: count, vmid, holder };
    this.locks.push(armed);
    return () => {
      this.locks = this.locks.filter((entry) => entry !== armed);
    };
  }

  clear(): void {
    this.endpoints = [];
    this.tasks = [];
    this.locks = [];
    this.taskStatusNotReadyMs = 0;
  }

  /** The endpoint fault that hits this request, if any (consumes one count). */
  matchEndpoint(method: string, path: string): EndpointFault | undefined {
    for (const armed of this.endpoints) {
      const { spec } = armed;
      if (spec.method && spec.method.toUpperCase() !== method) continue;
      const re = typeof spec.path === "string" ? new RegExp(spec.path) : spec.path;
      if (!re.test(path)) continue;
      if (takes(armed)) {
        this.fired.endpoint++;
        return spec;
      }
    }
    return undefined;
  }

  taskDelayMs(type: string): number {
    let extra = 0;
    for (const armed of this.tasks) {
      if (armed.spec.type === type && armed.spec.delayMs && !armed.spec.fail && takes(armed)) extra += armed.spec.delayMs;
    }
    return extra;
  }

  taskFailure(type: string): string | undefined {
    for (const armed of this.tasks) {
      if (armed.spec.type !== type || !armed.spec.fail) continue;
      if (takes(armed)) {
        this.fired.task++;
        return typeof armed.spec.fail === "string" ? armed.spec.fail : "injected task failure";
      }
    }
    return undefined;
  }

  /** `holder`: the task type whose worker takes the lock, `config` for a config change, `create` for a create. */
  lockFails(vmid: number, holder?: string): boolean {
    for (const armed of this.locks) {
      if (armed.remaining > 0 && (armed.vmid === undefined || armed.vmid === vmid) && (armed.holder === undefined || armed.holder === holder)) {
        armed.remaining--;
        this.fired.lock++;
        return true;
      }
    }
    return false;
  }
}
