// A run that "crashes": opens an LXC backend, starts a container, prints what it made, then waits
// to be killed with SIGKILL, so close() never runs. Usage: lxc-crash.ts <lxcPath>
import { createLxcBackend, LxcBackend } from "../../sandbox/lxc";

async function main(): Promise<void> {
  const lxcPath = process.argv[2];
  const backend = (await createLxcBackend({ lxcPath })) as LxcBackend;
  await backend.create({
    vmid: 900, hostname: "crashed", memory: 128, swap: 0, sshPublicKeys: [], env: {}, unprivileged: true,
    networks: [{ name: "eth0", hwaddr: "BC:24:11:00:09:00", ip: "dhcp" }],
    archive: { path: backend.standardTemplate!, kind: "template" },
  });
  await backend.start(900);
  process.stdout.write(JSON.stringify({ bridge: backend.bridge, name: backend.containerName(900), runId: backend.runId }) + "\n");
  setInterval(() => undefined, 60_000);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
