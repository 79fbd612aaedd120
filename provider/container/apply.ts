// The apply code: turns normalized inputs (create), a diff (update), or state (read, delete) into the
// fewest Proxmox calls. Progress lines go to stderr with console.error: the dynamic-provider host
// forwards a provider's console output to the engine's log, and pulumi.log cannot be used inside a
// provider process (it needs the program's engine connection).

import { isIP } from "node:net";
import { escapeControl, initFailed, isLaunchpadError, PveHttpError, PveTaskError, PveTimeoutError, redact, type LaunchpadError } from "../errors";
import { followUpOf, isUpid, parseUpid, ProxmoxClient, resolveConnection, sharedClient, taskDurations, taskWarnings, type FollowUp, type TaskResult } from "../proxmox";
import type { ClusterResource, LxcConfig, LxcInterface, LxcPendingItem, LxcStatus, StorageContentItem } from "../proxmox/types";
import { backoff, DEFAULT_EXPECTING, done, Dues, expecting, learnedSchedule, LearnedDurations, notYet, pacedDelay, pollUntil, steadyThen, type Expectation, type PollSchedule } from "../poll";
import { delay, sleep, type RetryPolicy } from "../retry";
import {
  candidateVmid, carriesTagPrefix, chooseStorage, cloneNode, clusterResources, digestFromVolid, findByTagPrefix, findContainer, findPulledImage, isNodeOnline,
  lxcPath, nodePath, nodeStorages, pickNode, pickVmid, storagesFromResources, templateStoragesByNode, vmidJump, vmidRange, vztmplContent,
} from "./cluster";
import { diffInputs } from "./diff";
import { identityPrefix, isOurIdentityTag, newClaim } from "./identity";
import { remoteDigest, uploadImage } from "./image";
import { claimedVmids, claimVmid, holdPlacement, nodesGettingImage, placementsInFlight } from "./inflight";
import { DEFAULT_TASK_POLL } from "../proxmox/tasks";
import { DEFAULT_INIT, initCommandOf, kindOf } from "./kind";
import {
  configChanges, ociFileStem, overlayPropertyString, parseDiskSizeGiB, parseEnv, parseFeatures, parseNet0, parseTags, PROPERTY_STRING_KEYS,
  renderConfig, renderCreateParams, renderEnv, type PveParams,
} from "./render";
import { SCHEMA_VERSION, type ContainerInputs, type ContainerOutputs } from "./schema";
import { getStackConfig } from "../stackConfig";

export const progress = (message: string): void => console.error(`[launchpad:container] ${escapeControl(redact(message))}`);

/** The process's client for the resource's connection: one keep-alive pool for every operation of the run. */
export function clientFor(inputs: Pick<ContainerInputs, "connection">): ProxmoxClient {
  return sharedClient(resolveConnection({ override: inputs.connection }));
}

function withClient<T>(inputs: Pick<ContainerInputs, "connection">, run: (client: ProxmoxClient) => Promise<T>): Promise<T> {
  return run(clientFor(inputs));
}

const isGone = (error: unknown) =>
  isLaunchpadError(error, "ERR_PVE_HTTP") &&
  ((error as PveHttpError).status === 404 || /does not exist|not found|no such/i.test((error as PveHttpError).pveMessage));

const isAlreadyExists = (error: unknown) =>
  (isLaunchpadError(error, "ERR_PVE_HTTP") &&
    (/already exists/i.test((error as PveHttpError).pveMessage) || Object.values((error as PveHttpError).errors).some((m) => /already exists/i.test(m)))) ||
  (isLaunchpadError(error, "ERR_PVE_TASK") && /already exists/i.test((error as LaunchpadError).message));

/** Picking a VMID again after `already exists`: spread the racers out, give up after a while. */
const VMID_RACE_POLICY: RetryPolicy = {
  limit: 25,
  statuses: [],
  retryableMessages: [/already exists/i],
  baseDelayMs: 30,
  maxDelayMs: 800,
  jitter: 1,
};

/** Waiting for a lock held by another task: nothing to learn from, a plain backoff. */
const LOCK_POLL = backoff({ initialMs: 100, factor: 2, maxMs: 1_000 });
/**
 * Waiting for an address with nothing learned yet (a lone create's process). A static address shows when
 * the CT runs, so the first probe that finds it running finds it; after that the address comes from DHCP,
 * as likely at any moment of its first seconds: one probe every 150 ms (at most 150 ms late, 20 probes for
 * 3 s), rather than a backoff that spends its close probes early. After 6 s DHCP is likely failing: back off.
 * The task list's sparser reads while the create runs (CHAIN_CHECK_MS) pay for the probes.
 * Whatever their schedule (learned or not), the waits of one process share ADDRESS_PROBES_PER_SECOND per
 * endpoint: a program creating 50 containers at once probes each every 2.5 s, not 330 times a second in
 * all (each probe makes the node run `nsenter ... ip --json a`: PVE::LXC::get_interfaces).
 */
function addressPoll(endpoint: string): PollSchedule {
  const schedule = learnedSchedule(addressDelays, endpoint, steadyThen(150, 6_000, { initialMs: 300, factor: 1.5, maxMs: 2_000 }));
  return (probes, elapsedMs) => Math.max(schedule(probes, elapsedMs), (1000 * (addressWaits.get(endpoint) ?? 1)) / ADDRESS_PROBES_PER_SECOND);
}
const ADDRESS_PROBES_PER_SECOND = 20;
/** Address waits in flight in this process, per endpoint. */
const addressWaits = new Map<string, number>();
/** Counts one address wait in flight until the returned release is called (once, when the wait ends). */
function addressWait(endpoint: string): () => void {
  addressWaits.set(endpoint, (addressWaits.get(endpoint) ?? 0) + 1);
  return () => {
    const left = (addressWaits.get(endpoint) ?? 1) - 1;
    if (left > 0) addressWaits.set(endpoint, left);
    else addressWaits.delete(endpoint);
  };
}
/** How long after its start each container of this process got its address, per endpoint. */
const addressDelays = new LearnedDurations();

// --- addresses ------------------------------------------------------------------------------------------
interface Addresses { ipv4?: string; ipv6?: string; mac?: string }

const isLinkLocal = (address: string) => /^169\.254\./.test(address) || /^fe[89ab][0-9a-f]:/i.test(address);
const stripPrefix = (address: string | undefined) => address?.split("/")[0];

/**
 * `eth0`'s first global addresses, from `inet`/`inet6` and `ip-addresses`; `lo` and link-local skipped.
 * A CT with no running init has none: PVE answers `/interfaces` with null then (PVE::LXC::get_interfaces).
 */
export function addressesOf(interfaces: readonly LxcInterface[] | null): Addresses {
  const eth = (interfaces ?? []).filter((i) => i.name !== "lo");
  const chosen = eth.find((i) => i.name === "eth0") ?? eth[0];
  if (!chosen) return {};
  const candidates = [
    stripPrefix(chosen.inet),
    stripPrefix(chosen.inet6),
    ...(chosen["ip-addresses"] ?? []).map((a) => a["ip-address"]),
  ].filter((a): a is string => Boolean(a) && !isLinkLocal(a!));
  return {
    ipv4: candidates.find((a) => isIP(a) === 4),
    ipv6: candidates.find((a) => isIP(a) === 6),
    mac: (chosen.hwaddr || chosen["hardware-address"])?.toUpperCase(),
  };
}

