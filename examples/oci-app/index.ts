// An OCI image app per branch: https://<name>.<domain> to its HTTP port, an SSH port through the
// proxy host, and the deploy step rerun on every new commit without replacing the container.
// The SSH port and the deploy step need a *system* image (its command /sbin/init, with sshd and a
// DHCP client): an app image whose entrypoint is the app has no sshd, and both are refused there
// (the container's `kind` output says which). For an app image, drop `ssh` and `deploy` and push a
// new tag per revision: the new image replaces the container, with the route moved first.
//   pulumi config set preview:image ghcr.io/acme/shop:<tag>
//   pulumi config set preview:domain preview.example.com
//   pulumi config set preview:proxy '{"host":"proxy.example.com","user":"launchpad","hostKeyFingerprint":"SHA256:...","tls":{"certificate":"/etc/ssl/preview.crt","key":"/etc/ssl/preview.key"}}'
//   pulumi config set --secret preview:proxyPrivateKey < ~/.ssh/launchpad_proxy
//   pulumi config set preview:revision $GITHUB_SHA
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnvironment, PreviewProxyArgs } from "pulumi-launchpad";

const config = new pulumi.Config("preview");
const port = config.getNumber("port") ?? 3000;

const preview = new PreviewEnvironment("app", {
  branch: config.get("branch") ?? pulumi.getStack(),
  repository: config.get("repository"),
  image: config.require("image"),
  domain: config.require("domain"),
  memory: 1024,
  env: { PORT: String(port), NODE_ENV: "preview" },
  services: { http: port, ssh: true },
  proxy: { ...config.requireObject<PreviewProxyArgs>("proxy"), privateKey: config.requireSecret("proxyPrivateKey") },
  deploy: {
    // Commands run inside the container after create, and again for every new revision.
    commands: config.getObject<string[]>("deployCommands") ?? ["cd /app && ./migrate.sh", "systemctl restart app || true"],
    revision: config.get("revision"),
  },
});

export const url = preview.url;
export const sshCommand = preview.sshCommand;
export const ipv4 = preview.ipv4;
export const vmid = preview.vmid;
