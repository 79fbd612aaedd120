// Changes on the proxy host, each in one SSH session under an exclusive flock, so that concurrent
// stacks never interleave their edits, their `nginx -t` or their port choices. A route file goes
// into place, nginx checks the whole configuration, and on failure the previous file comes back
// and nothing is reloaded: the routes already serving keep serving.

import { initFailed, isConnectionLost, isLaunchpadError, NginxTestError, SshExecError, ValidationError } from "../errors";
import { backoff, done, notYet, pollUntil } from "../poll";
import { shellQuote, shScript, withSshSession, type SshSession, type SshTarget } from "../ssh";
import { allocatePort, claimedStreamPorts, listeningPorts } from "./ports";
import { renderHtpasswd, sealAccess } from "./access";
import { waitForSshThroughRoute } from "./probe";
import { hostLayout, htpasswdPath, renderRoute, renderSharedHttpInclude, routeUrl, sha256 } from "./render";
import { SCHEMA_VERSION, type HttpRoute, type ProxyHost, type ProxyRouteInputs, type ProxyRouteOutputs } from "./schema";

export function sshTargetOf(proxy: ProxyHost): SshTarget {
  return {
    host: proxy.host,
    port: proxy.port,
    username: proxy.user,
    privateKey: proxy.privateKey,
    passphrase: proxy.passphrase,
    agent: proxy.agent,
    hostKeyFingerprint: proxy.hostKeyFingerprint,
  };
}

/** The natural key: which host, which file. */
export const routeId = (proxy: ProxyHost, configPath: string) => `${proxy.host}:${configPath}`;

function withProxyLock<T>(proxy: ProxyHost, work: (session: SshSession) => Promise<T>): Promise<T> {
  return withSshSession(sshTargetOf(proxy), (session) =>
    session.withLock(hostLayout(proxy).lockFile, () => work(session), { timeoutSeconds: proxy.lockTimeoutSeconds }),
  );
}

/** A command's failure output, or undefined when it exited 0. */
async function failureOf(session: SshSession, command: string): Promise<SshExecError | undefined> {
  try {
    await session.exec(command);
    return undefined;
  } catch (error) {
    if (isLaunchpadError(error, "ERR_SSH_EXEC")) return error as SshExecError;
    throw error;
  }
}

async function putBack(session: SshSession, path: string, previous: string | undefined): Promise<void> {
  if (previous === undefined) await session.exec(`rm -f -- ${shellQuote(path)}`);
  else await session.writeFileAtomic(path, previous);
}

/**
 * A file made on the proxy host that must not pass through this process (a private key): renamed
 * over `to` with the other edits, and put back like them when nginx refuses the result.
 */
export interface HostFileMove {
  readonly from: string;
  readonly to: string;
}

const PREVIOUS_SUFFIX = ".launchpad-previous";

async function moveInto(session: SshSession, move: HostFileMove): Promise<void> {
  const [from, to, kept] = [move.from, move.to, move.to + PREVIOUS_SUFFIX].map(shellQuote);
  await session.exec(shScript(`set -e; rm -f -- ${kept}; if [ -e ${to} ]; then ln -f -- ${to} ${kept}; fi; mv -f -- ${from} ${to}`));
}

async function moveBack(session: SshSession, move: HostFileMove): Promise<void> {
  const [to, kept] = [move.to, move.to + PREVIOUS_SUFFIX].map(shellQuote);
  await session.exec(shScript(`if [ -e ${kept} ]; then mv -f -- ${kept} ${to}; else rm -f -- ${to}; fi`));
}

/**
 * Puts `files` in place (content undefined = remove) and makes `moves`, then `nginx -t`, then
 * reload. Any failure puts every file back as it was and reloads nothing. Must run under the proxy lock.
 */