/** Polls `/interfaces` (which also gives the MAC) until eth0 has the address the inputs ask for. */
async function waitForAddress(client: ProxmoxClient, node: string, vmid: number, inputs: ContainerInputs): Promise<Addresses> {
  const started = Date.now();
  const wantV4 = inputs.network.ipv4 !== undefined;
  const kind = client.connection.endpoint;
  let lastMissingAt = started;
  let probeSentAt = started;
  const release = addressWait(kind);
  const addresses = await pollUntil(started + inputs.timeouts.ip * 1000, async () => {
    probeSentAt = Date.now();
    const found = addressesOf(await client.get<LxcInterface[]>(`${lxcPath(node, vmid)}/interfaces`));
    if (wantV4 ? found.ipv4 : found.ipv4 ?? found.ipv6) return done(found);
    lastMissingAt = Date.now();
    return notYet();
  }, addressPoll(kind), {
    paced: true,
    timeout: () => new PveTimeoutError(`CT ${vmid} on ${node} has no address on eth0 after ${inputs.timeouts.ip} s (is DHCP answering on ${inputs.network.bridge}?)`),
  }).finally(release);
  addressDelays.observe(kind, (lastMissingAt + probeSentAt) / 2 - started);
  return addresses;
}

/**
 * While a create or its start may still fail, the task list is read this often: a failure is seen within it.
 * A failed create is reported up to 3 s late: the requests saved pay for the address probes (addressPoll).
 */
const CHAIN_CHECK_MS = 3_000;
/** Finding when the CT runs only anchors the address wait: few probes for it, even in a wide window. */
const RUNNING_POLICY = { ...DEFAULT_EXPECTING, windowProbes: 6 };

/** How a create with `start=1` and an address to wait for ended: the start's outcome, and the address or why none. */
interface ChainOutcome {
  start: Omit<FollowUp, "task">;
  address?: { found?: Addresses; error?: unknown };
}

/**
 * `start=1` with an address to wait for: the address ends the wait, so neither task is watched densely.
 * The task list is read every CHAIN_CHECK_MS while the create or its `vzstart` may still fail,
 * and when the CT is first seen running; `/interfaces` (null while the CT does not run: PVE::LXC::get_interfaces
 * finds no pid) from when the pair may end (`chain`, from dispatch), around that end, then on the address
 * wait's own schedule from when the CT runs. With nothing known of the pair (a node without history), the
 * task list is read on the task backoff until the create ends, and `/interfaces` backs off from there.
 * A failed or late create throws, as runTaskThen's wait would; the start's failure and the address (or
 * its timeout) are returned for finishCreate to report.
 */
async function waitCreatedStartedAddressed(client: ProxmoxClient, inputs: ContainerInputs, node: string, vmid: number, upid: string, dispatchedAt: number, chain: Expectation | undefined): Promise<ChainOutcome> {
  const task = parseUpid(upid);
  const endpoint = client.connection.endpoint;
  const wantV4 = inputs.network.ipv4 !== undefined;
  const [createMs, startMs, ipMs] = [inputs.timeouts.create * 1000, inputs.timeouts.start * 1000, inputs.timeouts.ip * 1000];
  const dues = new Dues<"tasks" | "address">();
  const whenRunning = chain ? expecting(chain, RUNNING_POLICY) : backoff(DEFAULT_TASK_POLL);
  // Only an anchor and a failure to see: up to the sparse gap, not the task backoff's 1 s.
  const untilCreated = backoff({ ...DEFAULT_TASK_POLL, maxMs: CHAIN_CHECK_MS });
  let taskChecks = 0;
  let createdAt: number | undefined;
  let start: { next?: TaskResult; nextError?: unknown } | undefined;
  let runningAt: number | undefined;
  let lastDownAt = dispatchedAt;
  let lastMissingAt = 0;
  let addressSchedule: PollSchedule | undefined;
  let releaseAddressWait = () => {};
  let addressProbes = 0;
  let found: Addresses | undefined;

  /** One task-list read: the create's end (a failure throws), then its start's; "none" when the create forked none. */
  const checkTasks = async (): Promise<"none" | undefined> => {
    const sentAt = Date.now();
    const entries = await client.nodeTasks(node, { vmid, since: task.starttime });
    if (createdAt === undefined) {
      const create = entries.find((entry) => entry.upid === upid);
      if (!create?.status || create.status === "RUNNING") {
        // The CT cannot run before its create ended: when it is first seen running, it came up after this.
        lastDownAt = Math.max(lastDownAt, sentAt);
        return undefined;
      }
      // Its own status call for the failure: it throws PveTaskError with the log's last lines.
      if (taskWarnings(create.status) === undefined) await client.waitForTask(upid);
      createdAt = Date.now();
    }
    const next = followUpOf(entries, "vzstart", String(vmid), task);
    if (!next) return "none";
    if (!next.status || next.status === "RUNNING") return undefined;
    const warnings = taskWarnings(next.status);
    start = warnings !== undefined
      ? { next: { upid: next.upid, node, type: "vzstart", id: String(vmid), exitstatus: next.status, warnings } }
      : { nextError: await client.waitForTask(next.upid).then(() => new PveTaskError({ upid: next.upid, exitstatus: next.status!, log: [] }), (error: unknown) => error) };
    return undefined;
  };
  // A function, not `start?.nextError` inline: TypeScript does not see checkTasks assign `start`.
  const startFailed = () => start?.nextError !== undefined;
  const timedOut = (what: string, ms: number) => new PveTimeoutError(what.replace("{ms}", String(ms)), { context: { upid, node } });

  // With the pair's durations known, the first task-list read waits a sparse step as well: a create that
  // fails at once is reported up to CHAIN_CHECK_MS late, and a lone create saves a request.
  dues.set("tasks", chain ? dispatchedAt + CHAIN_CHECK_MS : dispatchedAt);
  if (chain) dues.set("address", dispatchedAt + Math.max(0, chain.expectedMs - chain.spreadMs));
  return pollUntil<ChainOutcome>(dispatchedAt + createMs + startMs + ipMs, async () => {
    const now = Date.now();
    let checked = false;
    if (dues.due("tasks", now)) {
      checked = true;
      if ((await checkTasks()) === "none") return done({ start: {} });
      if (startFailed()) return done({ start: start! });
    }
    if (dues.due("address", now)) {
      const sentAt = Date.now();
      const list = await client.get<LxcInterface[] | null>(`${lxcPath(node, vmid)}/interfaces`);
      if (!list) lastDownAt = sentAt;
      else {
        if (runningAt === undefined) {
          runningAt = (lastDownAt + sentAt) / 2;
          // When the CT came up is learned to within half the probe gap: the next create's window.
          taskDurations.observe(`${endpoint}|vzcreate>vzstart`, runningAt - dispatchedAt, (sentAt - lastDownAt) / 2);
          releaseAddressWait = addressWait(endpoint);
          addressSchedule = addressPoll(endpoint);
          addressProbes = 0;
        }
        const addresses = addressesOf(list);
        if (wantV4 ? addresses.ipv4 : addresses.ipv4 ?? addresses.ipv6) found ??= addresses;
        else lastMissingAt = sentAt;
        // Running, or addressed: the start has ended (or all but): read how, unless just read.
        if (!start && !checked) {
          checked = true;
          if ((await checkTasks()) === "none") return done({ start: {} });
          if (startFailed()) return done({ start: start! });
        }
      }
      if (found && start) {
        addressDelays.observe(endpoint, (Math.max(lastMissingAt, runningAt!) + sentAt) / 2 - runningAt!);
        return done({ start, address: { found } });
      }
      addressProbes++;
      // Paced from this probe's sending: a slow answer does not stretch the gap the address may fall in.
      const elapsed = sentAt - (runningAt ?? dispatchedAt);
      const answeredAt = Date.now();
      dues.set("address", answeredAt + pacedDelay(addressSchedule ? addressSchedule(addressProbes, elapsed) : whenRunning(addressProbes, elapsed), sentAt, answeredAt));
    }
    if (checked) {
      taskChecks++;
      // Nothing known: the create's end is looked for as any task's, and the CT probed from it.
      if (!chain && createdAt === undefined) dues.set("tasks", Date.now() + untilCreated(taskChecks, Date.now() - dispatchedAt));
      else dues.set("tasks", start ? undefined : Date.now() + CHAIN_CHECK_MS);
      if (!chain && createdAt !== undefined && runningAt === undefined && addressProbes === 0) dues.set("address", Date.now());
    }
    const at = Date.now();
    if (createdAt === undefined && at - dispatchedAt > createMs) throw timedOut(`Proxmox task ${upid} (vzcreate ${vmid} on ${node}) did not finish within {ms} ms; it may still be running`, createMs);
    if (createdAt !== undefined && !start && at - createdAt > startMs) return done({ start: { nextError: timedOut(`the start of CT ${vmid} on ${node} did not finish within {ms} ms; it may still be running`, startMs) } });
    if (runningAt !== undefined && start && at - runningAt > ipMs) {
      return done({ start, address: { error: new PveTimeoutError(`CT ${vmid} on ${node} has no address on eth0 after ${inputs.timeouts.ip} s (is DHCP answering on ${inputs.network.bridge}?)`) } });
    }
    return notYet(runningAt === undefined ? "not running yet" : "no address yet");
  }, () => dues.delay(Date.now(), CHAIN_CHECK_MS), {
    timeout: () => timedOut(`Proxmox task ${upid} (vzcreate ${vmid} on ${node}) and its start did not end within {ms} ms; they may still be running`, createMs + startMs + ipMs),
  }).finally(() => releaseAddressWait());
}

