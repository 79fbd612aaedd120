// The inputs of a ContainerDeployment: where to log in, what to run, and when to run it again.
// The single source of truth for their shape and defaults; `check` runs `parseDeploymentInputs`.

import { z } from "zod";
import type { FieldProblem } from "../errors";
import { ProxyHostSchema, initCommand, passphrase } from "../proxy/schema";
import { UNKNOWN } from "../hostValues";
import { sshUnavailableReason } from "../container/kind";
import { envRecord, hostAddress, problemsOf } from "../check";

/** What the engine sends, during preview, for a value that is not known yet. */
export { UNKNOWN };

/** Bumped when the shape of outputs changes; older state is still read leniently. */
export const SCHEMA_VERSION = 1;

export const DEFAULT_USER = "root";
export const DEFAULT_SSH_PORT = 22;
/** A container that was started a moment ago needs a few seconds before sshd answers. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 120;

const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

const host = hostAddress;
const port = z.number().int("must be a whole number").min(1, "must be 1-65535").max(65535, "must be 1-65535");
const fingerprint = z
  .string()
  .transform((value) => value.replace(/=+$/, ""))
  .pipe(z.string().regex(FINGERPRINT, "must read SHA256:<43 base64 characters>, as `ssh-keygen -lf` prints it"));
const privateKey = z.string().regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "must be a PEM or OpenSSH private key");

/** The SSH host the connection goes through (the proxy host, usually): the same settings as a ProxyRoute's `proxy`. */
export const JumpHostSchema = ProxyHostSchema.pick({
  host: true,
  port: true,
  user: true,
  privateKey: true,
  passphrase: true,
  agent: true,
  hostKeyFingerprint: true,
});

export const DeploymentInputsSchema = z.strictObject({
  /** The container's address, as the machine running Pulumi (or the jump host) reaches it. */
  host,
  port: port.default(DEFAULT_SSH_PORT),
  user: z.string().regex(USERNAME, "must be a user name: letters, digits, '_', '.', '-'").default(DEFAULT_USER),
  privateKey,
  passphrase: passphrase.optional(),
  /** Run in order, each in its own `sh -c`; the first failure stops the deployment. */
  // MAX_ARG_STRLEN (128 KiB): the longest single string a shell command line can carry.
  commands: z.array(z.string().min(1, "must not be empty").max(131_072, "must be at most 131072 characters").refine((c) => !c.includes("\0"), "must not contain NUL")).min(1, "must hold at least one command"),
  /** Any text that changes when the code does (a commit SHA): a new value runs the commands again. */
  revision: z.string().max(1024, "must be at most 1024 characters").optional(),
  /** Exported to every command; sent over the SSH channel's stdin, never on a command line. */
  env: envRecord.default({}),
  /** The container's VMID: a different container replaces the deployment (and so runs it there). */
  vmid: z.number().int("must be a whole number").min(100, "must be at least 100").optional(),
  jump: JumpHostSchema.optional(),
  /** Pinned host key; without it the key seen on the first connection is recorded and pinned. */
  hostKeyFingerprint: fingerprint.optional(),
  connectTimeoutSeconds: z.number().int("must be a whole number").min(1, "must be 1-3600").max(3600, "must be 1-3600").default(DEFAULT_CONNECT_TIMEOUT_SECONDS),
  /** The container's `kind` (LaunchpadContainer): an application container runs no sshd, so it is refused before any SSH. */
  containerKind: z.enum(["application", "system"]).optional(),
  /** The container's `initCommand`, for the refusal's message. */
  containerInitCommand: initCommand.optional(),
});

export type DeploymentInputs = z.infer<typeof DeploymentInputsSchema>;
export type JumpHost = z.infer<typeof JumpHostSchema>;

/** What the provider keeps in state: the normalized inputs plus what the first connection learned. */
export interface DeploymentOutputs extends DeploymentInputs {
  schemaVersion: number;
  /** The host key trusted for this container: pinned by the user, or recorded on first use. */
  knownHostKey: string;
  /** `revision` as of the last successful run. */
  deployedRevision?: string;
}

export const INPUT_KEYS = Object.keys(DeploymentInputsSchema.shape) as (keyof DeploymentInputs)[];


export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

export type DeploymentCheck =
  | { ok: true; inputs: Record<string, unknown> }
  | { ok: false; problems: FieldProblem[] };

/** Validates the inputs, collecting every problem by field; values unknown during preview are skipped. */
export function parseDeploymentInputs(raw: Record<string, unknown>): DeploymentCheck {
  const { __provider: _provider, ...inputs } = raw;
  const problems: FieldProblem[] = [];
  if (inputs.jump && typeof inputs.jump === "object") {
    const jump = inputs.jump as Record<string, unknown>;
    if (jump.privateKey !== undefined && jump.agent !== undefined && jump.privateKey !== UNKNOWN && jump.agent !== UNKNOWN) {
      problems.push({ property: "jump.agent", reason: "Only one of `jump.privateKey` and `jump.agent` can be given" });
    }
  }
  const parsed = DeploymentInputsSchema.safeParse(inputs);
  if (!parsed.success) problems.push(...problemsOf(parsed.error.issues, inputs));
  const refusal = applicationContainerProblem(inputs);
  if (refusal) problems.push(refusal);
  if (problems.length) return { ok: false, problems };
  // During preview some values are unknown: hand back the raw inputs so the diff sees the markers.
  return { ok: true, inputs: parsed.success && !containsUnknown(inputs) ? (parsed.data as Record<string, unknown>) : inputs };
}

/**
 * A deployment needs an SSH server in the container; an application container (an OCI image whose
 * command is not /sbin/init) runs only that command. Known only once the container exists.
 */
export function applicationContainerProblem(inputs: Record<string, unknown>): FieldProblem | undefined {
  if (inputs.containerKind !== "application") return undefined;
  const initCommand = typeof inputs.containerInitCommand === "string" ? inputs.containerInitCommand : undefined;
  const vmid = typeof inputs.vmid === "number" ? inputs.vmid : undefined;
  return { property: "containerKind", reason: sshUnavailableReason("deploy", { vmid, initCommand }) };
}

/** Reads inputs already normalized by `check`, or older state, keeping only the input keys. */
export function parseStoredInputs(raw: Record<string, unknown>): DeploymentInputs {
  const picked = Object.fromEntries(Object.entries(raw ?? {}).filter(([k, v]) => (INPUT_KEYS as string[]).includes(k) && v !== undefined && v !== null));
  const parsed = DeploymentInputsSchema.safeParse(picked);
  if (parsed.success) return parsed.data;
  throw new Error(`stored deployment inputs cannot be read: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
}
