// Small network probes the route tests share: wait for something, and echo through a TCP port.
import * as net from "net";

/** Retries `probe` until it passes or `deadlineMs` has gone by; the last failure is thrown. */
export async function eventually<T>(probe: () => Promise<T>, deadlineMs = 15_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Sends `text` to 127.0.0.1:port and returns what comes back (an echo server is behind the route). */
export function tcpEcho(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let got = "";
    socket.setTimeout(3000, () => socket.destroy(new Error("tcp timeout")));
    socket.on("connect", () => socket.write(text));
    socket.on("data", (c) => { got += c; if (got.length >= text.length) { socket.end(); resolve(got); } });
    socket.on("error", reject);
    socket.on("close", () => { if (got.length < text.length) reject(new Error(`tcp closed after ${JSON.stringify(got)}`)); });
  });
}
