// One command as root over SSH (ssh2), for the demo's SSH check and the tests' containers: says which
// host key the server presented, and pins it when asked.
import { Client } from "ssh2";
import { sha256Fingerprint } from "../provider/ssh";

export interface SshResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface SshRunOptions {
  host: string;
  port?: number;
  privateKey: string;
  command: string;
  timeoutMs?: number;
  /** Pinned SHA256 fingerprint; undefined accepts any key (a container's key is generated at create). */
  hostKey?: string;
}

/** Runs one command as root over SSH, and says which host key the server presented. */
export function sshRun(options: SshRunOptions): Promise<SshResult & { hostKey: string }> {
  const { host, port = 22, privateKey, command, timeoutMs = 15_000, hostKey } = options;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented = "";
    const timer = setTimeout(() => { client.end(); reject(new Error(`ssh -p ${port} root@${host} ${command}: timed out`)); }, timeoutMs);
    client
      .on("ready", () => {
        client.exec(command, (error, stream) => {
          if (error) { clearTimeout(timer); client.end(); reject(error); return; }
          let stdout = "";
          let stderr = "";
          stream.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
          stream.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          stream.on("close", (code: number | null) => { clearTimeout(timer); client.end(); resolve({ stdout, stderr, code, hostKey: presented }); });
        });
      })
      .on("error", (error) => { clearTimeout(timer); reject(error); })
      .connect({
        host, port, username: "root", privateKey, readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => {
          presented = sha256Fingerprint(key);
          return hostKey === undefined || presented === hostKey;
        },
      });
  });
}
