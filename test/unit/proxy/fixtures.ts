// Shared inputs for the proxy unit tests: one valid route of each kind, built fresh per call.
import type { ProxyRouteInputs } from "../../../provider/proxy/schema";

export const FINGERPRINT = "SHA256:" + "A".repeat(43);

export function rawProxy(): Record<string, any> {
  return { host: "proxy.example.com", user: "launchpad", agent: "/run/ssh-agent.sock", hostKeyFingerprint: FINGERPRINT };
}

export function rawHttp(): Record<string, any> {
  return {
    proxy: rawProxy(),
    http: {
      hostname: "feature-x.preview.example.com",
      target: { host: "10.0.0.5", port: 3000 },
      tls: { certificate: "/etc/ssl/preview/fullchain.pem", key: "/etc/ssl/preview/privkey.pem" },
    },
  };
}

export function rawStream(): Record<string, any> {
  return { proxy: rawProxy(), stream: { protocol: "tcp", target: { host: "10.0.0.5", port: 22 } } };
}

export type { ProxyRouteInputs };
