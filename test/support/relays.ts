// Fault injectors for the fault matrix: small relays the tests put between the provider and a REAL
// server (sshd, PowerDNS's HTTP API, PowerDNS's DNS port). They pass traffic through untouched until
// told to misbehave: cut every connection (now, on a trigger, or after N bytes), answer HTTP 5xx, or
// answer DNS SERVFAIL. Nothing here imitates the server; it only breaks the path to it.
import * as dgram from "dgram";
import * as http from "http";
import * as net from "net";

/** A TCP relay to `target`; `cutAfterBytes` cuts each new connection once that many bytes went through. */
export interface TcpRelay {
  readonly port: number;
  /** Bytes relayed (both directions) per connection, newest last. */
  readonly transferred: number[];
  /** Cuts every open connection now (both sides reset), as a dropped network does. */
  cutAll(): void;
  /** From now on, each new connection is cut once `bytes` have gone through it; undefined = never. */
  cutAfter(bytes: number | undefined): void;
  /** How many connections were cut by a fault. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const open = new Set<[net.Socket, net.Socket]>();
  const transferred: number[] = [];
  let limit: number | undefined;
  let cuts = 0;
  const cut = (pair: [net.Socket, net.Socket]) => {
    if (!open.delete(pair)) return;
    cuts++;
    pair[0].resetAndDestroy();
    pair[1].resetAndDestroy();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    const index = transferred.push(0) - 1;
    const connectionLimit = limit;
    open.add(pair);
    const relay = (from: net.Socket, to: net.Socket) => from.on("data", (chunk: Buffer) => {
      if (!open.has(pair)) return;
      const room = connectionLimit === undefined ? chunk.length : connectionLimit - transferred[index];
      if (room < chunk.length) {
        // Deliver exactly up to the limit, then drop the line.
        if (room > 0) to.write(chunk.subarray(0, room));
        transferred[index] += Math.max(0, room);
        cut(pair);
        return;
      }
      transferred[index] += chunk.length;
      to.write(chunk);
    });
    relay(client, upstream);
    relay(upstream, client);
    const end = () => { open.delete(pair); client.destroy(); upstream.destroy(); };
    for (const socket of pair) socket.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    transferred,
    get cuts() { return cuts; },
    cutAll: () => { for (const pair of [...open]) cut(pair); },
    cutAfter: (bytes) => { limit = bytes; },
    close: () => new Promise<void>((resolve) => {
      for (const [a, b] of open) { a.destroy(); b.destroy(); }
      open.clear();
      server.close(() => resolve());
    }),
  };
}

/** An HTTP relay to `target` that answers `status` instead of forwarding while a fault is set. */
export interface HttpRelay {
  readonly url: string;
  /** Requests that got the injected answer. */
  readonly faulted: number;
  /** Answer `status` to the next `count` requests (Infinity: until cleared), or only those with `method`. */
  fail(status: number, count?: number, method?: string): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startHttpRelay(target: { host: string; port: number }): Promise<HttpRelay> {
  let fault: { status: number; left: number; method?: string } | undefined;
  let faulted = 0;
  const server = http.createServer((req, res) => {
    if (fault && fault.left > 0 && (!fault.method || fault.method === req.method)) {
      fault.left--;
      faulted++;
      req.resume();
      res.writeHead(fault.status, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: `injected ${fault.status} by the fault relay` }));
      return;
    }
    const upstream = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (error) => { res.writeHead(502); res.end(String(error)); });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get faulted() { return faulted; },
    fail: (status, count = Infinity, method) => { fault = { status, left: count, method }; },
    clear: () => { fault = undefined; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * A DNS relay (UDP and TCP on one port number) to `target`. With `rcode` set it answers every
 * message itself with that rcode (same id, question and opcode, no records), as a broken server does.
 */
export interface DnsRelay {
  readonly port: number;
  readonly faulted: number;
  answerWith(rcode: number | undefined): void;
  close(): Promise<void>;
}

/** The request turned into an answer with `rcode`: QR set, opcode kept, counts of the other sections zeroed. */
function errorAnswer(message: Buffer, rcode: number): Buffer {
  const question = questionEnd(message);
  const answer = Buffer.from(message.subarray(0, question));
  const flags = message.readUInt16BE(2);
  answer.writeUInt16BE(0x8000 | (flags & 0x7900) | (rcode & 0x0f), 2); // QR | opcode | RD kept
  answer.writeUInt16BE(0, 6);
  answer.writeUInt16BE(0, 8);
  answer.writeUInt16BE(0, 10);
  return answer;
}

/** Offset just past the question (zone) section. */
function questionEnd(message: Buffer): number {
  let offset = 12;
  for (let q = message.readUInt16BE(4); q > 0; q--) {
    while (message[offset] !== 0) offset += message[offset] + 1;
    offset += 1 + 4;
  }
  return offset;
}

export async function startDnsRelay(target: { host: string; port: number }): Promise<DnsRelay> {
  let rcode: number | undefined;
  let faulted = 0;
  const tcp = net.createServer((client) => {
    if (rcode === undefined) {
      const upstream = net.connect(target);
      client.pipe(upstream).pipe(client);
      const end = () => { client.destroy(); upstream.destroy(); };
      client.on("error", end); upstream.on("error", end);
      return;
    }
    let received = Buffer.alloc(0);
    client.on("error", () => client.destroy());
    client.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const message = received.subarray(2, 2 + received.readUInt16BE(0));
        received = received.subarray(2 + message.length);
        faulted++;
        const answer = errorAnswer(message, rcode ?? 2);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(answer.length, 0);
        client.write(Buffer.concat([length, answer]));
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", () => resolve()));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket("udp4");
  udp.on("message", (message, from) => {
    if (rcode !== undefined) {
      faulted++;
      udp.send(errorAnswer(message, rcode), from.port, from.address);
      return;
    }
    // One socket per request, so the answer finds its way back to this client.
    const upstream = dgram.createSocket("udp4");
    const timer = setTimeout(() => upstream.close(), 10_000);
    upstream.on("message", (answer) => { clearTimeout(timer); upstream.close(); udp.send(answer, from.port, from.address); });
    upstream.send(message, target.port, target.host);
  });
  await new Promise<void>((resolve) => udp.bind(port, "127.0.0.1", () => resolve()));
  return {
    port,
    get faulted() { return faulted; },
    answerWith: (code) => { rcode = code; },
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
