// The LaunchpadContainer provider: the hooks the dynamic-provider host calls, by way of the
// serialized `forwardingProvider("container")` text, which only requires this module by package name.

import type * as pulumi from "@pulumi/pulumi";
import { setStackConfig } from "../stackConfig";
import { createContainer, deleteContainer, readContainer, updateContainer } from "./apply";
import { diffInputs } from "./diff";
import { parseInputs, parseStoredInputs, type ContainerInputs, type ContainerOutputs } from "./schema";
import { withoutProvider } from "../hostValues";
import { rootOnlyProblems } from "./rootOnly";
import { redactingProvider } from "../errors";
import { inheritedEndpointProblem } from "../proxmox/connection";
import { remoteDigest } from "./image";

/** The tag now names another digest than the deployed one (a re-pushed `:latest`): one manifest request. */
async function imageMoved(olds: Partial<ContainerOutputs>, news: Partial<ContainerInputs>): Promise<boolean> {
  if (typeof news.imageCredentials?.password !== "string" || typeof news.image !== "string" || news.image !== olds.image || !olds.imageDigest) return false;
  return (await remoteDigest(news.image, news.imageCredentials)) !== olds.imageDigest;
}

export { CHANGE_TABLE, diffInputs } from "./diff";
export { parseInputs, UNKNOWN, SCHEMA_VERSION } from "./schema";
export type { ContainerInputs, ContainerOutputs } from "./schema";

export const provider: pulumi.dynamic.ResourceProvider = redactingProvider({
  async configure(req) {
    // Credentials stay in this process's module state; nothing is captured by the serialized provider.
    setStackConfig(req.config as unknown as Parameters<typeof setStackConfig>[0]);
  },

  async check(_olds, news) {
    const { inputs, failures } = parseInputs(withoutProvider(news));
    if (failures.length === 0) failures.push(...rootOnlyProblems(inputs));
    const transport = inheritedEndpointProblem(news.connection);
    return { inputs, failures: transport ? [...failures, transport] : failures };
  },

  async diff(_id, olds, news) {
    const result = diffInputs(parseStoredInputs(withoutProvider(olds)), withoutProvider(news) as Partial<ContainerInputs>);
    if (await imageMoved(withoutProvider(olds) as Partial<ContainerOutputs>, withoutProvider(news) as Partial<ContainerInputs>)) {
      result.changes = true;
      if (!result.replaces.includes("image")) result.replaces.push("image");
    }
    return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: result.deleteBeforeReplace };
  },

  async create(inputs) {
    try {
      return await createContainer(parseStoredInputs(withoutProvider(inputs)));
    } catch (error) {
      // The host does not add `__provider` to an init-failed resource's properties, and a later
      // delete rebuilds the provider from exactly those properties: put it there.
      const properties = (error as { properties?: Record<string, unknown> })?.properties;
      if (properties) properties.__provider = inputs.__provider;
      throw error;
    }
  },

  async read(id, props) {
    const olds = withoutProvider(props ?? {}) as unknown as ContainerOutputs;
    const outcome = await readContainer(id, olds, parseStoredInputs(olds as unknown as Record<string, unknown>));
    if (outcome.gone) return { id: "", props: {} };
    // Drift lives in the outputs (diff compares old outputs with new inputs); the inputs stay the
    // program's, so values Proxmox chose (node, vmid, storage) never read as user input.
    return { id, props: outcome.outs };
  },

  async update(id, olds, news) {
    const previous = withoutProvider(olds) as unknown as ContainerOutputs;
    return updateContainer(id, previous, parseStoredInputs(previous as unknown as Record<string, unknown>), parseStoredInputs(withoutProvider(news)));
  },

  async delete(id, props) {
    const olds = withoutProvider(props) as unknown as ContainerOutputs;
    await deleteContainer(id, olds, parseStoredInputs(olds as unknown as Record<string, unknown>));
  },
});
