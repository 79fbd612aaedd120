// A run that "crashes": starts the preview stack (devstack/preview-stack: sandbox on LXC, nginx over OpenSSH, PowerDNS),
// deploys the root program's preview, prints what it made as one JSON line, then waits to be
// killed with SIGKILL, so nothing of it is ever closed. Used by test/e2e/lxc-restart.test.ts.
import * as fs from "fs";
import * as path from "path";
import { TestEngineRunner } from "../../devstack/engines";
import { fakeRevision, startPreviewStack } from "../../devstack/preview-stack";

async function main(): Promise<void> {
  const stack = await startPreviewStack({ backend: "lxc", log: (line) => process.stderr.write(`${line}\n`) });
  const runner = new TestEngineRunner(stack, "crashed", (line) => process.stderr.write(`${line}\n`));
  const outputs = await runner.up(stack.stackConfig({ branch: "crashed", revision: fakeRevision(), image: stack.images.system }));
  const vmid = Number(outputs.vmid);
  process.stdout.write(JSON.stringify({
    runDir: stack.run.dir,
    backend: stack.backend,
    lxcPath: stack.lxc?.lxcPath,
    container: stack.lxc?.containerName(vmid),
    bridge: stack.lxc?.bridge,
    confDir: stack.nginx.confDir,
    routes: ["http", "stream"].flatMap((kind) => fs.readdirSync(path.join(stack.nginx.confDir, kind)).filter((file) => !file.startsWith("_")).map((file) => path.join(stack.nginx.confDir, kind, file))),
    pdnsDir: stack.pdns.dir,
    name: outputs.name,
    url: outputs.url,
    httpsPort: stack.nginx.httpsPort,
  }) + "\n");
  setInterval(() => undefined, 60_000);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