/** Waits until no task holds the container's lock (a create or resize in flight). */
async function waitUnlocked(client: ProxmoxClient, node: string, vmid: number, timeoutSeconds: number): Promise<LxcStatus> {
  let lock: string | undefined;
  return pollUntil(Date.now() + timeoutSeconds * 1000, async () => {
    const status = await client.get<LxcStatus>(`${lxcPath(node, vmid)}/status/current`);
    lock = status.lock;
    return status.lock ? notYet(status.lock) : done(status);
  }, LOCK_POLL, { timeout: () => new PveTimeoutError(`CT ${vmid} on ${node} is still locked (${lock}) after ${timeoutSeconds} s`) });
}

// --- sources ----------------------------------------------------------------------------------------------
/** In-flight pulls of this process, so that parallel resources with one image pull it once. */
const pullsInFlight = new Map<string, Promise<{ volid: string; digest?: string }>>();

async function resolveImage(client: ProxmoxClient, node: string, templateStorage: string, reference: string, timeoutSeconds: number, listed?: StorageContentItem[]) {
  const key = `${client.connection.endpoint}|${node}|${templateStorage}|${reference}`;
  let pull = pullsInFlight.get(key);
  if (!pull) {
    pull = (async () => {
      const stem = ociFileStem(reference);
      const existing = findPulledImage(listed ?? await vztmplContent(client, node, templateStorage), templateStorage, stem);
      if (existing) {
        progress(`reusing ${existing.volid} for ${reference}`);
        return { volid: existing.volid, digest: digestFromVolid(existing.volid, stem) };
      }
      progress(`pulling ${reference} into ${templateStorage} on ${node}`);
      try {
        await client.runTask("POST", `${nodePath(node)}/storage/${encodeURIComponent(templateStorage)}/oci-registry-pull`,
          // PVE appends `.tar` to `filename` itself (PVE::API2::Storage::Status oci_registry_pull).
          { reference, filename: stem }, { timeoutMs: timeoutSeconds * 1000 });
      } catch (error) {
        // Another stack pulled the same image since our listing: PVE refuses before starting a task.
        if (!(isLaunchpadError(error, "ERR_PVE_HTTP") && /refusing to override existing file/.test((error as PveHttpError).pveMessage))) throw error;
        progress(`${stem}.tar appeared in ${templateStorage} meanwhile: using it`);
      }
      const pulled = findPulledImage(await vztmplContent(client, node, templateStorage), templateStorage, stem);
      if (!pulled) throw new PveHttpError({ status: 500, message: `the pull of ${reference} finished but no ${stem}.tar is listed in ${templateStorage}`, method: "GET", path: "content" });
      return { volid: pulled.volid, digest: digestFromVolid(pulled.volid, stem) };
    })().finally(() => pullsInFlight.delete(key));
    pullsInFlight.set(key, pull);
  }
  return pull;
}

/** Listings of template storages read while placing an image create, by node. */
type TemplateListings = Map<string, { storage: string; items: StorageContentItem[] }>;

/**
 * Nodes whose template storage already holds `inputs.image`, so placement can spare a pull: one
 * content listing per online node. Nothing to prefer when the storage is shared or there is one node.
 */
async function imageHolders(client: ProxmoxClient, resources: readonly ClusterResource[], inputs: ContainerInputs): Promise<{ holders: Set<string>; listings: TemplateListings }> {
  const holders = new Set<string>();
  const listings: TemplateListings = new Map();
  const online = resources.filter((r) => r.type === "node" && r.node && (r.status ?? "online") === "online").map((r) => r.node!);
  const storages = templateStoragesByNode(resources, inputs.templateStorage);
  if (online.length < 2 || [...storages.values()].some((s) => s.shared)) return { holders, listings };
  const stem = ociFileStem(inputs.image!);
  await Promise.all(online.map(async (node) => {
    const storage = storages.get(node)?.storage;
    if (!storage) return;
    try {
      const items = await vztmplContent(client, node, storage);
      listings.set(node, { storage, items });
      if (findPulledImage(items, storage, stem)) holders.add(node);
    } catch {
      // Only a preference: a node whose storage cannot be listed now is simply not preferred.
    }
  }));
  return { holders, listings };
}

// --- create -----------------------------------------------------------------------------------------------
interface Placement {
  node: string;
  vmid: number;
  storage: string;
  ostemplate?: string;
  imageDigest?: string;
  identityTag: string;
  /** A create with `start=1` waited on: how its `vzstart` ended (never in outputs). */
  start?: Omit<FollowUp, "task">;
  /** The address, when the create's wait waited for it too (never in outputs). */
  address?: ChainOutcome["address"];
}

const jsonSafe = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

/**
 * Outputs from the inputs, where the container is, and what it runs. `init` is the config's
 * `entrypoint` as read back (undefined: none set); left out, `kind` is not known (a failed create).
 */
