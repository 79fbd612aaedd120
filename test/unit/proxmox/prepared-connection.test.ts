import { strict as assert } from "assert";
import { createServer, type Server, type Socket } from "node:net";
import { buildConnector } from "undici";
import { preparingConnector, PREPARED_MAX_AGE_MS } from "../../../provider/proxmox/tls";

/** A loopback TCP server that counts the connections it accepted. */
async function countingServer(): Promise<{ server: Server; origin: string; accepted: () => number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket.on("error", () => undefined)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { server, origin: `http://127.0.0.1:${port}`, accepted: () => sockets.length, sockets };
}

const connectOnce = (connect: buildConnector.connector, origin: string) => new Promise<Socket>((resolve, reject) => {
  const url = new URL(origin);
  connect({ host: url.host, hostname: url.hostname, protocol: url.protocol, port: url.port, servername: null, localAddress: null } as never, (error, socket) => (error ? reject(error) : resolve(socket as Socket)));
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("preparingConnector (a write's new connection opened ahead of it)", () => {
  let served: Awaited<ReturnType<typeof countingServer>>;
  beforeEach(async () => (served = await countingServer()));
  afterEach(async () => {
    for (const socket of served.sockets) socket.destroy();
    await new Promise((resolve) => served.server.close(resolve));
  });

  it("hands the prepared connection to the next connect: one connection, not two", async () => {
    const { connect, prepare } = preparingConnector(buildConnector({}));
    prepare(served.origin);
    await settle();
    assert.equal(served.accepted(), 1, "prepare connects at once");
    const socket = await connectOnce(connect, served.origin);
    await settle();
    assert.equal(served.accepted(), 1, "the connect took the prepared connection");
    assert.ok(!socket.listeners("error").some((listener) => listener.name === "dropOnError"), "the idle-time error handler is removed on handoff");
    const second = await connectOnce(connect, served.origin);
    await settle();
    assert.equal(served.accepted(), 2, "only once: the next connect opens its own");
    socket.destroy();
    second.destroy();
  });

  it("a prepared connection older than PREPARED_MAX_AGE_MS is closed and a new one made", async () => {
    let now = 1_000;
    const { connect, prepare } = preparingConnector(buildConnector({}), () => now);
    prepare(served.origin);
    await settle();
    now += PREPARED_MAX_AGE_MS;
    const socket = await connectOnce(connect, served.origin);
    await settle();
    assert.equal(served.accepted(), 2);
    assert.equal(served.sockets[0].destroyed || served.sockets[0].readableEnded, true, "the old one was closed");
    socket.destroy();
  });

  it("a prepared connection the server closed is not used", async () => {
    const { connect, prepare } = preparingConnector(buildConnector({}));
    prepare(served.origin);
    await settle();
    served.sockets[0].destroy();
    await settle();
    const socket = await connectOnce(connect, served.origin);
    await settle();
    assert.equal(served.accepted(), 2);
    assert.equal(socket.destroyed, false);
    socket.destroy();
  });

  it("another origin does not take it", async () => {
    const other = await countingServer();
    try {
      const { connect, prepare } = preparingConnector(buildConnector({}));
      prepare(served.origin);
      const socket = await connectOnce(connect, other.origin);
      await settle();
      assert.equal(other.accepted(), 1);
      socket.destroy();
    } finally {
      for (const socket of other.sockets) socket.destroy();
      await new Promise((resolve) => other.server.close(resolve));
    }
  });

  it("a failed prepare leaves the next connect to connect (and fail) itself", async () => {
    const { connect, prepare } = preparingConnector(buildConnector({}));
    const origin = served.origin;
    for (const socket of served.sockets) socket.destroy();
    await new Promise((resolve) => served.server.close(resolve));
    prepare(origin);
    await assert.rejects(connectOnce(connect, origin), /ECONNREFUSED/);
    served.server = createServer().listen(0);
  });
});
