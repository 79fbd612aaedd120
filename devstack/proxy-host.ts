// The proxy host the dev stack starts, as ProxyRoute's `proxy` settings: an nginx of its own reached over
// an sshd of its own, both on loopback. The key is the caller's to add, plainly or as a secret.
import type { TestNginx } from "./nginx";
import type { TestSshd } from "./sshd";

export function proxyHost(sshd: TestSshd, nginx: TestNginx) {
  return {
    host: sshd.host, port: sshd.port, user: sshd.user, hostKeyFingerprint: sshd.hostKeyFingerprint,
    confDir: nginx.confDir, testCommand: nginx.testCommand, reloadCommand: nginx.reloadCommand, pidFile: nginx.pidFile,
    httpsPort: nginx.httpsPort, httpPort: nginx.httpPort, listenAddress: "127.0.0.1",
  };
}