async function replaceFilesChecked(
  session: SshSession,
  proxy: ProxyHost,
  files: Map<string, string | undefined>,
  alreadyRead: Map<string, string | undefined> = new Map(),
  moves: readonly HostFileMove[] = [],
): Promise<void> {
  const previous = new Map<string, string | undefined>();
  const moved: HostFileMove[] = [];
  const rollBack = async () => {
    for (const [path, before] of previous) await putBack(session, path, before);
    for (const move of moved.reverse()) await moveBack(session, move);
  };
  try {
    for (const [path, content] of files) {
      const before = alreadyRead.has(path) ? alreadyRead.get(path) : await session.readFile(path);
      if (before === content) continue;
      previous.set(path, before);
      if (content === undefined) await session.exec(`rm -f -- ${shellQuote(path)}`);
      else await session.writeFileAtomic(path, content);
    }
    for (const move of moves) {
      await moveInto(session, move);
      moved.push(move);
    }
  } catch (error) {
    await rollBack();
    throw error;
  }
  // Nothing changed is still checked and reloaded: a run whose connection dropped between its write
  // and the reload left the file in place but not served, and this run must finish that job.
  const settle = async () => {
    for (const move of moved) await session.exec(`rm -f -- ${shellQuote(move.to + PREVIOUS_SUFFIX)}`);
  };
  const testFailure = await failureOf(session, proxy.testCommand);
  if (testFailure) {
    await rollBack();
    throw new NginxTestError(testFailure.stderr || testFailure.stdout, { context: { command: proxy.testCommand } });
  }
  const before = await workerGeneration(session, proxy.pidFile);
  const reloadFailure = await failureOf(session, proxy.reloadCommand);
  if (reloadFailure) {
    await rollBack();
    throw reloadFailure;
  }
  // `nginx -s reload` only signals the master. Until new workers run, the route is not served, and
  // a reload that fails late (a port it cannot bind) keeps the old configuration without a word.
  if (before !== undefined && !(await newWorkersStarted(session, proxy.pidFile, before))) {
    await rollBack();
    throw new NginxTestError(
      `nginx (master in ${proxy.pidFile}) did not start workers with the new configuration within ${RELOAD_CONFIRM_SECONDS} s; its error log says why (e.g. a port it cannot bind). The previous route files are back in place.`,
      { context: { command: proxy.reloadCommand }, stage: "reload" },
    );
  }
  await settle();
}

/**
 * The one way other resources edit the proxy host (AcmeCertificate's certificates and challenge
 * servers): under the proxy lock, checked by nginx, reloaded, rolled back on failure, as routes are.
 */
export async function editProxyHost(
  proxy: ProxyHost,
  files: Map<string, string | undefined>,
  moves: readonly HostFileMove[] = [],
): Promise<void> {
  await withProxyLock(proxy, async (session) => {
    await ensureDirectories(session, proxy);
    await replaceFilesChecked(session, proxy, files, new Map(), moves);
  });
}

const RELOAD_CONFIRM_SECONDS = 10;

/** The ids of the running nginx master's current workers, or undefined when `pidFile` names no live master. */
async function workerGeneration(session: SshSession, pidFile: string): Promise<string[] | undefined> {
  const { stdout } = await session.exec(shScript(
    `p=$(cat -- ${shellQuote(pidFile)} 2>/dev/null) && kill -0 "$p" 2>/dev/null || exit 0; echo master; ` +
      `ps -o pid=,args= --ppid "$p" | awk '$2=="nginx:" && $3=="worker" && $4=="process" && NF==4 {print $1}'`,
  ));
  const lines = stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  return lines[0] === "master" ? lines.slice(1) : undefined;
}

/** Probing for the new workers: a reload's take a few tens of ms to start; each probe is one exec on the open session. */
const RELOAD_POLL = backoff({ initialMs: 25, factor: 1.5, maxMs: 500 });

/** Waits (pollUntil, one exec per probe) until the master runs workers none of which is in `previous`; false after RELOAD_CONFIRM_SECONDS. */
async function newWorkersStarted(session: SshSession, pidFile: string, previous: string[]): Promise<boolean> {
  const old = new Set(previous);
  const gaveUp = new Error("no new workers");
  try {
    return await pollUntil(Date.now() + RELOAD_CONFIRM_SECONDS * 1000, async () => {
      // There was a master before the reload: a pid file gone, empty or naming no live process now (a restart
      // that has not come back, or never will) is no nginx serving the route yet, so it is waited for too.
      const workers = await workerGeneration(session, pidFile);
      return workers !== undefined && workers.length > 0 && workers.every((pid) => !old.has(pid)) ? done(true) : notYet();
    }, RELOAD_POLL, { timeout: () => gaveUp });
  } catch (error) {
    if (error === gaveUp) return false;
    throw error;
  }
}

