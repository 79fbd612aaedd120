import * as assert from "assert";
import * as dgram from "dgram";
import * as net from "net";
import { exchange, UDP_MAX } from "../../../provider/dns/transport";

/** A loopback DNS endpoint on one port, UDP and TCP, whose answers the test scripts. */
async function fakeServer(onUdp: (m: Buffer, reply: (b: Buffer) => void) => void, onTcp: (m: Buffer) => Buffer) {
  const tcp = net.createServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const answer = onTcp(data.subarray(2, 2 + data.readUInt16BE(0)));
        const length = Buffer.alloc(2); length.writeUInt16BE(answer.length, 0);
        socket.end(Buffer.concat([length, answer]));
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket("udp4");
  udp.on("message", (m, rinfo) => onUdp(m, (b) => udp.send(b, rinfo.port, rinfo.address)));
  await new Promise<void>((resolve, reject) => { udp.once("error", reject); udp.bind(port, "127.0.0.1", resolve); });
  return { port, close: async () => { udp.close(); await new Promise((r) => tcp.close(r)); } };
}

const message = (id: number, size = 40) => { const m = Buffer.alloc(size); m.writeUInt16BE(id, 0); return m; };
const answer = (id: number, flags: number, marker: string) => { const m = Buffer.concat([Buffer.alloc(12), Buffer.from(marker)]); m.writeUInt16BE(id, 0); m.writeUInt16BE(flags, 2); return m; };

