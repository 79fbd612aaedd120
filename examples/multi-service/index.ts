// A multi-service preview: a database container and a web container per branch; the web's
// environment points at the database's address, and only the web is published.
//   pulumi config set preview:domain preview.example.com
//   pulumi config set preview:proxy '{...}'  and  --secret preview:proxyPrivateKey
import * as pulumi from "@pulumi/pulumi";
import { PreviewEnvironment, PreviewProxyArgs } from "pulumi-launchpad";

const config = new pulumi.Config("preview");
const branch = config.get("branch") ?? pulumi.getStack();
const repository = config.get("repository");
const proxy = { ...config.requireObject<PreviewProxyArgs>("proxy"), privateKey: config.requireSecret("proxyPrivateKey") };

// Named `<branch>-db`: one database per branch, not published.
const db = new PreviewEnvironment("db", {
  name: `${branch}-db`,
  image: config.get("dbImage") ?? "docker.io/library/postgres:16",
  memory: 1024,
  env: { POSTGRES_PASSWORD: "preview", POSTGRES_DB: "app" },
});

const web = new PreviewEnvironment("web", {
  branch,
  repository,
  image: config.require("image"),
  domain: config.require("domain"),
  env: { DATABASE_URL: pulumi.interpolate`postgres://postgres:preview@${db.ipv4}:5432/app`, PORT: "8080" },
  services: { http: 8080 },
  proxy,
});

export const url = web.url;
export const webAddress = web.ipv4;
export const dbAddress = db.ipv4;
