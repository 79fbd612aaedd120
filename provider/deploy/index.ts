// The ContainerDeployment provider: the hooks the dynamic-provider host calls through the
// serialized `forwardingProvider("deploy")` text, which only requires this module by package name.
// Command output is written to stderr (the host's console passthrough), never through pulumi.log.

import type * as pulumi from "@pulumi/pulumi";
import { runDeployment } from "./apply";
import { diffDeployment } from "./diff";
import { DeployKeyOutputs, generateDeployKey, isDeployKey } from "./keyPair";
import { DeploymentOutputs, SCHEMA_VERSION, parseDeploymentInputs, parseStoredInputs } from "./schema";
import { withoutProvider } from "../hostValues";
import { redactingProvider } from "../errors";

export { CHANGE_TABLE, diffDeployment } from "./diff";
export { renderScript } from "./render";
export { runDeployment, waitForHostKey } from "./apply";
export { openTunnel } from "./tunnel";
export { generateDeployKey, publicKeyOf } from "./keyPair";
export type { DeployKeyInputs, DeployKeyOutputs } from "./keyPair";
export { parseDeploymentInputs, SCHEMA_VERSION, UNKNOWN } from "./schema";
export type { DeploymentInputs, DeploymentOutputs, JumpHost } from "./schema";

/** The id names the target; the same container is deployed to by one resource. */
const idOf = (inputs: { host: string; port: number; vmid?: number }) =>
  `${inputs.vmid !== undefined ? `${inputs.vmid}@` : ""}${inputs.host}:${inputs.port}`;

/**
 * The DeployKey resource shares this module (its inputs say `resource: "deploy-key"`): it is
 * generated on create, never changes, and is forgotten on delete.
 */
const deployKeyProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const comment = typeof news.comment === "string" ? news.comment : "launchpad-deploy";
    return { inputs: { resource: "deploy-key", comment } };
  },
  async diff() {
    return { changes: false, replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs) {
    const comment = String(inputs.comment ?? "launchpad-deploy");
    const outs: DeployKeyOutputs = { resource: "deploy-key", comment, ...generateDeployKey(comment) };
    return { id: outs.publicKey.split(" ")[1].slice(-24), outs };
  },
  async read(id, props) {
    return { id, props: withoutProvider(props) };
  },
  async delete() {
    // The key lives only in state.
  },
};

const deploymentProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const result = parseDeploymentInputs(withoutProvider(news));
    return result.ok ? { inputs: result.inputs, failures: [] } : { inputs: withoutProvider(news), failures: result.problems };
  },

  async diff(_id, olds, news) {
    const result = diffDeployment(parseStoredInputs(withoutProvider(olds)), withoutProvider(news));
    return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: false };
  },

  async create(raw) {
    const inputs = parseStoredInputs(withoutProvider(raw));
    const run = await runDeployment(inputs, undefined, `deploy ${inputs.host}`);
    const outs: DeploymentOutputs = { ...inputs, schemaVersion: SCHEMA_VERSION, knownHostKey: run.knownHostKey, deployedRevision: inputs.revision };
    return { id: idOf(inputs), outs };
  },

  async update(_id, olds, news) {
    const previous = withoutProvider(olds) as Partial<DeploymentOutputs>;
    const inputs = parseStoredInputs(withoutProvider(news));
    const run = await runDeployment(inputs, previous.knownHostKey, `deploy ${inputs.host}`);
    const outs: DeploymentOutputs = { ...inputs, schemaVersion: SCHEMA_VERSION, knownHostKey: run.knownHostKey, deployedRevision: inputs.revision };
    return { outs };
  },

  async read(id, props) {
    // Nothing remote records a deployment: what state says is all there is to read.
    return { id, props: withoutProvider(props) };
  },

  async delete() {
    // What the commands installed goes with the container; the deployment leaves nothing else.
  },
};

/** Dispatches to the resource the props belong to (a deployment, or a deploy key). */
export const provider: pulumi.dynamic.ResourceProvider = redactingProvider({
  async configure() {
    // Deployments need no stack config: everything they use travels as (secret) inputs.
  },
  check: (olds, news) => (isDeployKey(news) ? deployKeyProvider : deploymentProvider).check!(olds, news),
  diff: (id, olds, news) => (isDeployKey(olds) ? deployKeyProvider : deploymentProvider).diff!(id, olds, news),
  create: (inputs) => (isDeployKey(inputs) ? deployKeyProvider : deploymentProvider).create(inputs),
  read: (id, props) => (isDeployKey(props) ? deployKeyProvider : deploymentProvider).read!(id, props),
  update: (id, olds, news) => (isDeployKey(olds) ? deployKeyProvider : deploymentProvider).update!(id, olds, news),
  delete: (id, props) => (isDeployKey(props) ? deployKeyProvider : deploymentProvider).delete!(id, props),
});
