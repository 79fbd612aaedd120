// The ProxmoxPermission provider: the hooks behind the serialized `forwardingProvider("acl")` text.

import type * as pulumi from "@pulumi/pulumi";
import { setStackConfig } from "../stackConfig";
import { permissionId, readPermission, removePermission, setPermission } from "./apply";
import { diffPermission } from "./diff";
import { PermissionOutputs, SCHEMA_VERSION, parsePermissionInputs, parseStoredInputs } from "./schema";
import { withoutProvider } from "../hostValues";
import { redactingProvider } from "../errors";
import { inheritedEndpointProblem } from "../proxmox/connection";

export { CHANGE_TABLE, diffPermission } from "./diff";
export { parsePermissionInputs, SCHEMA_VERSION } from "./schema";
export { permissionId } from "./apply";
export type { PermissionInputs, PermissionOutputs } from "./schema";

export const provider: pulumi.dynamic.ResourceProvider = redactingProvider({
  async configure(req) {
    // Credentials stay in this process's module state; nothing is captured by the serialized provider.
    setStackConfig(req.config as unknown as Parameters<typeof setStackConfig>[0]);
  },

  async check(_olds, news) {
    const result = parsePermissionInputs(withoutProvider(news));
    const transport = inheritedEndpointProblem(news.connection);
    const failures = [...(result.ok ? [] : result.problems), ...(transport ? [transport] : [])];
    return result.ok && !transport ? { inputs: result.inputs, failures: [] } : { inputs: withoutProvider(news), failures };
  },

  async diff(_id, olds, news) {
    const result = diffPermission(parseStoredInputs(withoutProvider(olds)), withoutProvider(news));
    return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: false };
  },

  async create(raw) {
    const inputs = parseStoredInputs(withoutProvider(raw));
    await setPermission(inputs);
    const outs: PermissionOutputs = { ...inputs, schemaVersion: SCHEMA_VERSION };
    return { id: permissionId(inputs), outs };
  },

  async update(_id, _olds, news) {
    const inputs = parseStoredInputs(withoutProvider(news));
    await setPermission(inputs);
    return { outs: { ...inputs, schemaVersion: SCHEMA_VERSION } };
  },

  async read(id, props) {
    const olds = parseStoredInputs(withoutProvider(props));
    const found = await readPermission(olds);
    if (!found) return { id: "", props: {} };
    return { id, props: { ...withoutProvider(props), propagate: found.propagate } };
  },

  async delete(_id, props) {
    await removePermission(parseStoredInputs(withoutProvider(props)));
  },
});
