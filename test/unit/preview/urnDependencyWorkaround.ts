// TEMPORARY, test-only: LaunchpadContainer (src/container.ts) computes its identity from
// `pulumi.createUrn(name, type, opts.parent)`. That Output depends on the parent component, and a
// dependency on a component waits for all of the component's children; a sibling that needs the
// container's address (a ProxyRoute) is such a child, so registration deadlocks inside any
// component. The fix belongs in src/container.ts (owned elsewhere):
//     const identity = pulumi.output(new Promise<string>((resolve) => {
//       pulumi.createUrn(name, type, opts?.parent).apply((urn) => resolve(identityOf(project, stack, urn)));
//     }));
// Until it lands, `install()` makes createUrn return a value without resource dependencies, the
// same text. It does nothing once the container no longer depends on its parent.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";

/* eslint-disable @typescript-eslint/no-require-imports */
const resourceModule = require("@pulumi/pulumi/resource") as { createUrn: typeof pulumi.createUrn };
// @pulumi/pulumi's index copies its modules' exports: both objects carry their own createUrn.
const indexModule = require("@pulumi/pulumi") as { createUrn: typeof pulumi.createUrn };
const original = resourceModule.createUrn;

/** True while src/container.ts still passes createUrn's Output (and its dependencies) straight on. */
export function containerIdentityDependsOnParent(): boolean {
  const source = fs.readFileSync(path.join(__dirname, "..", "..", "..", "src", "container.ts"), "utf8");
  return /identity = pulumi\.createUrn\(/.test(source);
}

export function installUrnDependencyWorkaround(): void {
  if (!containerIdentityDependsOnParent() || resourceModule.createUrn !== original) return;
  const withoutDependencies = ((...args: Parameters<typeof original>) =>
    pulumi.output(new Promise<string>((resolve) => { original(...args).apply((urn) => { resolve(urn); return urn; }); }))) as typeof original;
  resourceModule.createUrn = withoutDependencies;
  indexModule.createUrn = withoutDependencies;
}