export function outputsOf(inputs: ContainerInputs, placement: Placement, state: { status: string } & Addresses, init?: { entrypoint: string | undefined }): ContainerOutputs {
  return jsonSafe({
    ...inputs,
    schemaVersion: SCHEMA_VERSION,
    vmid: placement.vmid,
    node: placement.node,
    storage: placement.storage,
    ostemplate: placement.ostemplate,
    imageDigest: placement.imageDigest,
    identityTag: placement.identityTag,
    status: state.status,
    ipv4: state.ipv4 ?? (typeof inputs.network.ipv4 === "object" ? stripPrefix(inputs.network.ipv4.address) : undefined),
    ipv6: state.ipv6 ?? (typeof inputs.network.ipv6 === "object" ? stripPrefix(inputs.network.ipv6.address) : undefined),
    mac: state.mac,
    ...(init ? { kind: kindOf(init.entrypoint), initCommand: initCommandOf(init.entrypoint) } : {}),
  }) as unknown as ContainerOutputs;
}

export async function createContainer(inputs: ContainerInputs): Promise<{ id: string; outs: ContainerOutputs }> {
  // Read before any network call: a malformed setting is an error naming it, not a failed create.
  const configured = getStackConfig()["launchpad:vmidRange"];
  const range = configured !== undefined ? vmidRange(configured) : vmidRange(process.env.LAUNCHPAD_VMID_RANGE, "LAUNCHPAD_VMID_RANGE");
  return withClient(inputs, async (client) => {
    // A copied image's generation is its digest: a re-pushed tag's replacement must not adopt the old container.
    const digest = inputs.identity && inputs.image !== undefined && inputs.imageCredentials ? await remoteDigest(inputs.image, inputs.imageCredentials) : undefined;
    // The create POST's new connection is opened alongside the reads before it, and the tag's hash made meanwhile.
    client.prepareWrite();
    const [prefix, resources] = await Promise.all([
      inputs.identity ? identityPrefix(inputs.identity, digest ? { ...inputs, image: `${inputs.image}@${digest}` } : inputs) : undefined,
      clusterResources(client),
    ]);

    // An earlier attempt of this very create (response lost, run killed) is finished, not duplicated.
    const earlier = prefix ? findByTagPrefix(resources, prefix).sort((a, b) => Number(a.vmid) - Number(b.vmid)) : [];
    for (const found of earlier) {
      const adopted = await adopt(client, inputs, found.node!, Number(found.vmid), prefix!);
      if (adopted) return adopted;
    }
    // One still being made shows no tag yet: PVE writes the file as `lock: create` before it forks the worker,
    // and the config with our tags only in it (pve-container src/PVE/API2/LXC.pm, create_vm). On the
    // identity's own VMID that is most likely our killed run's create: wait for it, then look again.
    const candidate = prefix ? candidateVmid(prefix, range) : undefined;
    const pending = earlier.length === 0 && candidate !== undefined ? findContainer(resources, candidate) : undefined;
    if (pending?.lock === "create") {
      const adopted = await adoptOnceCreated(client, inputs, pending.node!, candidate!, prefix!);
      if (adopted) return adopted;
    }

    const endpoint = client.connection.endpoint;
    const image = inputs.image !== undefined ? `${inputs.templateStorage ?? ""}|${inputs.image}` : undefined;
    let listings: TemplateListings | undefined;
    let node = inputs.node ?? (inputs.clone !== undefined ? cloneNode(resources, inputs.clone, inputs.storage) : undefined);
    if (node === undefined) {
      let holders = new Set<string>();
      if (image !== undefined) ({ holders, listings } = await imageHolders(client, resources, inputs));
      // No await from here to holdPlacement: every parallel create of this process sees the others' picks.
      for (const pulling of image !== undefined ? nodesGettingImage(endpoint, image) : []) holders.add(pulling);
      node = pickNode(resources, { inFlight: placementsInFlight(endpoint), holders });
    }
    if (!node) throw new PveHttpError({ status: 503, message: "no online node in /cluster/resources", method: "GET", path: "/cluster/resources" });
    if (inputs.node !== undefined && !isNodeOnline(resources, node)) {
      throw new PveHttpError({ status: 400, message: `node ${node} is not an online node of this cluster`, method: "GET", path: "/cluster/resources" });
    }
    const releases = [holdPlacement(endpoint, { node, memoryBytes: inputs.memory * 1024 ** 2, image })];
    try {
      return await placeAndCreate(client, inputs, resources, node, prefix, listings?.get(node), releases, candidate);
    } finally {
      for (const release of releases) release();
    }
  });
}

async function placeAndCreate(
  client: ProxmoxClient,
  inputs: ContainerInputs,
  resources: readonly ClusterResource[],
  node: string,
  prefix: string | undefined,
  listing: { storage: string; items: StorageContentItem[] } | undefined,
  releases: Array<() => void>,
  candidate: number | undefined,
): Promise<{ id: string; outs: ContainerOutputs }> {
  const clonedFrom = inputs.clone !== undefined ? findContainer(resources, inputs.clone) : undefined;
  if (inputs.clone !== undefined && !clonedFrom) {
    throw new PveHttpError({ status: 404, message: `clone source CT ${inputs.clone} does not exist`, method: "GET", path: "/cluster/resources" });
  }

  const listedStorages = storagesFromResources(resources, node);
  const storages = inputs.clone !== undefined && inputs.storage === undefined ? [] : listedStorages.length ? listedStorages : await nodeStorages(client, node);
  const storage = inputs.clone !== undefined && inputs.storage === undefined
    ? "(clone source)"
    : chooseStorage(storages, "rootdir", inputs.storage, ["local-lvm", "local-zfs", "local"]);
  if (!storage) {
    throw new PveHttpError({ status: 400, message: inputs.storage ? `storage ${inputs.storage} on ${node} does not hold container disks (rootdir)` : `no storage on ${node} holds container disks (rootdir)`, method: "GET", path: `${nodePath(node)}/storage` });
  }

  let ostemplate = inputs.template;
  let imageDigest: string | undefined;
  if (inputs.image !== undefined) {
    const templateStorage = chooseStorage(storages, "vztmpl", inputs.templateStorage, ["local"]);
    if (!templateStorage) {
      throw new PveHttpError({ status: 400, message: inputs.templateStorage ? `storage ${inputs.templateStorage} on ${node} does not hold templates (vztmpl)` : `no storage on ${node} holds templates (vztmpl) to pull ${inputs.image} into`, method: "GET", path: `${nodePath(node)}/storage` });
    }
    const image = inputs.imageCredentials
      ? await uploadImage(client, { node, storage: templateStorage, stem: ociFileStem(inputs.image), timeoutSeconds: inputs.timeouts.create, progress, list: () => vztmplContent(client, node, templateStorage) }, inputs.image, inputs.imageCredentials)
      : await resolveImage(client, node, templateStorage, inputs.image, inputs.timeouts.create, listing?.storage === templateStorage ? listing.items : undefined);
    ostemplate = image.volid;
    imageDigest = image.digest;
  }

  const identityTag = `${prefix ?? "lp-0000000000-"}${newClaim()}`;
  const known = new Set(resources.filter((r) => r.vmid !== undefined).map((r) => Number(r.vmid)));
  // One handoff instead of two: PVE starts the CT itself after the create (a template brings nothing to merge first).
  const startWithCreate = inputs.started && inputs.clone === undefined && inputs.image === undefined;
  const placement = await dispatchCreate(client, inputs, { node, storage, ostemplate, imageDigest, identityTag, cloneNode: clonedFrom?.node, startWithCreate, candidate }, known, releases);
  return finishCreate(client, inputs, placement, startWithCreate);
}

/**
 * `POST /lxc` (or `/clone`) with a VMID that survives parallel creates: within this process no two
 * creates pick the same id (claims); another process's create taking it first (`already exists`)
 * makes this one pick again, further on at random.
 */
