// Launchpad's second pathway as deploy commands: the container registers itself as an ephemeral
// GitHub Actions runner for its branch. Pure rendering; the registration token is never in the
// text: commands read it from the deployment's (secret) environment.

import { shellQuote } from "../../provider/ssh";

/** The deployment environment variable that carries the registration token. */
export const RUNNER_TOKEN_ENV = "LAUNCHPAD_RUNNER_TOKEN";
export const DEFAULT_RUNNER_VERSION = "2.333.1";
export const DEFAULT_RUNNER_ARCH = "x64";
export const RUNNER_DIR = "/opt/actions-runner";

export interface RunnerCommandArgs {
  /** Repository or organisation URL. */
  url: string;
  /** The runner's name: the preview's name. */
  name: string;
  /** Labels besides `self-hosted`; the preview's name is added first. */
  labels: string[];
  version: string;
  arch: "x64" | "arm64";
}

/**
 * The commands, in order: install the runner release once, register it (ephemeral: GitHub removes
 * it after one job) unless one is registered and listening already, then start it detached.
 */
export function renderRunnerCommands(args: RunnerCommandArgs): string[] {
  const labels = [...new Set([args.name, ...args.labels])].join(",");
  const tarball = `actions-runner-linux-${args.arch}-${args.version}.tar.gz`;
  const download = `https://github.com/actions/runner/releases/download/v${args.version}/${tarball}`;
  const dir = shellQuote(RUNNER_DIR);
  return [
    `mkdir -p ${dir} && cd ${dir} && if [ ! -x ./config.sh ]; then curl -fsSL -o runner.tar.gz ${shellQuote(download)} && tar xzf runner.tar.gz && rm -f runner.tar.gz; fi`,
    // The registration token is a one-hour credential; it comes from the environment, never from this text.
    `cd ${dir} && if [ -f .runner ] && pgrep -f Runner.Listener >/dev/null; then echo "runner already registered and listening"; else ` +
      `rm -f .runner .credentials .credentials_rsaparams && RUNNER_ALLOW_RUNASROOT=1 ./config.sh --unattended --ephemeral --replace ` +
      `--url ${shellQuote(args.url)} --token "$${RUNNER_TOKEN_ENV}" --name ${shellQuote(args.name)} --labels ${shellQuote(labels)}; fi`,
    `cd ${dir} && if ! pgrep -f Runner.Listener >/dev/null; then RUNNER_ALLOW_RUNASROOT=1 nohup ./run.sh >runner.log 2>&1 </dev/null & fi`,
  ];
}
