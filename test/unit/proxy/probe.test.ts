// What the SSH-route probe tells the user when the first bytes through a route are not a banner: the
// text of its error is the last line of "no SSH server answered through ..." (test/integration/proxy-apply).
// Real TCP servers on loopback, one per case.
import * as assert from "assert";
import * as net from "net";
import { readBanner } from "../../../provider/proxy/probe";

describe("the SSH route probe's first-bytes reader", () => {
  const servers: net.Server[] = [];
  after(() => { for (const server of servers) server.close(); });

  function serve(onConnection: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer(onConnection);
    servers.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
  }

  it("returns the first bytes once as many as asked for came, in one chunk or several", async () => {
    const whole = await serve((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
    assert.strictEqual(await readBanner("127.0.0.1", whole, 4, 5000), "SSH-2.0-OpenSSH_9.6\r\n");
    const split = await serve((socket) => { socket.write("SS"); setTimeout(() => socket.write("H-2.0"), 50); });
    assert.strictEqual(await readBanner("127.0.0.1", split, 4, 5000), "SSH-2.0");
  });

  it("returns as soon as exactly as many bytes as asked for came, without waiting for the peer to send more or close", async () => {
    const exact = await serve((socket) => socket.write("SSH-"));
    assert.strictEqual(await readBanner("127.0.0.1", exact, 4, 5000), "SSH-");
  });

  it("says what came before the peer closed, or that nothing did (nothing behind the route)", async () => {
    const short = await serve((socket) => socket.end("HT"));
    await assert.rejects(readBanner("127.0.0.1", short, 4, 5000), { message: 'closed after "HT"' });
    const closes = await serve((socket) => socket.end());
    await assert.rejects(readBanner("127.0.0.1", closes, 4, 5000), { message: "closed before any byte came (nothing answers behind the route?)" });
  });

  it("gives up on a silent peer after its timeout, saying so in whole seconds", async () => {
    const silent = await serve(() => undefined);
    await assert.rejects(readBanner("127.0.0.1", silent, 4, 1000), { message: "nothing came within 1 s" });
  });

  it("passes on a refused connection's own error", async () => {
    const port = await serve(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await assert.rejects(readBanner("127.0.0.1", port, 4, 5000), { code: "ECONNREFUSED" });
  });
});
