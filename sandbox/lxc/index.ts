export { lxcAvailability, LxcAvailability } from "./availability";
export { createLxcBackend, DEFAULT_LXC_PATH, LxcBackend, LxcBackendOptions } from "./backend";
export { LxcCommandError } from "./exec";
