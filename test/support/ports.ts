import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Loopback port blocks for tests that name ports: a stream route's range, a fixed listen port, a port held busy on
 * purpose. `mocha --parallel` runs two test files at once, and the host tests start more processes, so two files
 * that each pick a random block can pick the same one, and one file's routes then take the ports another expects
 * free (CI failed that way: two files drew the block at 24600). A block is reserved across processes by a lock file
 * made with O_EXCL; a lock whose process is gone is taken over.
 *
 * The pool lies below Linux's ephemeral range (32768-60999), so a `listen(0)` or an outgoing connection elsewhere
 * never lands in a reserved block.
 */
const POOL_FROM = 20000;
export const PORT_BLOCK_SIZE = 200;
const BLOCKS = 60; // 20000-31999
const DIR = path.join(os.tmpdir(), "launchpad-test-ports");

export interface PortBlock {
  /** The first port; the block is `from` to `from + PORT_BLOCK_SIZE - 1`. */
  readonly from: number;
  readonly to: number;
  release(): void;
}

const held = new Map<number, string>();
process.once("exit", () => { for (const file of held.values()) fs.rmSync(file, { force: true }); });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      fs.rmSync(file, { force: true }); // its process is gone
    }
  }
  return false;
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Reserves a block of loopback ports no other test process holds, each free to listen on right now. */
export async function reservePortBlock(): Promise<PortBlock> {
  fs.mkdirSync(DIR, { recursive: true });
  const start = crypto.randomInt(0, BLOCKS);
  for (let i = 0; i < BLOCKS; i++) {
    const from = POOL_FROM + PORT_BLOCK_SIZE * ((start + i) % BLOCKS);
    const file = path.join(DIR, String(from));
    if (held.has(from) || !tryLock(file)) continue;
    held.set(from, file);
    const release = () => {
      if (held.get(from) !== file) return;
      held.delete(from);
      fs.rmSync(file, { force: true });
    };
    let allFree = true;
    for (let port = from; port < from + PORT_BLOCK_SIZE && allFree; port++) allFree = await free(port);
    if (allFree) return { from, to: from + PORT_BLOCK_SIZE - 1, release };
    release(); // something outside the tests holds a port in it
  }
  throw new Error(`no free block of ${PORT_BLOCK_SIZE} loopback ports in ${POOL_FROM}-${POOL_FROM + PORT_BLOCK_SIZE * BLOCKS - 1} (locks in ${DIR})`);
}
