import * as pulumi from "@pulumi/pulumi";
import { envNameProblem } from "../../provider/check";
import { ValidationError } from "../../provider/errors";

/**
 * Refuses, in the program, env names the provider would never see: Pulumi's serialization assigns
 * each key to a new object, so an own `__proto__` is silently dropped before `check`. Values not
 * known yet (Outputs) are left to the provider's check.
 */
export function assertEnvNames(env: unknown, field: string): void {
  if (!env || typeof env !== "object" || pulumi.Output.isInstance(env) || env instanceof Promise) return;
  const problems = Object.keys(env).flatMap((key) => {
    const reason = envNameProblem(key);
    return reason ? [{ property: `${field}.${key}`, reason }] : [];
  });
  if (problems.length) throw new ValidationError(problems);
}