async function ensureDirectories(session: SshSession, proxy: ProxyHost): Promise<void> {
  const layout = hostLayout(proxy);
  await session.exec(`mkdir -p -- ${shellQuote(layout.httpDir)} ${shellQuote(layout.streamDir)}`);
}

/** Every stream route file's text, to see which ports they claim (hand-written ones included). */
async function streamRouteFiles(session: SshSession, proxy: ProxyHost): Promise<string[]> {
  const dir = shellQuote(hostLayout(proxy).streamDir);
  const { stdout } = await session.exec(shScript(`for f in ${dir}/*.conf; do [ -f "$f" ] && cat -- "$f"; echo; done; true`));
  return [stdout];
}

async function portsListening(session: SshSession, protocol: "tcp" | "udp"): Promise<Set<number>> {
  const { stdout } = await session.exec(protocol === "tcp" ? "ss -Hlnt" : "ss -Hlnu");
  return listeningPorts(stdout);
}

/** The htpasswd file a route with basic auth needs, hashed on the host; a route without it needs none. */
async function accessFiles(session: SshSession, proxy: ProxyHost, route: HttpRoute | undefined): Promise<[string, string | undefined][]> {
  if (!route) return [];
  const path = htpasswdPath(proxy, route.hostname);
  if (!route.access?.basicAuth) return [[path, undefined]];
  await session.exec(`mkdir -p -- ${shellQuote(`${proxy.confDir}/auth`)}`);
  return [[path, await renderHtpasswd(session, route.access.basicAuth.users)]];
}

function outputsFor(inputs: ProxyRouteInputs, port: number | undefined, path: string, content: string, previous?: ProxyRouteOutputs, htpasswd?: string): ProxyRouteOutputs {
  // Passwords never reach state: outputs keep a verifier in their place.
  const http = inputs.http && { ...inputs.http, access: sealAccess(inputs.http.access, previous?.http?.access) };
  return {
    ...inputs,
    ...(http ? { http } : {}),
    schemaVersion: SCHEMA_VERSION,
    ...(inputs.http ? { url: routeUrl(inputs.proxy, inputs.http) } : { port }),
    configPath: path,
    configSha256: sha256(content),
    ...(htpasswd === undefined ? {} : { htpasswdSha256: sha256(htpasswd) }),
  };
}

/** The htpasswd text among the files a write puts in place (none without basic auth). */
const htpasswdOf = (inputs: ProxyRouteInputs, files: Map<string, string | undefined>) =>
  inputs.http ? files.get(htpasswdPath(inputs.proxy, inputs.http.hostname)) : undefined;

function sharedFiles(inputs: ProxyRouteInputs): [string, string][] {
  return inputs.http ? [[hostLayout(inputs.proxy).sharedHttpInclude, renderSharedHttpInclude()]] : [];
}

export async function createRoute(inputs: ProxyRouteInputs): Promise<{ id: string; outs: ProxyRouteOutputs }> {
  const { proxy } = inputs;
  const created = await withProxyLock(proxy, async (session) => {
    await ensureDirectories(session, proxy);
    let port: number | undefined;
    if (inputs.stream) {
      const stream = inputs.stream;
      const claimed = claimedStreamPorts(await streamRouteFiles(session, proxy))[stream.protocol];
      const listening = await portsListening(session, stream.protocol);
      if (stream.listenPort !== undefined) {
        port = stream.listenPort;
        const ownFile = renderRoute(inputs, port);
        const existing = await session.readFile(ownFile.path);
        if (existing !== ownFile.content && (claimed.has(port) || listening.has(port))) {
          throw new ValidationError([{ property: "stream.listenPort", reason: `${stream.protocol} port ${port} is already in use on ${proxy.host}` }]);
        }
      } else {
        const range = stream.portRange!;
        port = allocatePort(range, new Set([...claimed, ...listening]));
        if (port === undefined) {
          throw new ValidationError([{ property: "stream.portRange", reason: `no free ${stream.protocol} port in ${range.from}-${range.to} on ${proxy.host}` }]);
        }
      }
    }
    const { path, content } = renderRoute(inputs, port);
    const existing = await session.readFile(path);
    // The same text is this route's own file from an interrupted run: adopt it. Other text is someone else's.
    if (existing !== undefined && existing !== content && inputs.http) {
      throw new ValidationError([{ property: "http.hostname", reason: `${inputs.http.hostname} is already routed on ${proxy.host} by another route (${path})` }]);
    }
    const files = new Map([...sharedFiles(inputs), ...(await accessFiles(session, proxy, inputs.http)), [path, content]]);
    const result = { id: routeId(proxy, path), outs: outputsFor(inputs, port, path, content, undefined, htpasswdOf(inputs, files)) };
    try {
      await replaceFilesChecked(session, proxy, files, new Map([[path, existing]]));
    } catch (error) {
      throw connectionLostAfterWrite(error, result.id, result.outs);
    }
    return result;
  });
  await expectSsh(created.id, created.outs);
  return created;
}