async function dispatchCreate(
  client: ProxmoxClient,
  inputs: ContainerInputs,
  target: { node: string; storage: string; ostemplate?: string; imageDigest?: string; identityTag: string; cloneNode?: string; startWithCreate?: boolean; candidate?: number },
  known: ReadonlySet<number>,
  releases: Array<() => void>,
): Promise<Placement> {
  const endpoint = client.connection.endpoint;
  const refused = new Set<number>();
  if (inputs.vmid !== undefined) releases.push(claimVmid(endpoint, inputs.vmid));
  for (let attempt = 1; ; attempt++) {
    let vmid = inputs.vmid;
    const taken = (id: number) => claimedVmids(endpoint).has(id) || known.has(id) || refused.has(id);
    if (vmid === undefined && attempt === 1 && target.candidate !== undefined && !taken(target.candidate)) {
      // The identity-derived id: other stacks derive other ones, so none of them waits on `nextid`.
      vmid = target.candidate;
      releases.push(claimVmid(endpoint, vmid));
    } else if (vmid === undefined) {
      const next = Number(await client.get<string | number>("/cluster/nextid"));
      // Picked and claimed with no await in between, so the next create of this process skips it.
      vmid = pickVmid(next, taken, vmidJump(attempt));
      releases.push(claimVmid(endpoint, vmid));
    }
    const placement: Placement = { node: target.node, vmid, storage: target.storage, ostemplate: target.ostemplate, imageDigest: target.imageDigest, identityTag: target.identityTag };
    try {
      progress(`creating CT ${vmid} on ${target.node}`);
      if (inputs.clone !== undefined) {
        await client.runTask("POST", `${lxcPath(target.cloneNode!, inputs.clone)}/clone`, {
          newid: vmid, hostname: inputs.hostname, full: 1, target: target.cloneNode !== target.node ? target.node : undefined,
          storage: inputs.storage, pool: inputs.pool,
        }, { timeoutMs: inputs.timeouts.create * 1000 });
      } else {
        const params = renderCreateParams(inputs, { vmid, ostemplate: target.ostemplate!, storage: target.storage, identityTag: target.identityTag, fromImage: inputs.image !== undefined, start: target.startWithCreate });
        if (target.startWithCreate && inputs.waitForIp) {
          const dispatchedAt = Date.now();
          const upid = await client.post<unknown>(`${nodePath(target.node)}/lxc`, params);
          if (!isUpid(upid)) throw new PveTaskError({ upid: "(none)", exitstatus: `POST ${nodePath(target.node)}/lxc started no task: it answered ${JSON.stringify(upid)}`, log: [] });
          await client.learnTaskDurations(target.node, "vzcreate");
          const outcome = await waitCreatedStartedAddressed(client, inputs, target.node, vmid, upid, dispatchedAt, client.chainExpectation("vzcreate", "vzstart"));
          placement.start = outcome.start;
          placement.address = outcome.address;
        } else if (target.startWithCreate) {
          // The create and the start it forks, in one wait; a failed start is finishCreate's to report (the CT stays tracked).
          const { next, nextError } = await client.runTaskThen("POST", `${nodePath(target.node)}/lxc`, params, "vzstart", { timeoutMs: inputs.timeouts.create * 1000, nextTimeoutMs: inputs.timeouts.start * 1000 });
          placement.start = { next, nextError };
        } else {
          await client.runTask("POST", `${nodePath(target.node)}/lxc`, params, { timeoutMs: inputs.timeouts.create * 1000 });
        }
      }
      return placement;
    } catch (caught) {
      let error = caught;
      if (isAlreadyExists(error) && inputs.vmid === undefined) {
        refused.add(vmid);
        const wait = delay(attempt, new PveHttpError({ status: 500, message: "already exists", method: "POST", path: "" }), VMID_RACE_POLICY, { idempotent: false });
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        error = gaveUpOnVmid(error, attempt);
      }
      const outcome = await afterFailedDispatch(client, inputs, placement, error);
      if (outcome && typeof outcome === "object" && "carryOn" in outcome) return (outcome as { carryOn: Placement }).carryOn;
      throw outcome;
    }
  }
}

/** The error after the last `already exists`: says what was tried, with Proxmox's own last answer. */
function gaveUpOnVmid(error: unknown, attempts: number): LaunchpadError {
  const last = isLaunchpadError(error, "ERR_PVE_HTTP")
    ? [(error as PveHttpError).pveMessage, ...Object.values((error as PveHttpError).errors)].filter(Boolean).join(": ")
    : (error as Error).message;
  const http = isLaunchpadError(error, "ERR_PVE_HTTP") ? (error as PveHttpError) : undefined;
  return new PveHttpError(
    { status: http?.status ?? 500, message: `gave up finding a free VMID after ${attempts} attempts (last: ${last.trim()})`, method: http?.method ?? "POST", path: http?.path ?? "/nodes/{node}/lxc" },
    { cause: error },
  );
}

/**
 * A create that failed: when the container exists anyway (a dropped connection after Proxmox took the
 * request, a task that timed out) it must not be orphaned. Ours and still useful -> carry on is not
 * possible from here, so it is either removed or reported with its id.
 */
async function afterFailedDispatch(client: ProxmoxClient, inputs: ContainerInputs, placement: Placement, error: unknown): Promise<unknown> {
  // "already exists" made nothing: the VMID (a fixed one, or the last one tried) is someone else's, never to be
  // inspected as ours; a clone is "ours" by hostname alone, so a stranger's CT of that name there would be removed.
  if (isAlreadyExists(error)) return error;
  const tracked = (cause: unknown) => initFailed(cause, String(placement.vmid), outputsOf(inputs, placement, { status: "unknown" }));
  const configPath = `${lxcPath(placement.node, placement.vmid)}/config`;
  let config: LxcConfig;
  try {
    config = await client.get<LxcConfig>(configPath);
    // A config still locked by the create holds nothing but the lock: wait for the task to finish.
    if (config.lock && !isLaunchpadError(error, "ERR_PVE_TIMEOUT")) {
      await waitUnlocked(client, placement.node, placement.vmid, inputs.timeouts.create);
      config = await client.get<LxcConfig>(configPath);
    }
  } catch (lookup) {
    // Gone (Proxmox cleans up a failed create) or never made; otherwise it cannot be told: keep it tracked.
    return isGone(lookup) ? error : tracked(error);
  }
  if (isLaunchpadError(error, "ERR_PVE_TIMEOUT")) return tracked(error); // still being created
  const ours = inputs.clone !== undefined ? config.hostname === inputs.hostname : parseTags(config.tags).includes(placement.identityTag);
  if (!ours) return error;
  // Proxmox took the create and only the answer got lost: carry on with it.
  if (isLaunchpadError(error, "ERR_PVE_NETWORK")) return { carryOn: placement };
  return removeOrReport(client, inputs, placement, error);
}

/** Nothing worth keeping: destroy it; if even that fails, report its id so Pulumi tracks it. */
async function removeOrReport(client: ProxmoxClient, inputs: ContainerInputs, placement: Placement, error: unknown): Promise<unknown> {
  try {
    progress(`removing CT ${placement.vmid}: ${error instanceof Error ? error.message : String(error)}`);
    await destroyContainer(client, placement.node, placement.vmid, inputs.timeouts.delete);
    return error;
  } catch (cleanup) {
    progress(`could not remove CT ${placement.vmid}: ${(cleanup as Error).message}`);
    return initFailed(error, String(placement.vmid), outputsOf(inputs, placement, { status: "unknown" }));
  }
}

