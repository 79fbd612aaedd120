// Prints the least-privilege role for the provider and the pveum commands that set it up, derived
// from the schema and PROVIDER_CALLS (sandbox/leastPrivilege.ts). Usage: npx ts-node --transpile-only scripts/least-privilege.ts
import { deriveRole, OWNER_ROLE, PROVIDER_CALLS } from "../sandbox/leastPrivilege";
import { AccessControl } from "../sandbox/server/access";

const owner = [...new AccessControl().roles.get(OWNER_ROLE)!];
const privileges = deriveRole(PROVIDER_CALLS, owner);
process.stdout.write(`${privileges.join(",")}\n`);
