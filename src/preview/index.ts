export * from "./args";
export { PreviewEnvironment } from "./previewEnvironment";
export { planPreview } from "./plan";
export type { PlannedRoute, PreviewPlan } from "./plan";
export { renderRunnerCommands, RUNNER_TOKEN_ENV } from "./githubRunner";
export { previewArgsFromConfig, CONFIG_NAMESPACE } from "./config";