/** After the create task: config create could not take, start, address. Failures keep the container tracked. */
async function finishCreate(client: ProxmoxClient, inputs: ContainerInputs, placement: Placement, startedWithCreate = false): Promise<{ id: string; outs: ContainerOutputs }> {
  const id = String(placement.vmid);
  try {
    // A running CT's MAC comes with its `/interfaces`; the config is read only to merge into it or for a stopped CT.
    const needsConfig = inputs.clone !== undefined || inputs.image !== undefined || !inputs.started;
    const config = needsConfig ? await client.get<LxcConfig>(`${lxcPath(placement.node, placement.vmid)}/config`) : {} as LxcConfig;
    const hwaddr = config.net0 ? parseNet0(config.net0).hwaddr : undefined;
    // A clone or an image brings its own settings: bring them to the inputs in one PUT.
    if (inputs.clone !== undefined || inputs.image !== undefined) {
      await putConfig(client, placement, toConfigParams(config), desiredConfig(inputs, { hwaddr, identityTag: placement.identityTag }, config));
    }
    // Ours wins over what the image or clone brought (the PUT above wrote it).
    const init = { entrypoint: inputs.entrypoint ?? config.entrypoint };
    if (inputs.clone !== undefined) {
      placement.storage = config.rootfs?.split(":")[0] ?? placement.storage;
      const size = config.rootfs ? parseDiskSizeGiB(config.rootfs) : undefined;
      if (size !== undefined && inputs.diskSize > size) await resizeDisk(client, placement, inputs.diskSize);
    }
    if (inputs.clone !== undefined) placement.ostemplate = undefined;
    let state: { status: string } & Addresses = { status: "stopped", mac: hwaddr?.toUpperCase() };
    if (inputs.started) {
      if (startedWithCreate) await startedAfterCreate(client, placement, inputs.timeouts.start);
      else await startContainer(client, placement.node, placement.vmid, inputs.timeouts.start);
      state = { status: "running", mac: hwaddr?.toUpperCase() };
      if (placement.address?.error !== undefined) throw placement.address.error;
      const addresses = inputs.waitForIp
        ? placement.address?.found ?? await waitForAddress(client, placement.node, placement.vmid, inputs)
        : needsConfig ? {} : addressesOf(await client.get<LxcInterface[]>(`${lxcPath(placement.node, placement.vmid)}/interfaces`));
      state = { ...state, ...dropEmpty(addresses) };
    }
    progress(`CT ${placement.vmid} ready on ${placement.node}${state.ipv4 ? ` at ${state.ipv4}` : ""} (${kindOf(init.entrypoint)} container)`);
    return { id, outs: outputsOf(inputs, placement, state, init) };
  } catch (error) {
    throw initFailed(error, id, outputsOf(inputs, placement, { status: "unknown" }));
  }
}

const dropEmpty = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/**
 * A container whose create still runs: once its lock is gone, it is adopted if it carries this identity.
 * Gone meanwhile (a failed create is removed by PVE), or someone else's: undefined, and the create goes on.
 * Still locked after the create timeout: an error naming the lock, rather than a second container.
 */
async function adoptOnceCreated(client: ProxmoxClient, inputs: ContainerInputs, node: string, vmid: number, prefix: string) {
  const created = await unlockedConfig(client, node, vmid, inputs.timeouts.create)
    .catch((error: unknown) => { if (isGone(error)) return undefined; throw error; });
  if (!created || !carriesTagPrefix(created.tags, prefix)) return undefined;
  return adopt(client, inputs, node, vmid, prefix, created);
}

/** The config once no task holds the container's lock. */
async function unlockedConfig(client: ProxmoxClient, node: string, vmid: number, timeoutSeconds: number): Promise<LxcConfig> {
  await waitUnlocked(client, node, vmid, timeoutSeconds);
  return client.get<LxcConfig>(`${lxcPath(node, vmid)}/config`);
}

/** Finishes a container an earlier attempt of this create made (its config, when already read unlocked). */
async function adopt(client: ProxmoxClient, inputs: ContainerInputs, node: string, vmid: number, prefix: string, unlocked?: LxcConfig) {
  const config = unlocked ?? await unlockedConfig(client, node, vmid, inputs.timeouts.create);
  const size = config.rootfs ? parseDiskSizeGiB(config.rootfs) : undefined;
  // A larger disk cannot be shrunk to the inputs: that is the container a shrink replaces, not ours.
  if (size !== undefined && size > inputs.diskSize) return undefined;
  progress(`adopting CT ${vmid} on ${node}: it carries this resource's identity tag`);
  const identityTag = `${prefix}${newClaim()}`;
  const storage = config.rootfs?.split(":")[0];
  const placement: Placement = { node, vmid, storage: storage ?? inputs.storage ?? "", ostemplate: inputs.template, identityTag };
  if (inputs.image !== undefined) placement.ostemplate = undefined;
  const id = String(vmid);
  try {
    const hwaddr = config.net0 ? parseNet0(config.net0).hwaddr : undefined;
    // The new claim is written first: an older state entry for this container no longer matches it.
    await putConfig(client, placement, toConfigParams(config), desiredConfig(inputs, { hwaddr, identityTag }, config));
    const init = { entrypoint: inputs.entrypoint ?? config.entrypoint };
    if (size !== undefined && inputs.diskSize > size) await resizeDisk(client, placement, inputs.diskSize);
    let state: { status: string } & Addresses = { status: "stopped", mac: hwaddr?.toUpperCase() };
    if (inputs.started) {
      await startContainer(client, node, vmid, inputs.timeouts.start);
      state = { status: "running", mac: hwaddr?.toUpperCase() };
      if (inputs.waitForIp) state = { ...state, ...dropEmpty(await waitForAddress(client, node, vmid, inputs)) };
    }
    return { id, outs: outputsOf(inputs, placement, state, init) };
  } catch (error) {
    throw initFailed(error, id, outputsOf(inputs, placement, { status: "unknown" }));
  }
}

// --- config -------------------------------------------------------------------------------------------
/** The managed keys of a config as read back, in the same string form `renderConfig` produces. */
function toConfigParams(config: LxcConfig): PveParams {
  const out: PveParams = {};
  for (const key of ["hostname", "cores", "memory", "swap", "net0", "onboot", "tags", "nameserver", "searchdomain", "features", "env", "entrypoint", "description"] as const) {
    const value = config[key];
    if (value !== undefined && value !== null && value !== "") out[key] = typeof value === "boolean" ? (value ? 1 : 0) : (value as string | number);
  }
  return out;
}

/**
 * What the config should hold. With the `current` config, property strings keep the keys the
 * inputs do not own (`host-managed=1` that PVE put on an app container's NICs, above all). For an
 * image (or clone) the container's own env stays, ours merged over it, and its entrypoint stays
 * unless one is given.
 */
function desiredConfig(inputs: ContainerInputs, extra: { hwaddr?: string; identityTag?: string }, current?: LxcConfig, previous?: ContainerInputs): PveParams {
  const desired = renderConfig(inputs, extra);
  if (current) {
    for (const key of PROPERTY_STRING_KEYS) {
      const value = overlayPropertyString(key, current[key] ?? undefined, desired[key] === undefined ? undefined : String(desired[key]));
      if (value === undefined) delete desired[key];
      else desired[key] = value;
    }
  }
  if (current && (inputs.image !== undefined || inputs.clone !== undefined)) {
    const base = parseEnv(current.env);
    for (const key of Object.keys(previous?.env ?? {})) delete base[key];
    const merged = renderEnv({ ...base, ...inputs.env });
    if (merged) desired.env = merged;
    if (inputs.entrypoint === undefined && current.entrypoint) desired.entrypoint = current.entrypoint;
  }
  return desired;
}

