// The public API of pulumi-launchpad. This file only re-exports.
export * from "../provider/errors";
export * from "./container";
export * from "./proxyRoute";
export * from "./acmeCertificate";
export * from "./dnsRecord";
export * from "./cloudflare";
export * from "./deploy";
export * from "./acl";
export * from "./naming";
export * from "./preview";
