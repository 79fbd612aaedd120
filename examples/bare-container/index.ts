// A bare container per branch: nothing published, no deploy step. Reach it with `sshCommand`
// from a machine on the containers' network, and set it up by hand.
//   pulumi config set preview:repository acme/shop
//   pulumi config set preview:sshPublicKeys '["ssh-ed25519 AAAA... you@laptop"]'
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnvironment } from "pulumi-launchpad";

const config = new pulumi.Config("preview");

const preview = new PreviewEnvironment("preview", {
  branch: config.get("branch") ?? pulumi.getStack(),
  repository: config.get("repository"),
  template: config.get("template") ?? "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
  cores: 1,
  memory: 512,
  sshPublicKeys: config.getObject<string[]>("sshPublicKeys") ?? [],
});

export const hostname = preview.hostname;
export const ipv4 = preview.ipv4;
export const vmid = preview.vmid;
export const node = preview.node;
export const sshCommand = preview.sshCommand;
