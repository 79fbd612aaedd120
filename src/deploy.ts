import * as pulumi from "@pulumi/pulumi";
import { forwardingProvider } from "./internal/forwardingProvider";
import { assertEnvNames } from "./internal/plainEnv";
import type { ProxyHostArgs } from "./proxyRoute";

/** The SSH host a deployment goes through: the same settings as a ProxyRoute's `proxy` (its SSH part). */
export type JumpHostArgs = Pick<ProxyHostArgs, "host" | "port" | "user" | "privateKey" | "passphrase" | "agent" | "hostKeyFingerprint">;

/**
 * Arguments of a {@link ContainerDeployment}.
 * Any change to `commands`, `revision`, `env`, the key or the jump host runs the commands again in
 * the same container; a different `host`, `port` or `vmid` (another container) replaces the
 * deployment, which runs them there.
 */
export interface ContainerDeploymentArgs {
  /** The container's address (its `ipv4`), as the machine running Pulumi, or `jump`, reaches it. */
  readonly host: pulumi.Input<string>;
  /** SSH port. @default 22 */
  readonly port?: pulumi.Input<number>;
  /** User to log in as. @default "root" */
  readonly user?: pulumi.Input<string>;
  /** Private key (PEM or OpenSSH) whose public key is in the container's `sshPublicKeys`. Kept secret in state. */
  readonly privateKey: pulumi.Input<string>;
  /** Passphrase of `privateKey`. Kept secret. @default - none */
  readonly passphrase?: pulumi.Input<string>;
  /** Shell command lines, run in order, each with `sh -c` in the user's home; the first failing one fails the update with its output. */
  readonly commands: pulumi.Input<pulumi.Input<string>[]>;
  /** Text that changes with the code, such as the commit SHA: a new value runs `commands` again. @default - none (runs on create and when other inputs change) */
  readonly revision?: pulumi.Input<string>;
  /** Variables exported to every command, sent over the SSH channel (never on a command line). Kept secret in state. @default {} */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The container's VMID: another container replaces the deployment. @default - none */
  readonly vmid?: pulumi.Input<number>;
  /** Reach `host` through this SSH host (e.g. the proxy host, which sits on the containers' network). @default - connect directly */
  readonly jump?: pulumi.Input<JumpHostArgs>;
  /** Pin the container's host key (`SHA256:...`). @default - trust the key seen on the first connection, record it in state, and pin it from then on */
  readonly hostKeyFingerprint?: pulumi.Input<string>;
  /** How long to wait for sshd to answer (a container started moments ago). @default 120 */
  readonly connectTimeoutSeconds?: pulumi.Input<number>;
  /**
   * The container's `kind` (a LaunchpadContainer output). `application` (an OCI app image: no init,
   * no sshd) fails the deployment in `check`, before any SSH, saying what to use instead.
   * @default - not checked
   */
  readonly containerKind?: pulumi.Input<"application" | "system">;
  /** The container's `initCommand` (a LaunchpadContainer output), named in that error. @default - none */
  readonly containerInitCommand?: pulumi.Input<string>;
}

/**
 * Commands run over SSH inside a container on create, and again whenever `revision` (or the
 * commands) change, without touching the container: the fast update path of a preview. Output is
 * streamed to Pulumi's log line by line; a failing command fails the update with its output.
 * Deleting it does nothing remote (what it installed goes with the container).
 */
export class ContainerDeployment extends pulumi.dynamic.Resource {
  /** The container's host key as trusted: pinned, or recorded on first use. */
  declare readonly knownHostKey: pulumi.Output<string>;
  /** `revision` as of the last successful run. */
  declare readonly deployedRevision: pulumi.Output<string | undefined>;
  declare readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: ContainerDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
    assertEnvNames(args.env, "env");
    const props = {
      ...args,
      // Secret inputs keep the same-named outputs secret (the host does not accept secrets).
      privateKey: pulumi.secret(args.privateKey),
      passphrase: args.passphrase === undefined ? undefined : pulumi.secret(args.passphrase),
      env: args.env === undefined ? undefined : pulumi.secret(args.env),
      jump: args.jump === undefined ? undefined : pulumi.secret(args.jump),
      knownHostKey: undefined,
      deployedRevision: undefined,
      schemaVersion: undefined,
    };
    super(
      forwardingProvider("deploy"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey", "passphrase", "env", "jump"] },
      "launchpad",
      "ContainerDeployment",
    );
  }
}

/**
 * An ed25519 deploy key pair, generated once by the provider and kept in state, `privateKey`
 * secret. Used by PreviewEnvironment when no `deploy.privateKey` is given.
 */
export class DeployKey extends pulumi.dynamic.Resource {
  /** OpenSSH private key (secret). */
  declare readonly privateKey: pulumi.Output<string>;
  /** `ssh-ed25519 AAAA... <comment>`. */
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: { comment?: pulumi.Input<string> } = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      forwardingProvider("deploy"),
      name,
      { resource: "deploy-key", comment: args.comment, privateKey: undefined, publicKey: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "privateKey"] },
      "launchpad",
      "DeployKey",
    );
  }
}
