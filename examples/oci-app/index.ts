// An OCI application image per branch: https://<name>.<domain> to the app's HTTP port, and a new
// image (a new tag or digest per push) for every revision, which replaces the container
// create-before-delete with the route moved to the new one first.
// An app image runs only its entrypoint (PVE makes it an application container: no init, no sshd),
// so there is no SSH port and no deploy step here: both are refused on such a container. For SSH and
// a deploy step rerun in place, use a system image (its command /sbin/init, with sshd and a DHCP
// client) or a template, as the repository's root program does.
//   pulumi config set preview:image ghcr.io/acme/shop:$GITHUB_SHA
//   pulumi config set preview:port 8080
//   pulumi config set preview:domain preview.example.com
//   pulumi config set preview:proxy '{"host":"proxy.example.com","user":"launchpad","hostKeyFingerprint":"SHA256:...","tls":{"certificate":"/etc/ssl/preview.crt","key":"/etc/ssl/preview.key"}}'
//   pulumi config set --secret preview:proxyPrivateKey < ~/.ssh/launchpad_proxy
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
  services: { http: port },
  proxy: { ...config.requireObject<PreviewProxyArgs>("proxy"), privateKey: config.requireSecret("proxyPrivateKey") },
});

export const url = preview.url;
export const ipv4 = preview.ipv4;
export const vmid = preview.vmid;
/** `application` for an app image (its entrypoint runs as PID 1), `system` for one that boots /sbin/init. */
export const kind = preview.container.kind;
