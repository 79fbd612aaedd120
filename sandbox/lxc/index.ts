export { lxcAvailability, LxcAvailability } from "./availability";
export { createLxcBackend, LxcBackend, LxcBackendOptions } from "./backend";
export { LxcCommandError } from "./exec";
