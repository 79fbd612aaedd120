// A real OpenSSH server for tests: own sshd_config, host key and authorized key in a temp dir,
// loopback only, a free port, in the foreground; stop() ends it and removes the dir.

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { requireBinary } from "./binaries";
import { freePort, startServer } from "./ports";

const run = promisify(execFile);

export interface TestSshd {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: string;
  /** OpenSSH-format private key authorized for `user`. */
  readonly privateKey: string;
  /** "SHA256:..." of the server's host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** A second client key, protected by `passphrase` and authorized too (passphrase handling). */
  encryptedKey(passphrase: string): Promise<string>;
  stop(): Promise<void>;
}

async function keygen(sshKeygen: string, file: string, comment: string): Promise<void> {
  await run(sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

export async function fingerprintOf(sshKeygen: string, publicKeyFile: string): Promise<string> {
  const { stdout } = await run(sshKeygen, ["-l", "-E", "sha256", "-f", publicKeyFile]);
  const fingerprint = stdout.split(/\s+/)[1];
  if (!fingerprint?.startsWith("SHA256:")) throw new Error(`unexpected ssh-keygen output: ${stdout}`);
  return fingerprint;
}

export async function startSshd(context: Mocha.Context): Promise<TestSshd> {
  const sshd = requireBinary(context, "sshd", "openssh-server");
  const sshKeygen = requireBinary(context, "ssh-keygen", "openssh-client");
  const asRoot = process.getuid?.() === 0;
  // sshd insists on its privilege separation directory when started as root.
  if (asRoot) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchpad-sshd-"));
  const hostKey = path.join(dir, "host_ed25519");
  const clientKey = path.join(dir, "client_ed25519");
  await keygen(sshKeygen, hostKey, "launchpad-test-host");
  await keygen(sshKeygen, clientKey, "launchpad-test-client");
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, "authorized_keys"));
  const port = await freePort();
  const user = os.userInfo().username;
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(config, [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    asRoot ? "PermitRootLogin prohibit-password" : "",
    // Many provider processes connect at once in the parallel test.
    "MaxStartups 200:30:400",
    "MaxSessions 50",
    // sshd runs each command through the user's shell. Debian's bash sources ~/.bashrc when sshd starts it at
    // shell level 1, and a developer's or CI runner's root .bashrc can be slow (pyenv init measured 600 ms per
    // command on the CI image): every route change, about nine commands, took 6 s. A shell level of 1 from sshd
    // makes bash's own level 2, so it reads no rc file, as on a proxy host whose service user has none.
    "SetEnv SHLVL=1",
    "LogLevel ERROR",
    "",
  ].join("\n"));
  const { stop } = await startServer(sshd, ["-D", "-e", "-f", config], { name: "sshd", port, dir });
  try {
    return {
      host: "127.0.0.1",
      port,
      user,
      privateKey: fs.readFileSync(clientKey, "utf8"),
      hostKeyFingerprint: await fingerprintOf(sshKeygen, `${hostKey}.pub`),
      encryptedKey: async (passphrase: string) => {
        const file = path.join(dir, `client_encrypted_${fs.readdirSync(dir).length}`);
        await run(sshKeygen, ["-q", "-t", "ed25519", "-N", passphrase, "-C", "launchpad-test-encrypted", "-f", file]);
        fs.appendFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(`${file}.pub`));
        return fs.readFileSync(file, "utf8");
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
