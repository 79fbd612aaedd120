import * as pulumi from "@pulumi/pulumi";
import type { ContainerConnectionArgs } from "./container";
import { forwardingProvider } from "./internal/forwardingProvider";

/**
 * Arguments of a {@link ProxmoxPermission}: one ACL entry. Exactly one of `user` and `group`.
 * @see https://pve.proxmox.com/pve-docs/api-viewer/#/access/acl
 * @see https://pve.proxmox.com/wiki/User_Management#pveum_permission_management
 */
export interface ProxmoxPermissionArgs {
  /** ACL path, e.g. `/vms/123` for one container; a change replaces the entry. */
  readonly path: pulumi.Input<string>;
  /** Role to grant; a change replaces the entry. @default "PVEVMUser" */
  readonly role?: pulumi.Input<string>;
  /** User id `name@realm` (e.g. `alice@pve`). Only one of `user` and `group` can be given. */
  readonly user?: pulumi.Input<string>;
  /** Group id. Only one of `user` and `group` can be given. */
  readonly group?: pulumi.Input<string>;
  /** Whether the permission applies below `path` too; changed in place. @default true */
  readonly propagate?: pulumi.Input<boolean>;
  /** Per-resource connection override, stored as a secret. @default - `launchpad:*` stack config, then `PROXMOX_VE_*` */
  readonly connection?: pulumi.Input<ContainerConnectionArgs>;
}

/**
 * One Proxmox permission (`PUT /access/acl`), removed again on delete. A preview's owner gets
 * `PVEVMUser` on `/vms/<vmid>` this way: console, power and backup of their container, nothing else.
 * Its id is `<path>|<role>|user:<userid>` (or `group:`).
 */
export class ProxmoxPermission extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  declare readonly role: pulumi.Output<string>;
  declare readonly user: pulumi.Output<string | undefined>;
  declare readonly group: pulumi.Output<string | undefined>;
  declare readonly propagate: pulumi.Output<boolean>;
  declare readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: ProxmoxPermissionArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      connection: args.connection === undefined ? undefined : pulumi.secret(args.connection),
      schemaVersion: undefined,
    };
    super(
      forwardingProvider("acl"),
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "launchpad",
      "Permission",
    );
  }
}
