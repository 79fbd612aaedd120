// Env names the provider would never see (Pulumi's serialization drops an own `__proto__`) are refused
// by the resource classes themselves, naming the key; prototype names never crash, never vanish.
import { strict as assert } from "assert";
import { LaunchpadContainer } from "../../src/container";
import { ContainerDeployment } from "../../src/deploy";
import { isLaunchpadError, ValidationError } from "../../provider/errors";
import { TEMPLATE } from "./container/fixtures";

describe("env names in the resource classes", () => {
  for (const key of ["__proto__", "constructor", "toString", "1BAD", "A-B"]) {
    it(`refuses ${key} by name before registering anything`, () => {
      const env = JSON.parse(`{${JSON.stringify(key)}: "x"}`);
      for (const make of [
        () => new LaunchpadContainer("ct", { hostname: "a", template: TEMPLATE, env }),
        () => new ContainerDeployment("d", { host: "10.0.0.1", privateKey: "k", commands: ["true"], env }),
      ]) {
        assert.throws(make, (error: unknown) => {
          assert.ok(isLaunchpadError(error, "ERR_VALIDATION"), String(error));
          assert.deepEqual((error as ValidationError).problems.map((p) => p.property), [`env.${key}`]);
          return true;
        });
      }
    });
  }
});
