// DNS over UDP with fallback to TCP (RFC 1035 §4.2, RFC 7766): TCP when the message does not fit a
// plain UDP datagram, when the answer comes back truncated (TC), or when UDP gets no answer.
import * as dgram from "dgram";
import * as net from "net";
import { DnsUpdateError } from "../errors";

/** Without EDNS a UDP DNS message holds at most 512 octets (RFC 1035 §2.3.4). */
export const UDP_MAX = 512;
const TC_FLAG = 0x0200;

export interface Endpoint { host: string; port: number; timeoutMs?: number }

const DEFAULT_TIMEOUT_MS = 5_000;

export const isTruncated = (response: Buffer): boolean => response.length >= 4 && (response.readUInt16BE(2) & TC_FLAG) !== 0;

export async function exchange(message: Buffer, endpoint: Endpoint): Promise<Buffer> {
  if (message.length > UDP_MAX) return exchangeTcp(message, endpoint);
  const viaUdp = await exchangeUdp(message, endpoint).catch((error: unknown) => {
    if (error instanceof UdpTimeout) return undefined;
    throw error;
  });
  return viaUdp && !isTruncated(viaUdp) ? viaUdp : exchangeTcp(message, endpoint);
}

class UdpTimeout extends Error {}

function exchangeUdp(message: Buffer, endpoint: Endpoint): Promise<Buffer> {
  const id = message.readUInt16BE(0);
  const family = net.isIPv6(endpoint.host) ? "udp6" : "udp4";
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(family);
    const timer = setTimeout(() => { socket.close(); reject(new UdpTimeout()); }, endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    socket.on("message", (response) => {
      // Answers to other ids are strays (or spoofing attempts): keep waiting for ours.
      if (response.length < 12 || response.readUInt16BE(0) !== id) return;
      clearTimeout(timer); socket.close(); resolve(response);
    });
    socket.on("error", (error) => {
      clearTimeout(timer); socket.close();
      reject(new DnsUpdateError(`DNS server ${endpoint.host}:${endpoint.port} (UDP): ${error.message}`, { cause: error }));
    });
    socket.send(message, endpoint.port, endpoint.host);
  });
}

function exchangeTcp(message: Buffer, endpoint: Endpoint): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    let received = Buffer.alloc(0);
    const fail = (reason: string, cause?: unknown) => {
      socket.destroy();
      reject(new DnsUpdateError(`DNS server ${endpoint.host}:${endpoint.port} (TCP): ${reason}`, { cause }));
    };
    socket.setTimeout(endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => fail("no answer before the timeout"));
    socket.on("error", (error) => fail(error.message, error));
    socket.on("connect", () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on("end", () => { if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) fail("connection closed before a full answer"); });
  });
}