/**
 * A connection lost while the route's files were being put in place leaves them there with nothing
 * to roll them back: report the id (ErrorResourceInitFailed) so Pulumi tracks the route, and the
 * next up finishes it or the next destroy removes it. Any other failure was rolled back.
 */
function connectionLostAfterWrite(error: unknown, id: string, outs: ProxyRouteOutputs): unknown {
  return isConnectionLost(error) ? initFailed(error, id, outs) : error;
}

/**
 * An SSH route counts as working only once an SSH server answers through it. The route file is in
 * place by then: a failure reports its id (ErrorResourceInitFailed), so Pulumi keeps tracking it.
 */
async function expectSsh(id: string, outs: ProxyRouteOutputs): Promise<void> {
  const ssh = outs.stream?.ssh;
  if (!ssh || ssh.timeoutSeconds === 0 || outs.port === undefined) return;
  try {
    await waitForSshThroughRoute(outs.proxy, outs.port, outs.stream!.target, ssh.timeoutSeconds);
  } catch (error) {
    throw initFailed(error, id, outs);
  }
}

export async function updateRoute(olds: ProxyRouteOutputs, inputs: ProxyRouteInputs): Promise<ProxyRouteOutputs> {
  const port = inputs.stream ? olds.port : undefined;
  const { path, content } = renderRoute(inputs, port);
  const htpasswd = await withProxyLock(inputs.proxy, async (session) => {
    await ensureDirectories(session, inputs.proxy);
    const files = new Map([...sharedFiles(inputs), ...(await accessFiles(session, inputs.proxy, inputs.http)), [path, content]]);
    await replaceFilesChecked(session, inputs.proxy, files);
    return htpasswdOf(inputs, files);
  });
  const outs = outputsFor(inputs, port, path, content, olds, htpasswd);
  await expectSsh(routeId(inputs.proxy, path), outs);
  return outs;
}

/** The route as it is on the host now: gone (undefined), or with the hash of what the file holds. */
export async function readRoute(stored: ProxyRouteOutputs): Promise<ProxyRouteOutputs | undefined> {
  return withSshSession(sshTargetOf(stored.proxy), async (session) => {
    const content = await session.readFile(stored.configPath);
    if (content === undefined) return undefined;
    // A missing htpasswd file leaves the route refusing everyone: record drift so that `up` writes it again.
    const http = stored.http;
    if (http?.access?.basicAuth) {
      const htpasswd = await session.readFile(htpasswdPath(stored.proxy, http.hostname));
      if (htpasswd === undefined) return { ...stored, configSha256: "htpasswd-missing" };
      // Users or hashes changed by hand (a password reset, a user added) are drift too: `up` writes ours again.
      if (stored.htpasswdSha256 && sha256(htpasswd) !== stored.htpasswdSha256) return { ...stored, configSha256: "htpasswd-changed" };
    }
    return { ...stored, configSha256: sha256(content) };
  });
}

/** Removes the route; a route already gone is success, anything else that fails is an error. */
export async function deleteRoute(stored: ProxyRouteOutputs): Promise<void> {
  await withProxyLock(stored.proxy, async (session) => {
    const files = new Map<string, string | undefined>([[stored.configPath, undefined]]);
    if (stored.http) files.set(htpasswdPath(stored.proxy, stored.http.hostname), undefined);
    await replaceFilesChecked(session, stored.proxy, files);
  });
}
