// A bare HTTPS client for the sandbox tests: trusts the sandbox's CA, sends form or JSON bodies,
// and returns status, reason phrase and the parsed body.
import { Agent, fetch } from "undici";
import type { Sandbox } from "../../sandbox";

export interface ApiReply {
  status: number;
  reason: string;
  contentType: string | null;
  body: { data: any; message?: string; errors?: Record<string, string> };
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Send the body as JSON instead of form-urlencoded. */
  json?: boolean;
  /** Authenticate with this header set instead of the sandbox's API token. */
  auth?: Record<string, string> | null;
}

export class SandboxClient {
  readonly agent: Agent;
  constructor(private readonly sandbox: Sandbox) {
    this.agent = new Agent({ connect: { ca: sandbox.caCert } });
  }

  async call(method: string, path: string, params?: Record<string, unknown>, options: CallOptions = {}): Promise<ApiReply> {
    const auth = options.auth === undefined ? { Authorization: `PVEAPIToken=${this.sandbox.apiToken}` } : options.auth ?? {};
    const headers: Record<string, string> = { ...auth, ...(options.headers ?? {}) };
    let url = `${this.sandbox.endpoint}/api2/json${path}`;
    let body: string | undefined;
    if (params && (method === "GET" || method === "DELETE")) {
      url += `?${new URLSearchParams(params as Record<string, string>).toString()}`;
    } else if (params) {
      if (options.json) {
        body = JSON.stringify(params);
        headers["Content-Type"] = "application/json";
      } else {
        body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
        headers["Content-Type"] = "application/x-www-form-urlencoded";
      }
    }
    const res = await fetch(url, { method, headers, body, dispatcher: this.agent });
    const text = await res.text();
    return { status: res.status, reason: res.statusText, contentType: res.headers.get("content-type"), body: text ? JSON.parse(text) : null };
  }

  /** Polls a task until it stopped; returns its final status. */
  async waitTask(node: string, upid: string): Promise<{ status: string; exitstatus: string }> {
    for (;;) {
      const reply = await this.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
      // Anything but 200 cannot turn into a stopped task: fail now, not at the test's timeout.
      if (reply.status !== 200) throw new Error(`task ${upid} on ${node}: ${reply.status} ${reply.reason}`);
      if (reply.body.data.status === "stopped") return reply.body.data;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** With `start=1` PVE forks the start as its own `vzstart` task when the create ends: waits for that one. */
  async waitStartAfterCreate(node: string, vmid: number): Promise<{ status: string; exitstatus: string }> {
    const list = await this.call("GET", `/nodes/${node}/tasks`, { vmid, typefilter: "vzstart", source: "all" });
    if (list.status !== 200 || !list.body.data.length) throw new Error(`no vzstart task for CT ${vmid}: ${JSON.stringify(list.body)}`);
    return this.waitTask(node, list.body.data[0].upid);
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

export const TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

export function createParams(vmid: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { vmid, ostemplate: TEMPLATE, hostname: `ct${vmid}`, rootfs: "local-lvm:8", net0: "name=eth0,bridge=vmbr0,ip=dhcp", ...extra };
}
