// A new image per revision, measured: a PreviewEnvironment serving an app image over HTTPS through
// nginx is moved to a new image (a new container, create-before-delete) while a client keeps
// requesting its URL; every answer that is not the app's 200 counts as a failed request. Shared by
// the image-replace e2e test (which asserts 0) and bench/replace.ts (which prints the figure).
import * as pulumi from "@pulumi/pulumi";
import { APP_IMAGE_PORT, appImage as builtAppImage } from "./images";
import { PreviewEnvironment, type PreviewProxyArgs } from "../src/preview";
import { DOMAIN, getThroughProxy, newEngine, proxyConfig, type World } from "./world";

/**
 * THE app under test, one image per revision: devstack's app image (busybox httpd as the
 * entrypoint, no init, no sshd) serving `<revision>\n` on its port, pushed to the world's registry
 * under the revision as its tag by `pushAppImages`.
 */
export function appImage(world: World, revision: string): { reference: string; port: number; body: string } {
  if (!world.registry) throw new Error("the image replace needs the LXC world's registry");
  return { reference: `${world.registry.host}/launchpad-app:${revision}`, port: APP_IMAGE_PORT, body: `${revision}\n` };
}

export const REVISIONS = ["r1", "r2"] as const;

/** Builds (or finds cached) one app image per revision and pushes each under its revision's tag. */
export async function pushAppImages(world: World): Promise<void> {
  for (const revision of REVISIONS) {
    const reference = await world.registry!.push(await builtAppImage(appImage(world, revision).body), revision);
    if (reference !== appImage(world, revision).reference) throw new Error(`pushed ${reference}, expected ${appImage(world, revision).reference}`);
  }
}

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
/** How long after the `up` the measurement waits at most for the new revision's first answer. */
const TAIL_LIMIT_MS = 30_000;
export const FQDN = `${NAME}.${DOMAIN}`;

function program(world: World, revision: string, vmid?: number) {
  return () => {
    const image = appImage(world, revision);
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
    await pushAppImages(world);
    const [first, second] = REVISIONS;
    log(`up with ${appImage(world, first).reference}`);
    const created = await engine.up(program(world, first, options.vmid));
    const old = { vmid: Number(created.outputs.vmid), ipv4: String(created.outputs.ipv4) };
    // The app in the new container starts with it; wait until it answers before measuring.
    for (let attempt = 0; ; attempt++) {
      const response = await getThroughProxy(world, FQDN, "/").catch((e: Error) => ({ status: 0, body: e.message }));
      if (response.status === 200 && response.body === appImage(world, first).body) break;
      if (attempt > 150) throw new Error(`${FQDN} never answered with ${first}: ${response.status} ${response.body}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    log(`up with ${appImage(world, second).reference}, requesting https://${FQDN}/ all along`);
    const load = keepRequesting(world, [appImage(world, first).body, appImage(world, second).body]);
    const started = Date.now();
    let replaced;
    try {
      replaced = await engine.up(program(world, second, options.vmid));
    } finally {
      const upMs = Date.now() - started;
      // The tail: until the new revision has answered (a request sent just before the route moved
      // stalls on the deleted container's address for seconds), then a second more: the new
      // container must keep serving after the old one is gone. Bounded, so a broken replace still ends.
      const newBody = appImage(world, second).body;
      for (const until = Date.now() + TAIL_LIMIT_MS; !load.result.answers[newBody] && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 100));
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