describe("DNS transport (UDP with TCP fallback)", function () {
  // Every exchange here is on loopback: one that hangs fails in seconds, not after the suite's 2 minutes
  // (under Stryker a hung test also costs a restart of the test runner).
  this.timeout(10_000);
  let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
  afterEach(async () => { await server?.close(); server = undefined; });

  it("uses UDP, ignoring stray answers to other ids", async () => {
    let tcpUsed = false;
    server = await fakeServer((m, reply) => { reply(answer(m.readUInt16BE(0) ^ 1, 0x8000, "stray")); reply(answer(m.readUInt16BE(0), 0x8000, "udp")); },
      (m) => { tcpUsed = true; return answer(m.readUInt16BE(0), 0x8000, "tcp"); });
    const response = await exchange(message(0x4242), { host: "127.0.0.1", port: server.port });
    assert.strictEqual(response.subarray(12).toString(), "udp");
    assert.strictEqual(tcpUsed, false);
  });

  it("retries over TCP when the UDP answer is truncated (TC)", async () => {
    server = await fakeServer((m, reply) => reply(answer(m.readUInt16BE(0), 0x8000 | 0x0200, "cut")), (m) => answer(m.readUInt16BE(0), 0x8000, "full over tcp"));
    const response = await exchange(message(7), { host: "127.0.0.1", port: server.port });
    assert.strictEqual(response.subarray(12).toString(), "full over tcp");
  });

  it("sends a message over 512 bytes by TCP only, and falls back to TCP when UDP stays silent", async () => {
    let udpSeen = 0;
    server = await fakeServer(() => { udpSeen++; }, (m) => answer(m.readUInt16BE(0), 0x8000, `tcp ${m.length}`));
    const big = await exchange(message(8, UDP_MAX + 1), { host: "127.0.0.1", port: server.port });
    assert.strictEqual(big.subarray(12).toString(), `tcp ${UDP_MAX + 1}`);
    assert.strictEqual(udpSeen, 0);
    const silent = await exchange(message(9), { host: "127.0.0.1", port: server.port, timeoutMs: 200 });
    assert.strictEqual(silent.subarray(12).toString(), "tcp 40");
    assert.strictEqual(udpSeen, 1);
  });

  it("fails with a DnsUpdateError naming the server when nothing answers", async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((r) => free.close(r));
    await assert.rejects(exchange(message(10), { host: "127.0.0.1", port, timeoutMs: 200 }),
      (e: Error & { code?: string; cause?: { code?: string } }) => e.code === "ERR_DNS_UPDATE" && e.message.includes(`127.0.0.1:${port}`) && e.cause?.code === "ECONNREFUSED");
  });

  it("sends a message of exactly 512 bytes by UDP, and takes a bare 12-byte header as an answer", async () => {
    let tcpUsed = false;
    server = await fakeServer((m, reply) => reply(answer(m.readUInt16BE(0), 0x8000, "")), (m) => { tcpUsed = true; return answer(m.readUInt16BE(0), 0x8000, "tcp"); });
    const response = await exchange(message(11, UDP_MAX), { host: "127.0.0.1", port: server.port });
    assert.deepStrictEqual([response.length, tcpUsed], [12, false]);
  });

  it("ignores UDP datagrams too short to be an answer", async () => {
    server = await fakeServer((m, reply) => { reply(Buffer.from([m[0], m[1], 0x80])); reply(answer(m.readUInt16BE(0), 0x8000, "udp")); },
      (m) => answer(m.readUInt16BE(0), 0x8000, "tcp"));
    assert.strictEqual((await exchange(message(12), { host: "127.0.0.1", port: server.port })).subarray(12).toString(), "udp");
  });

  it("talks to an IPv6 server", async () => {
    const udp = dgram.createSocket("udp6");
    udp.on("message", (m, from) => udp.send(answer(m.readUInt16BE(0), 0x8000, "v6"), from.port, from.address));
    await new Promise<void>((resolve) => udp.bind(0, "::1", resolve));
    try {
      const response = await exchange(message(13), { host: "::1", port: udp.address().port });
      assert.strictEqual(response.subarray(12).toString(), "v6");
    } finally {
      udp.close();
    }
  });

  describe("over TCP", () => {
    /** A TCP-only endpoint (UDP port closed, so messages over 512 bytes are what reach it) that acts as `onConnection` says. */
    async function tcpServer(onConnection: (socket: net.Socket, request: Buffer) => void) {
      const tcp = net.createServer((socket) => {
        let data = Buffer.alloc(0);
        socket.on("data", (chunk) => {
          data = Buffer.concat([data, chunk]);
          if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) onConnection(socket, data.subarray(2, 2 + data.readUInt16BE(0)));
        });
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
      return { port: (tcp.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => { tcp.close(() => r()); }) };
    }
    const framed = (body: Buffer) => { const length = Buffer.alloc(2); length.writeUInt16BE(body.length, 0); return Buffer.concat([length, body]); };
    const big = (id: number) => message(id, UDP_MAX + 1);
    const pause = () => new Promise((r) => setTimeout(r, 30));

    it("puts together an answer that arrives in pieces, even a split length", async () => {
      const tcp = await tcpServer(async (socket, request) => {
        const bytes = framed(answer(request.readUInt16BE(0), 0x8000, "pieced together"));
        for (const piece of [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2, 9), bytes.subarray(9)]) { socket.write(piece); await pause(); }
        socket.end();
      });
      try {
        const response = await exchange(big(14), { host: "127.0.0.1", port: tcp.port });
        assert.strictEqual(response.subarray(12).toString(), "pieced together");
      } finally { await tcp.close(); }
    });

    it("names a server that closes before the whole answer, or does not answer in time", async () => {
      for (const keep of [10, 1]) { // inside the answer, and inside its length
        const cut = await tcpServer((socket, request) => { socket.end(framed(answer(request.readUInt16BE(0), 0x8000, "cut short")).subarray(0, keep)); });
        try {
          await assert.rejects(exchange(big(15), { host: "127.0.0.1", port: cut.port }),
            (e: Error & { code?: string }) => e.code === "ERR_DNS_UPDATE" && e.message === `DNS server 127.0.0.1:${cut.port} (TCP): connection closed before a full answer`);
        } finally { await cut.close(); }
      }
      const silent = await tcpServer(() => undefined);
      try {
        await assert.rejects(exchange(big(16), { host: "127.0.0.1", port: silent.port, timeoutMs: 200 }),
          (e: Error & { code?: string }) => e.code === "ERR_DNS_UPDATE" && e.message === `DNS server 127.0.0.1:${silent.port} (TCP): no answer before the timeout`);
      } finally { await silent.close(); }
    });
  });
});
