// An API failure as Proxmox reports it: HTTP status, reason phrase = first line of the message,
// body {data: null, message, errors?}.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message.endsWith("\n") ? message : `${message}\n`);
  }
}

/** `die "...\n"` inside a PVE API handler: HTTP 500 with the message. */
export const fail = (message: string) => new ApiError(500, message);

/** raise_param_exc: HTTP 400 `Parameter verification failed.` with per-parameter errors. */
export const paramError = (errors: Record<string, string>) =>
  new ApiError(400, "Parameter verification failed.", errors);

/** PVE::LXC::Config->load_config for a VMID that has no config on this node. */
export const noSuchConfig = (node: string, vmid: number) =>
  fail(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);

export const lockTimeout = (vmid: number) => fail(`can't lock file '/run/lock/lxc/pve-config-${vmid}.lock' - got timeout`);
