// Application or system container, decided from the config Proxmox holds, and the one wording of
// the refusal when something needs SSH inside an application container. Pure: no I/O.

/** What runs as PID 1 when the config has no `entrypoint` (the `entrypoint` option's default). */
export const DEFAULT_INIT = "/sbin/init";

/**
 * `application`: an OCI image whose command is not `/sbin/init` (it runs only that command: no init,
 * no sshd unless the command starts one). `system`: its own init boots (templates, clones, images
 * whose command is `/sbin/init`).
 */
export type ContainerKind = "application" | "system";

/** The command's first word, unquoted (Proxmox stores `entrypoint` as a shell-quoted command line). */
function program(command: string): string {
  const match = /^\s*(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+))/.exec(command);
  return match ? (match[1] ?? match[2] ?? match[3]) : "";
}

/**
 * pve-container src/PVE/LXC/Create.pm: an image whose Entrypoint+Cmd does not start with
 * `/sbin/init` gets that command as `entrypoint` (and `cmode: console`, and `host-managed=1` on
 * every NIC); without `entrypoint`, `/sbin/init` runs. The same rule read back from the config.
 */
export function kindOf(entrypoint: string | undefined): ContainerKind {
  const command = entrypoint?.trim();
  return !command || program(command) === DEFAULT_INIT ? "system" : "application";
}

/** What the container runs as PID 1, as the config says. */
export const initCommandOf = (entrypoint: string | undefined): string => entrypoint?.trim() || DEFAULT_INIT;

/** The inputs' word for what needs SSH. */
export type SshUse = "deploy" | "services.ssh";

const NEEDS: Record<SshUse, string> = {
  deploy: "`deploy` runs its commands over SSH inside the container",
  "services.ssh": "`services.ssh` routes a public port to the container's SSH server (port 22)",
};

/**
 * Why `use` cannot work on an application container, and what to do instead: one wording for the
 * deploy step and the SSH route.
 */
export function sshUnavailableReason(use: SshUse, container: { vmid?: number; initCommand?: string }): string {
  const which = container.vmid !== undefined ? `CT ${container.vmid}` : "the container";
  return `${NEEDS[use]}, but ${which} is an application container: its image's entrypoint \`${container.initCommand ?? "?"}\` runs instead of ${DEFAULT_INIT}, ` +
    "so no SSH server runs in it. Use a system image (command /sbin/init, with sshd and a DHCP client) or a `template`/`clone`, " +
    `or bake the code into the image and push a new tag (a new image replaces the container)${use === "services.ssh" ? ", and drop `services.ssh`" : ", and drop `deploy`"}.`;
}
