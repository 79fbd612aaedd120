// Turns checked inputs and stored state into backend calls; the hooks in index.ts only route here.
import { isLaunchpadError, DnsUpdateError, redact, registerSecret } from "../errors";
import { RecordSetBackend } from "./backend";
import { PowerDnsBackend } from "./powerdns";
import { Rfc2136Backend } from "./rfc2136";
import { withZoneLock } from "./zoneLock";
import { DnsRecordArgs, DnsRecordInputs, DnsRecordOutputs, DnsServer, recordSetId, recordSetOf, SCHEMA_VERSION } from "./schema";

export function backendFor(server: DnsServer): RecordSetBackend {
  return server.kind === "powerdns" ? new PowerDnsBackend(server) : new Rfc2136Backend(server);
}

/** Every secret a DnsRecord carries, registered before anything can put it into a message. */
export function registerServerSecrets(props: Record<string, unknown> | undefined): void {
  const server = props?.server as { apiKey?: unknown; tsig?: { secret?: unknown } } | undefined;
  if (typeof server?.apiKey === "string") registerSecret(server.apiKey);
  if (typeof server?.tsig?.secret === "string") registerSecret(server.tsig.secret);
}

/** Errors leave the provider as LaunchpadErrors with secrets cut out, whatever threw them. */
export async function guarded<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isLaunchpadError(error)) throw error;
    throw new DnsUpdateError(`${action}: ${redact(error instanceof Error ? error.message : String(error))}`, { cause: error });
  }
}

export function outputsOf(inputs: DnsRecordInputs): DnsRecordOutputs {
  return { ...inputs, fqdn: recordSetOf(inputs).fqdn, schemaVersion: SCHEMA_VERSION };
}

/**
 * Stored state of any version: today's shape is the inputs plus `fqdn` and `schemaVersion`.
 * Fields added later must get defaults here so that old stacks still refresh and destroy.
 */
export function parseState(props: Record<string, unknown>): DnsRecordInputs {
  return DnsRecordArgs.parse({ ...props, ttl: props.ttl ?? 300, overwrite: props.overwrite ?? false });
}

export async function createRecord(inputs: DnsRecordInputs): Promise<{ id: string; outs: DnsRecordOutputs }> {
  const set = recordSetOf(inputs);
  await withZoneLock(set.zone, () => backendFor(inputs.server).create(set, inputs.overwrite));
  return { id: recordSetId(set), outs: outputsOf(inputs) };
}

export async function readRecord(state: DnsRecordInputs): Promise<DnsRecordInputs | undefined> {
  const set = recordSetOf(state);
  const served = await backendFor(state.server).lookup(set);
  if (!served) return undefined;
  return { ...state, ttl: served.ttl, values: served.values };
}

export async function updateRecord(owned: DnsRecordInputs, next: DnsRecordInputs): Promise<DnsRecordOutputs> {
  const before = recordSetOf(owned);
  const after = recordSetOf(next);
  const unchanged = before.ttl === after.ttl && JSON.stringify(before.values) === JSON.stringify(after.values);
  // Credentials, address or `overwrite` alone change nothing on the server.
  if (!unchanged) await withZoneLock(after.zone, () => backendFor(next.server).replace(before, after, next.overwrite));
  return outputsOf(next);
}

export async function deleteRecord(owned: DnsRecordInputs): Promise<void> {
  const set = recordSetOf(owned);
  await withZoneLock(set.zone, () => backendFor(owned.server).remove(set));
}
