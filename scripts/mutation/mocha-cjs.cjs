// Preloaded into Stryker's processes: Mocha 12 ships its CLI helpers as lib/cli/*.cjs, and
// @stryker-mutator/mocha-runner 9 requires them without an extension. CommonJS resolution tries every
// registered extension, so registering ".cjs" (loaded as CommonJS, as Node does anyway) lets it find them.
require.extensions[".cjs"] ??= require.extensions[".js"];
