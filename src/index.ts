// The public API of pulumi-launchpad. This file only re-exports.
export * from "../provider/errors";
