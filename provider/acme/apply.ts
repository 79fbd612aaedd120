// Issues a certificate from any ACME (RFC 8555) server with acme-client. The private key is made
// on the proxy host with openssl and never leaves it: only the CSR comes back over SSH. Challenge
// files and records are removed afterwards whatever happened; the certificate goes into place
// through the proxy's locked edit path (nginx -t, reload, roll back on failure).

import { createHash, generateKeyPairSync, X509Certificate } from "crypto";
import * as https from "https";
import * as acme from "acme-client";
import { AcmeError, initFailed, isConnectionLost, isLaunchpadError, registerSecret } from "../errors";
import { DEFAULT_RETRY_POLICY, retrying, TLS_VERIFICATION_CODES, type RetryPolicy } from "../retry";
import { backendFor, registerServerSecrets } from "../dns/apply";
import { canonicalSet, parseTxt } from "../dns/rdata";
import type { RecordSet } from "../dns/schema";
import { withZoneLock } from "../dns/zoneLock";
import { editProxyHost, sshTargetOf } from "../proxy/apply";
import { acmeChallengeServerPath, acmeTokenPath, hostLayout, renderAcmeChallengeServer } from "../proxy/render";
import { shellQuote, shScript, withSshSession, type SshSession } from "../ssh";
import {
  baseName, certificatePaths, SCHEMA_VERSION,
  type AcmeCertificateInputs, type AcmeCertificateOutputs,
} from "./schema";

/** Polling a challenge or an order: quick first looks, then up to 10 s apart (acme-client's backoff). */
const BACKOFF = { backoffAttempts: 12, backoffMin: 500, backoffMax: 10_000 };

const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/** An HTTP-01 token names a file in nginx's webroot: only base64url (RFC 8555 §8.3), so it cannot climb out of it. */
export function checkedToken(token: string): string {
  if (!TOKEN.test(token)) throw new AcmeError(`the ACME server sent a token that is not base64url: ${token.slice(0, 40)}`);
  return token;
}

const KEY_COMMANDS: Record<AcmeCertificateInputs["keyType"], string> = {
  "ec-p256": "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
  "ec-p384": "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384",
  "rsa-2048": "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
  "rsa-4096": "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096",
};

// The directory's TLS certificate is checked against `directoryCa` for that origin only; every
// other origin keeps the system's CAs. acme-client shares one axios instance, hence one hook.
const pinnedAgents = new Map<string, https.Agent>();
let pinHookInstalled = false;

function pinDirectoryCa(directoryUrl: string, ca: string | undefined): void {
  const origin = new URL(directoryUrl).origin;
  if (!ca) { pinnedAgents.delete(origin); return; }
  pinnedAgents.set(origin, new https.Agent({ ca, keepAlive: false }));
  if (pinHookInstalled) return;
  pinHookInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    const agent = config.url ? pinnedAgents.get(new URL(config.url).origin) : undefined;
    if (agent) config.httpsAgent = agent;
    return config;
  });
}

/** A refused or reset connection to the directory is tried again briefly (about 3 s in all); a TLS failure or a silent server is not. */
const DIRECTORY_RETRY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, limit: 3, baseDelayMs: 500, maxDelayMs: 2_000, jitter: 0.2 };

/**
 * Fails early, naming the directory, when it cannot be reached or its TLS certificate does not verify
 * (against `directoryCa` or the system's CAs). acme-client retries a request without a response five
 * times over 75 s and then fails with a TypeError ("reading 'config'") that names neither. A connection
 * refused or reset (a directory restarting) is tried again for a few seconds, as acme-client would.
 */
