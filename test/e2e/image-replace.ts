// A new image per revision, measured: a PreviewEnvironment serving an app image over HTTPS through
// nginx is moved to a new image (a new container, create-before-delete) while a client keeps
// requesting its URL; every answer that is not the app's 200 counts as a failed request. Shared by
// test/e2e/image-replace.test.ts (which asserts 0) and bench/replace.ts (which prints the figure).
import * as pulumi from "@pulumi/pulumi";
import type { OciImage } from "../../sandbox";
import { PreviewEnvironment, type PreviewProxyArgs } from "../../src/preview";
import { DOMAIN, getThroughProxy, newEngine, proxyConfig, type World } from "./harness";

/**
 * THE app under test, one image per revision: what `oci-registry-pull` gets for the reference (the
 * sandbox's `ociImages` metadata), an app that serves `<revision>\n` on port 8080 and nothing else
 * (no init, no sshd). Switch this one function to the real app image once the sandbox pulls real
 * images from its registry.
 */
export function appImage(revision: string): { reference: string; metadata: OciImage; port: number; body: string } {
  const port = 8080;
  const server = `require('http').createServer((q,s)=>s.end(process.env.APP_REVISION+'\\n')).listen(${port})`;
  return {
    reference: `registry.launchpad.test/acme/shop:${revision}`,
    metadata: { digest: `sha256:${Buffer.from(revision.padEnd(32, "0")).toString("hex").slice(0, 64)}`, entrypoint: `/usr/bin/node -e "${server}"`, env: { APP_REVISION: revision } },
    port,
    body: `${revision}\n`,
  };
}

export const REVISIONS = ["r1", "r2"] as const;

/** The sandbox's image metadata for every revision. */
export const ociImages = (): Record<string, OciImage> => Object.fromEntries(REVISIONS.map((r) => [appImage(r).reference, appImage(r).metadata]));

export interface ReplaceMeasurement {
  /** Requests sent while the replacing `up` ran (and a short tail after it). */
  requests: number;
  failed: number;
  /** The first few failures, as `status body` or the error. */
  failures: string[];
  /** Answers per body (`r1\n`, `r2\n`). */
  answers: Record<string, number>;
  /** When the first answer of the new revision came. */
  firstNewAnswerAt?: Date;
  /** From the first failed request to the last one. */
  failingMs: number;
  /**
   * The longest time between two answers of the app: how long the URL did not answer. Requests to
   * an address no container holds do not fail at once, they stall until one does (or nginx gives up).
   */
  longestGapMs: number;
  /** When each answer of the app came, in order. */
  answeredAt: Date[];
  upMs: number;
  /** The operations of the replacing `up`, by resource name. */
  operations: Record<string, string>;
  old: { vmid: number; ipv4: string };
  replacement: { vmid: number; ipv4: string };
}

const NAME = "acme-shop-image-replace";
export const FQDN = `${NAME}.${DOMAIN}`;

function program(world: World, revision: string, vmid?: number) {
  return () => {
    const image = appImage(revision);
    const preview = new PreviewEnvironment("preview", {
      name: NAME,
      image: image.reference,
      domain: DOMAIN,
      memory: 256,
      // A fixed vmid cannot exist twice: the replace deletes the old container first.
      ...(vmid !== undefined ? { vmid } : {}),
      services: { http: image.port },
      proxy: { ...(proxyConfig(world) as unknown as PreviewProxyArgs), privateKey: pulumi.secret(world.proxySshd.privateKey) },
    });
    return { url: preview.url, vmid: preview.vmid, ipv4: preview.ipv4, kind: preview.container.kind };
  };
}

/** Requests the URL back to back until `stop()`; what each answered. */
function keepRequesting(world: World, expected: readonly string[]) {
  const result = {
    requests: 0, failed: 0, failures: [] as string[], answers: {} as Record<string, number>, firstNewAnswerAt: undefined as Date | undefined,
    failingMs: 0, longestGapMs: 0, answeredAt: [] as Date[],
  };
  let firstFailure: number | undefined;
  const failedNow = (what: string) => {
    result.failed++;
    firstFailure ??= Date.now();
    result.failingMs = Date.now() - firstFailure;
    if (result.failures.length < 5) result.failures.push(what);
  };
  const answeredNow = () => {
    const now = new Date();
    const previous = result.answeredAt[result.answeredAt.length - 1] ?? now;
    result.longestGapMs = Math.max(result.longestGapMs, now.getTime() - previous.getTime());
    result.answeredAt.push(now);
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      result.requests++;
      try {
        // A new connection per request, as separate visitors: a request sent on an idle keep-alive
        // connection just as a reload's old nginx worker closes it fails at any reload, and
        // browsers retry it; that race is not the replace's.
        const response = await getThroughProxy(world, FQDN, "/", { newConnection: true });
        if (response.status === 200 && expected.includes(response.body)) {
          result.answers[response.body] = (result.answers[response.body] ?? 0) + 1;
          answeredNow();
          if (response.body === expected[1] && !result.firstNewAnswerAt) result.firstNewAnswerAt = new Date();
          continue;
        }
        failedNow(`${response.status} ${response.body.slice(0, 120)}`);
      } catch (error) {
        failedNow((error as Error).message);
      }
    }
  })();
  return { result, stop: async () => { running = false; await loop; } };
}

/**
 * Up with the first revision (until its URL answers), then up with the second while requesting the
 * URL; destroys everything before returning.
 */
export async function measureImageReplace(world: World, options: { stack: string; vmid?: number; log?: (line: string) => void }): Promise<ReplaceMeasurement> {
  const log = options.log ?? (() => undefined);
  const engine = newEngine(world, { project: "launchpad-image-replace", stack: options.stack });
  try {
    const [first, second] = REVISIONS;
    log(`up with ${appImage(first).reference}`);
    const created = await engine.up(program(world, first, options.vmid));
    const old = { vmid: Number(created.outputs.vmid), ipv4: String(created.outputs.ipv4) };
    // The app in the new container starts with it; wait until it answers before measuring.
    for (let attempt = 0; ; attempt++) {
      const response = await getThroughProxy(world, FQDN, "/").catch((e: Error) => ({ status: 0, body: e.message }));
      if (response.status === 200 && response.body === appImage(first).body) break;
      if (attempt > 150) throw new Error(`${FQDN} never answered with ${first}: ${response.status} ${response.body}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    log(`up with ${appImage(second).reference}, requesting https://${FQDN}/ all along`);
    const load = keepRequesting(world, [appImage(first).body, appImage(second).body]);
    const started = Date.now();
    let replaced;
    try {
      replaced = await engine.up(program(world, second, options.vmid));
    } finally {
      const upMs = Date.now() - started;
      // A short tail: the new container must keep serving after the old one is gone.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await load.stop();
      log(`${load.result.requests} requests, ${load.result.failed} failed, in ${upMs} ms`);
      Object.assign(load.result, { upMs });
    }
    return {
      ...load.result,
      upMs: (load.result as unknown as { upMs: number }).upMs,
      operations: Object.fromEntries(replaced.operations.map((o) => [o.name, o.op])),
      old,
      replacement: { vmid: Number(replaced.outputs.vmid), ipv4: String(replaced.outputs.ipv4) },
    };
  } finally {
    await engine.destroy().catch((error: Error) => log(`destroy failed: ${error.message}`));
  }
}