/** One `PUT /config` with every change and every removal; none at all (undefined) when nothing differs. */
async function putConfig(client: ProxmoxClient, placement: { node: string; vmid: number }, before: PveParams, after: PveParams): Promise<{ set: PveParams; delete: string[] } | undefined> {
  const change = configChanges(before, after);
  if (Object.keys(change.set).length === 0 && change.delete.length === 0) return undefined;
  await client.put(`${lxcPath(placement.node, placement.vmid)}/config`, { ...change.set, delete: change.delete.length ? change.delete.join(",") : undefined });
  return change;
}

async function resizeDisk(client: ProxmoxClient, placement: { node: string; vmid: number }, diskSize: number): Promise<void> {
  progress(`growing CT ${placement.vmid}'s root disk to ${diskSize} GiB`);
  const result = await client.put<unknown>(`${lxcPath(placement.node, placement.vmid)}/resize`, { disk: "rootfs", size: `${diskSize}G` });
  if (typeof result === "string" && result.startsWith("UPID:")) await client.waitForTask(result);
}

async function startContainer(client: ProxmoxClient, node: string, vmid: number, timeoutSeconds: number): Promise<void> {
  try {
    await client.runTask("POST", `${lxcPath(node, vmid)}/status/start`, undefined, { timeoutMs: timeoutSeconds * 1000, redispatchOnLockTimeout: true });
  } catch (error) {
    if (!/already running/i.test((error as Error).message)) throw error;
  }
}

/**
 * `start=1`: the create task forked vm_start's own `vzstart` task as it ended (PVE::API2::LXC create_vm),
 * and the create's wait followed it (`runTaskThen`): a failed start fails this create as a separate start
 * would, the container tracked. A start not listed at all (archived elsewhere): starts it.
 */
async function startedAfterCreate(client: ProxmoxClient, placement: Placement, timeoutSeconds: number): Promise<void> {
  const { node, vmid } = placement;
  if (placement.start?.nextError !== undefined) throw placement.start.nextError;
  if (placement.start?.next) return;
  // Not waited on with the create (its answer was lost and the create carried on): look the start up, the one
  // begun after the newest create of this vmid (an earlier container of the same vmid has its own).
  const listed = placement.start ? [] : await client.nodeTasks(node, { vmid });
  const create = followUpOf(listed, "vzcreate", String(vmid), { starttime: 0, pstart: 0 });
  const start = create && followUpOf(listed, "vzstart", String(vmid), parseUpid(create.upid));
  if (start?.upid) await client.waitForTask(start.upid, { timeoutMs: timeoutSeconds * 1000 });
  else await startContainer(client, node, vmid, timeoutSeconds);
}

async function stopContainer(client: ProxmoxClient, node: string, vmid: number, timeoutSeconds: number): Promise<void> {
  try {
    await client.runTask("POST", `${lxcPath(node, vmid)}/status/shutdown`, { forceStop: 1, timeout: Math.max(1, Math.min(60, Math.floor(timeoutSeconds / 2))) }, { timeoutMs: timeoutSeconds * 1000, redispatchOnLockTimeout: true });
  } catch (error) {
    if (!/not running/i.test((error as Error).message)) throw error;
  }
}

// --- update --------------------------------------------------------------------------------------------
export async function updateContainer(id: string, olds: ContainerOutputs, oldInputs: ContainerInputs, inputs: ContainerInputs): Promise<{ outs: ContainerOutputs }> {
  const diff = diffInputs({ ...oldInputs, node: olds.node, vmid: olds.vmid, storage: olds.storage }, inputs);
  const changed = new Set(diff.fields.map((f) => f.field));
  // A container left stopped by a failed create (init errors) is not settled: the update starts it.
  const settled = olds.status === (inputs.started ? "running" : "stopped");
  if (settled && diff.fields.every((f) => f.class === "stateOnly")) {
    return { outs: { ...olds, ...jsonSafe(inputs), node: olds.node, vmid: olds.vmid, storage: olds.storage, schemaVersion: SCHEMA_VERSION } as ContainerOutputs };
  }
  return withClient(inputs, async (client) => {
    const vmid = olds.vmid ?? Number(id);
    const node = await currentNode(client, olds.node, vmid);
    const placement: Placement = {
      node, vmid, storage: olds.storage ?? inputs.storage ?? "", ostemplate: olds.ostemplate, imageDigest: olds.imageDigest,
      identityTag: olds.identityTag && inputs.identity ? `${await identityPrefix(inputs.identity, inputs)}${olds.identityTag.slice(-6)}` : olds.identityTag ?? "",
    };
    const hwaddr = olds.mac;
    const mergesEnv = (inputs.image !== undefined || inputs.clone !== undefined) && (changed.has("env") || changed.has("entrypoint"));
    const rendered = { before: renderConfig(oldInputs, { hwaddr, identityTag: olds.identityTag }), after: renderConfig(inputs, { hwaddr, identityTag: placement.identityTag }) };
    const rewritesPropertyString = PROPERTY_STRING_KEYS.some((key) => String(rendered.before[key]) !== String(rendered.after[key]));
    // The config is read first only when something must be kept from it: an image's own env, the
    // keys PVE set in a property string about to be rewritten, or (older state) what the container runs.
    const current = mergesEnv || rewritesPropertyString || olds.initCommand === undefined ? await client.get<LxcConfig>(`${lxcPath(node, vmid)}/config`) : undefined;
    const before = desiredConfig(oldInputs, { hwaddr, identityTag: olds.identityTag }, current);
    const after = desiredConfig(inputs, { hwaddr, identityTag: placement.identityTag }, current, oldInputs);
    if (current) {
      Object.assign(before, pickKeys(toConfigParams(current), ["env", "entrypoint"]));
      // What is there now, not what was rendered last time: a PVE-set key must not read as ours to remove.
      for (const key of PROPERTY_STRING_KEYS) {
        if (current[key]) before[key] = current[key]!;
        else delete before[key];
      }
    }
    if (inputs.image !== undefined && inputs.entrypoint === undefined) { delete before.entrypoint; delete after.entrypoint; }
    if (inputs.image !== undefined && !mergesEnv) { delete before.env; delete after.env; }
    const put = await putConfig(client, placement, before, after);
    const keptEntrypoint = current ? current.entrypoint : olds.initCommand === DEFAULT_INIT ? undefined : olds.initCommand;
    const init = { entrypoint: inputs.entrypoint ?? (put?.delete.includes("entrypoint") ? undefined : keptEntrypoint) };
    if (changed.has("diskSize") && inputs.diskSize > oldInputs.diskSize) await resizeDisk(client, placement, inputs.diskSize);

    let status = olds.status ?? "running";
    // A new network makes the recorded addresses stale: PVE applies a NIC change to a running CT at once
    // (PVE::LXC update_net, no pending entry), so a new static address holds without a restart.
    let addresses: Addresses = changed.has("network") ? { mac: olds.mac } : { ipv4: olds.ipv4, ipv6: olds.ipv6, mac: olds.mac };
    const needsRestartCheck = put !== undefined && diff.fields.some((f) => f.class === "restart") && inputs.started && status === "running";
    let restarted = false;
    if (needsRestartCheck) {
      const pending = await client.get<LxcPendingItem[]>(`${lxcPath(node, vmid)}/pending`);
      if (pending.some((item) => item.pending !== undefined || item.delete)) {
        progress(`restarting CT ${vmid} to apply ${diff.fields.filter((f) => f.class === "restart").map((f) => f.field).join(", ")}`);
        await client.runTask("POST", `${lxcPath(node, vmid)}/status/reboot`, undefined, { timeoutMs: inputs.timeouts.start * 1000, redispatchOnLockTimeout: true });
        restarted = true;
      }
    }
    if (changed.has("started") || (inputs.started && status !== "running")) {
      if (inputs.started) {
        await startContainer(client, node, vmid, inputs.timeouts.start);
        status = "running";
        restarted = true;
      } else {
        await stopContainer(client, node, vmid, inputs.timeouts.delete);
        status = "stopped";
        addresses = { mac: olds.mac };
      }
    }
    if ((restarted || changed.has("network")) && inputs.waitForIp && status === "running") {
      addresses = { ...addresses, ipv4: undefined, ipv6: undefined, ...dropEmpty(await waitForAddress(client, node, vmid, inputs)) };
    }
    return { outs: outputsOf(inputs, placement, { status, ...addresses }, init) };
  });
}