async function directoryTrusted(directoryUrl: string): Promise<void> {
  const agent = pinnedAgents.get(new URL(directoryUrl).origin) ?? new https.Agent({ keepAlive: false });
  await retrying(() => new Promise<void>((resolve, reject) => {
    const request = https.get(directoryUrl, { agent }, (response) => { clearTimeout(deadline); response.resume(); resolve(); });
    // A deadline, not the socket's idle timeout: under TLS that fires only after twice its time (Node 20).
    const deadline = setTimeout(() => request.destroy(Object.assign(new Error("no answer within 30 s"), { code: "ETIMEDOUT" })), 30_000);
    request.on("error", (error) => { clearTimeout(deadline); reject(error); });
  }).catch((error: NodeJS.ErrnoException) => {
    const untrusted = TLS_VERIFICATION_CODES.includes(error.code ?? "");
    const reason = untrusted
      ? `its TLS certificate is not trusted (${error.message}); give the CA it chains to as directoryCa`
      : `not reachable (${error.message})`;
    throw new AcmeError(`ACME directory ${directoryUrl}: ${reason}`, { cause: error, context: { transient: !untrusted && error.code !== "ETIMEDOUT" } });
  }), { idempotent: true }, DIRECTORY_RETRY);
}

export function registerCertificateSecrets(props: Record<string, unknown> | undefined): void {
  if (!props) return;
  if (typeof props.accountKey === "string") registerSecret(props.accountKey);
  const proxy = props.proxy as { privateKey?: unknown; passphrase?: unknown } | undefined;
  if (typeof proxy?.privateKey === "string") registerSecret(proxy.privateKey);
  if (typeof proxy?.passphrase === "string") registerSecret(proxy.passphrase);
  registerServerSecrets(props.dns as Record<string, unknown> | undefined);
}

export const certificateId = (inputs: AcmeCertificateInputs) => `${inputs.proxy.host}:${certificatePaths(inputs).certificatePath}`;

