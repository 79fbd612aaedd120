// An API failure as Proxmox reports it: HTTP status, reason phrase = first line of the message,
// body {data: null, message, errors?} (or no body at all, where pveproxy answers before any handler).

export interface ApiErrorOptions {
  /** The message as is: PVE's own 501 `Method ... not implemented` has no trailing newline, a `die "...\n"` has one. */
  raw?: boolean;
  /** No body, only status and reason phrase: what pveproxy sends for auth failures and unknown HTTP methods. */
  bodyless?: boolean;
}

export class ApiError extends Error {
  readonly bodyless: boolean;
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
    options: ApiErrorOptions = {},
  ) {
    super(options.raw || message.endsWith("\n") ? message : `${message}\n`);
    this.bodyless = options.bodyless ?? false;
  }
}

/** `die "...\n"` inside a PVE API handler: HTTP 500 with the message. */
export const fail = (message: string) => new ApiError(500, message);

/** raise_param_exc: HTTP 400 `Parameter verification failed.` with per-parameter errors. */
export const paramError = (errors: Record<string, string>) =>
  new ApiError(400, "Parameter verification failed.", errors);

/** An auth_handler failure in pveproxy: 401, the reason phrase is the message, no body (PVE::APIServer::AnyEvent). */
export const unauthorized = (message: string) => new ApiError(401, message, undefined, { bodyless: true });

/** PVE::LXC::Config->load_config for a VMID that has no config on this node. */
export const noSuchConfig = (node: string, vmid: number) =>
  fail(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);

export const lockTimeout = (vmid: number) => fail(`can't lock file '/run/lock/lxc/pve-config-${vmid}.lock' - got timeout`);