const pickKeys = (params: PveParams, keys: string[]): PveParams => Object.fromEntries(Object.entries(params).filter(([k]) => keys.includes(k)));

/** The node the container is on now: the recorded one, or (after a migration) wherever the cluster says. */
async function currentNode(client: ProxmoxClient, recorded: string | undefined, vmid: number): Promise<string> {
  if (recorded) {
    try {
      await client.get<LxcStatus>(`${lxcPath(recorded, vmid)}/status/current`);
      return recorded;
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }
  const found = findContainer(await clusterResources(client, "vm"), vmid);
  if (!found?.node) throw new PveHttpError({ status: 404, message: `CT ${vmid} does not exist`, method: "GET", path: "/cluster/resources" });
  return found.node;
}

// --- read ----------------------------------------------------------------------------------------------
export type ReadOutcome = { gone: true } | { gone: false; outs: ContainerOutputs };

export async function readContainer(id: string, olds: ContainerOutputs, oldInputs: ContainerInputs): Promise<ReadOutcome> {
  return withClient(oldInputs, async (client) => {
    const vmid = olds.vmid ?? Number(id);
    const found = findContainer(await clusterResources(client, "vm"), vmid);
    if (!found?.node) return { gone: true };
    const tags = parseTags(found.tags);
    // A different container that took over the VMID (or adopted this one under a new claim) is not ours.
    if (olds.identityTag && !tags.includes(olds.identityTag)) {
      progress(`CT ${vmid} no longer carries ${olds.identityTag}: treating this resource as gone`);
      return { gone: true };
    }
    const running = found.status === "running";
    // Independent reads, in parallel: the config, and the addresses of a running CT.
    const [read, interfaces] = await Promise.allSettled([
      client.get<LxcConfig>(`${lxcPath(found.node, vmid)}/config`),
      running ? client.get<LxcInterface[]>(`${lxcPath(found.node, vmid)}/interfaces`) : Promise.resolve([]),
    ]);
    if (read.status === "rejected") {
      if (isGone(read.reason)) return { gone: true };
      throw read.reason;
    }
    if (interfaces.status === "rejected") throw interfaces.reason;
    const config = read.value;
    const addresses = addressesOf(interfaces.value);
    const net = config.net0 ? parseNet0(config.net0) : undefined;
    const observedEnv = parseEnv(config.env);
    const observed: Partial<ContainerInputs> = {
      hostname: config.hostname ?? oldInputs.hostname,
      cores: config.cores ?? oldInputs.cores,
      memory: config.memory ?? oldInputs.memory,
      swap: config.swap ?? oldInputs.swap,
      diskSize: (config.rootfs && parseDiskSizeGiB(config.rootfs)) || oldInputs.diskSize,
      network: net?.network ?? oldInputs.network,
      nameserver: config.nameserver ? config.nameserver.split(/\s+/).filter(Boolean) : undefined,
      searchdomain: config.searchdomain ? config.searchdomain.split(/\s+/).filter(Boolean) : undefined,
      features: parseFeatures(config.features),
      // Only the user's variables: an image brings its own, which are not drift.
      env: Object.fromEntries(Object.keys(oldInputs.env).filter((k) => k in observedEnv).map((k) => [k, observedEnv[k]])),
      entrypoint: oldInputs.entrypoint === undefined ? undefined : config.entrypoint,
      tags: tags.filter((t) => !isOurIdentityTag(t)).sort(),
      description: config.description,
      onBoot: Boolean(Number(config.onboot ?? 0)),
      started: running,
      unprivileged: config.unprivileged === undefined ? oldInputs.unprivileged : Boolean(Number(config.unprivileged)),
    };
    const outs = {
      ...olds,
      ...jsonSafe(observed),
      nameserver: observed.nameserver,
      searchdomain: observed.searchdomain,
      entrypoint: observed.entrypoint,
      description: observed.description,
      node: found.node,
      status: found.status ?? "unknown",
      mac: net?.hwaddr?.toUpperCase() ?? olds.mac,
      ipv4: addresses.ipv4 ?? (net && typeof net.network.ipv4 === "object" ? stripPrefix(net.network.ipv4.address) : undefined),
      ipv6: addresses.ipv6,
      kind: kindOf(config.entrypoint),
      initCommand: initCommandOf(config.entrypoint),
      schemaVersion: SCHEMA_VERSION,
    } as ContainerOutputs;
    return { gone: false, outs: jsonSafe(outs) as unknown as ContainerOutputs };
  });
}

// --- delete --------------------------------------------------------------------------------------------
export async function deleteContainer(id: string, olds: ContainerOutputs, oldInputs: ContainerInputs): Promise<void> {
  await withClient(oldInputs, async (client) => {
    const vmid = olds.vmid ?? Number(id);
    const found = findContainer(await clusterResources(client, "vm"), vmid);
    if (!found?.node) {
      progress(`CT ${vmid} is already gone`);
      return;
    }
    if (olds.identityTag && !parseTags(found.tags).includes(olds.identityTag)) {
      progress(`CT ${vmid} no longer carries ${olds.identityTag} (another container, or adopted by a newer create): leaving it`);
      return;
    }
    await destroyContainer(client, found.node, vmid, oldInputs.timeouts.delete, found.status);
  });
}

/** Shutdown (forced after a grace period), then destroy with purge; "already gone" is success. */
export async function destroyContainer(client: ProxmoxClient, node: string, vmid: number, timeoutSeconds: number, status?: string): Promise<void> {
  try {
    if (status === undefined) status = (await client.get<LxcStatus>(`${lxcPath(node, vmid)}/status/current`)).status;
    if (status === "running") await stopContainer(client, node, vmid, timeoutSeconds);
    progress(`destroying CT ${vmid} on ${node}`);
    await client.runTask("DELETE", lxcPath(node, vmid), { purge: 1, "destroy-unreferenced-disks": 1 }, { idempotent: true, timeoutMs: timeoutSeconds * 1000, redispatchOnLockTimeout: true });
  } catch (error) {
    if (isGone(error)) return;
    throw error;
  }
}