/** Facts of the leaf (first) certificate of a PEM chain. */
export function describeCertificate(pem: string): Pick<AcmeCertificateOutputs, "notBefore" | "notAfter" | "serialNumber" | "issuer" | "certificateSha256"> {
  const leaf = new X509Certificate(pem);
  return {
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    serialNumber: leaf.serialNumber,
    issuer: leaf.issuer.replace(/\n/g, ", "),
    certificateSha256: sha256(pem),
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Makes a fresh key at `keyFile` on the proxy host (mode 0600) and returns its CSR; the key stays there. */
async function keyAndCsrOnHost(session: SshSession, inputs: AcmeCertificateInputs, keyFile: string): Promise<string> {
  const dir = keyFile.slice(0, keyFile.lastIndexOf("/"));
  // A CN holds at most 64 characters; ACME servers read the names from subjectAltName anyway.
  const subject = inputs.hostname.length <= 64 ? `/CN=${inputs.hostname}` : "/";
  const { stdout } = await session.exec(shScript(
    `set -e; umask 077; mkdir -p -- ${shellQuote(dir)}; ${KEY_COMMANDS[inputs.keyType]} -out ${shellQuote(keyFile)} 2>/dev/null; ` +
      `openssl req -new -key ${shellQuote(keyFile)} -subj ${shellQuote(subject)} -addext ${shellQuote(`subjectAltName=DNS:${inputs.hostname}`)}`,
  ));
  if (!stdout.includes("-----BEGIN CERTIFICATE REQUEST-----")) throw new AcmeError(`openssl on ${inputs.proxy.host} printed no CSR`);
  return stdout;
}

/** HTTP-01: the key authorization in nginx's webroot, and a challenge-only server when no route serves the name yet. */
async function withHttpChallenge<T>(inputs: AcmeCertificateInputs, token: string, keyAuthorization: string, validate: () => Promise<T>): Promise<T> {
  const { proxy, hostname } = inputs;
  const tokenPath = acmeTokenPath(proxy, checkedToken(token));
  const routeFile = `${hostLayout(proxy).httpDir}/${hostname}.conf`;
  const serverFile = acmeChallengeServerPath(proxy, hostname);
  const routeServes = await withSshSession(sshTargetOf(proxy), async (session) => {
    await session.exec(`mkdir -p -- ${shellQuote(tokenPath.slice(0, tokenPath.lastIndexOf("/")))}`);
    await session.writeFileAtomic(tokenPath, keyAuthorization);
    return (await session.readFile(routeFile))?.includes("/.well-known/acme-challenge/") === true;
  });
  try {
    if (!routeServes) await editProxyHost(proxy, new Map([[serverFile, renderAcmeChallengeServer(proxy, hostname)]]));
    return await validate();
  } finally {
    await withSshSession(sshTargetOf(proxy), (session) => session.exec(`rm -f -- ${shellQuote(tokenPath)}`));
    if (!routeServes) await editProxyHost(proxy, new Map([[serverFile, undefined]]));
  }
}

/**
 * DNS-01: our TXT value added beside any others at `_acme-challenge.<name>`, and only ours removed after.
 * Beside others, the set keeps its TTL: one set has one TTL, and theirs stays as they made it.
 */
async function withDnsChallenge<T>(inputs: AcmeCertificateInputs, identifier: string, digest: string, validate: () => Promise<T>): Promise<T> {
  const dns = inputs.dns!;
  const backend = backendFor(dns.server);
  const value = (parseTxt(digest) as { value: string }).value;
  const set: RecordSet = { zone: dns.zone, fqdn: `_acme-challenge.${identifier}`, type: "TXT", ttl: dns.ttl, values: [value] };
  let added = false;
  try {
    await withZoneLock(set.zone, async () => {
      const served = await backend.lookup(set);
      if (!served) await backend.create(set, false);
      else await backend.replace({ ...set, ttl: served.ttl, values: served.values }, { ...set, ttl: served.ttl, values: canonicalSet([...served.values, value]) }, true);
      added = true;
    });
    return await validate();
  } finally {
    if (added) await withZoneLock(set.zone, () => backend.remove(set));
  }
}

function acmeFailure(action: string, error: unknown): never {
  if (isLaunchpadError(error)) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new AcmeError(`${action}: ${message}`, { cause: error });
}

/**
 * Orders, validates and installs a certificate for `inputs.hostname`. `previous` (an update) lends
 * its account; the certificate and key paths stay the same, so routes using them need no change.
 */
export async function issueCertificate(inputs: AcmeCertificateInputs, previous?: AcmeCertificateOutputs): Promise<AcmeCertificateOutputs> {
  const accountKey = inputs.accountKey ?? previous?.accountKey ?? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  registerSecret(accountKey);
  const sameAccount = previous !== undefined && previous.accountKey === accountKey && previous.directoryUrl === inputs.directoryUrl;
  const { certificatePath, keyPath } = certificatePaths(inputs);
  const nextKey = `${keyPath}.next`;
  pinDirectoryCa(inputs.directoryUrl, inputs.directoryCa);
  await directoryTrusted(inputs.directoryUrl);
  const client = new acme.Client({ directoryUrl: inputs.directoryUrl, accountKey, accountUrl: sameAccount ? previous!.accountUrl : undefined, ...BACKOFF });
  const target = sshTargetOf(inputs.proxy);
  const csr = await withSshSession(target, (session) => keyAndCsrOnHost(session, inputs, nextKey));
  try {
    await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${inputs.email}`] }).catch((e) => acmeFailure(`ACME account at ${inputs.directoryUrl}`, e));
    const order = await client.createOrder({ identifiers: [{ type: "dns", value: inputs.hostname }] }).catch((e) => acmeFailure(`ACME order for ${inputs.hostname}`, e));
    const authorizations = await client.getAuthorizations(order);
    for (const authorization of authorizations) {
      if (authorization.status === "valid") continue;
      const challenge = authorization.challenges.find((c) => c.type === inputs.challenge);
      if (!challenge) throw new AcmeError(`${inputs.directoryUrl} offers no ${inputs.challenge} challenge for ${inputs.hostname} (it offers ${authorization.challenges.map((c) => c.type).join(", ")})`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      const validate = async () => {
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      };
      const name = baseName(authorization.identifier.value);
      await (inputs.challenge === "http-01"
        ? withHttpChallenge(inputs, challenge.token, keyAuthorization, validate)
        : withDnsChallenge(inputs, name, keyAuthorization, validate)
      ).catch((e) => acmeFailure(`${inputs.challenge} validation of ${inputs.hostname}`, e));
    }
    const finalized = await client.finalizeOrder(order, csr).catch((e) => acmeFailure(`ACME finalization for ${inputs.hostname}`, e));
    const chain = await client.getCertificate(finalized);
    const facts = describeCertificate(chain);
    const outs: AcmeCertificateOutputs = {
      ...inputs,
      schemaVersion: SCHEMA_VERSION,
      certificatePath,
      keyPath,
      accountKey,
      accountUrl: client.getAccountUrl(),
      ...facts,
      issuedSha256: facts.certificateSha256,
    };
    // The new key and its certificate go into place together; nginx checks the pair before the reload.
    await editProxyHost(inputs.proxy, new Map([[certificatePath, chain]]), [{ from: nextKey, to: keyPath }])
      .catch((error) => { throw installInterrupted(error, certificateId(inputs), outs); });
    return outs;
  } finally {
    // After a successful install the key was moved; after a failure it is no use to anyone.
    await withSshSession(target, (session) => session.exec(`rm -f -- ${shellQuote(nextKey)}`));
  }
}

/**
 * A connection lost while the certificate and key were being put in place leaves them there (or half
 * there) with nothing to roll them back: report the id (ErrorResourceInitFailed) so Pulumi tracks the
 * files, marked as drift so the next up issues the pair again in place, and the next destroy removes
 * them. Any other failure was rolled back by the nginx -t check.
 */
function installInterrupted(error: unknown, id: string, outs: AcmeCertificateOutputs): unknown {
  return isConnectionLost(error) ? initFailed(error, id, { ...outs, certificateSha256: INSTALL_INTERRUPTED }) : error;
}

/** What state says of a certificate whose install was cut: never a real SHA-256, so the next diff reissues. */
const INSTALL_INTERRUPTED = "install-interrupted";

/**
 * The certificate as the host holds it now: undefined when both it and its key are gone; drift (a
 * hash that is not the issued one) when only one of them is, so the next up puts the pair back and a
 * destroy removes what is left, rather than a refresh forgetting a file still on the host.
 */
export async function readCertificate(stored: AcmeCertificateOutputs): Promise<AcmeCertificateOutputs | undefined> {
  return withSshSession(sshTargetOf(stored.proxy), async (session) => {
    const chain = await session.readFile(stored.certificatePath);
    const { code } = await session.exec(shScript(`[ -e ${shellQuote(stored.keyPath)} ]`), { okExitCodes: [0, 1] });
    if (chain === undefined && code !== 0) return undefined;
    if (chain === undefined) return { ...stored, certificateSha256: "certificate-missing" };
    if (code !== 0) return { ...stored, certificateSha256: "key-missing" };
    try {
      return { ...stored, ...describeCertificate(chain) };
    } catch {
      // Something that is not a certificate: drift, which the next `up` replaces with a fresh one.
      return { ...stored, certificateSha256: sha256(chain) };
    }
  });
}

/** Removes certificate and key. nginx -t refuses while a route still uses them, and then nothing is removed. */
export async function deleteCertificate(stored: AcmeCertificateOutputs): Promise<void> {
  await editProxyHost(stored.proxy, new Map([[stored.certificatePath, undefined]]));
  await withSshSession(sshTargetOf(stored.proxy), (session) =>
    session.exec(`rm -f -- ${shellQuote(stored.keyPath)} ${shellQuote(`${stored.keyPath}.next`)}`));
}
