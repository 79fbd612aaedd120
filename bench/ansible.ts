// Ansible's `community.general.proxmox` as the yardstick: create+start of the same container on the
// same sandbox, the way a playbook does it (state=present, then state=started), a real third-party
// client. Its TLS is verified against the sandbox's certificate (REQUESTS_CA_BUNDLE), never turned off.

import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Sandbox } from "../sandbox";
import { DEFAULT_TEMPLATE } from "../sandbox/server/cluster";

// proxmoxer's https backend needs requests, which Debian has it only recommend.
const PACKAGES = ["ansible", "python3-proxmoxer", "python3-requests"];

const installed = (pkg: string) => {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).includes("install ok installed");
  } catch {
    return false;
  }
};

/**
 * Undefined when Ansible and proxmoxer are there (installed from Debian under CI when missing), else
 * the one-line reason to skip the comparison.
 */
export function ansibleSkipReason(log: (line: string) => void): string | undefined {
  let missing = PACKAGES.filter((pkg) => !installed(pkg));
  if (missing.length && process.env.CI === "true") {
    log(`installing ${missing.join(" ")} from Debian`);
    try {
      execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    } catch (error) {
      return `Ansible comparison skipped: apt-get install ${missing.join(" ")} failed (${(error as Error).message.split("\n")[0]})`;
    }
    missing = PACKAGES.filter((pkg) => !installed(pkg));
  }
  return missing.length ? `Ansible comparison skipped: ${missing.join(" and ")} not installed (apt-get install ${missing.join(" ")})` : undefined;
}

/** Runs the playbook: create CT `vmid` on `node`, then start it. Resolves when ansible-playbook exits. */
export async function ansibleCreateStart(sandbox: Pick<Sandbox, "endpoint" | "apiToken" | "caCert">, vmid: number, node: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-ansible-"));
  try {
    const url = new URL(sandbox.endpoint);
    const [, user, tokenId, secret] = /^([^!]+)!([^=]+)=(.+)$/.exec(sandbox.apiToken)!;
    const connection = {
      // This collection version has no api_port: proxmoxer takes `host:port`.
      api_host: `${url.hostname}:${url.port}`, api_user: user, api_token_id: tokenId, api_token_secret: secret, validate_certs: true,
    };
    const container = {
      ...connection, vmid, node, hostname: `ansible-${vmid}`, ostemplate: DEFAULT_TEMPLATE, storage: "local-lvm", disk: "8", cores: 1, memory: 512,
      netif: { net0: "name=eth0,bridge=vmbr0,ip=dhcp" }, unprivileged: true, timeout: 120,
    };
    const playbook = [{
      hosts: "localhost", connection: "local", gather_facts: false,
      tasks: [
        { name: "create", "community.general.proxmox": { ...container, state: "present" } },
        { name: "start", "community.general.proxmox": { ...connection, vmid, state: "started", timeout: 120 } },
      ],
    }];
    // JSON is YAML: no YAML library needed.
    fs.writeFileSync(path.join(dir, "playbook.yml"), JSON.stringify(playbook));
    fs.writeFileSync(path.join(dir, "ca.pem"), sandbox.caCert);
    await new Promise<void>((resolve, reject) => {
      execFile("ansible-playbook", ["-i", "localhost,", path.join(dir, "playbook.yml")], {
        env: { ...process.env, REQUESTS_CA_BUNDLE: path.join(dir, "ca.pem"), ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCALHOST_WARNING: "false", ANSIBLE_INVENTORY_UNPARSED_WARNING: "false" },
        timeout: 300_000,
      }, (error, stdout, stderr) => (error ? reject(new Error(`ansible-playbook failed: ${stdout.split("\n").filter((l) => /fatal|FAILED|msg/.test(l)).join(" ") || stderr}`)) : resolve()));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
