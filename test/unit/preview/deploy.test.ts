// The deploy step's pure parts: input rules by field, the diff table (rerun vs replace), the
// script sent over stdin, the GitHub runner's commands; and the owner permission's rules.
import * as assert from "assert";
import { execFileSync } from "child_process";
import { diffDeployment, parseDeploymentInputs, renderScript, UNKNOWN } from "../../../provider/deploy";
import { generateDeployKey, publicKeyOf } from "../../../provider/deploy/keyPair";
import { diffPermission, parsePermissionInputs } from "../../../provider/acl";
import { renderRunnerCommands } from "../../../src/preview";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";
const valid = { host: "10.0.0.5", privateKey: KEY, commands: ["make deploy"] };

describe("ContainerDeployment inputs", () => {
  it("fills defaults", () => {
    const result = parseDeploymentInputs({ ...valid, __provider: "text" });
    assert.ok(result.ok);
    assert.deepStrictEqual(result.inputs, { ...valid, port: 22, user: "root", env: {}, connectTimeoutSeconds: 120 });
  });

  it("names every bad field at once", () => {
    const result = parseDeploymentInputs({
      host: "bad host;", port: 0, user: "ro ot", privateKey: "ssh-ed25519 AAAA public", commands: [], env: { "1BAD": "x" },
      hostKeyFingerprint: "MD5:aa", vmid: 5, surprise: true,
      jump: { host: "proxy", user: "u", hostKeyFingerprint: `SHA256:${"a".repeat(43)}`, privateKey: KEY, agent: "/run/agent" },
    });
    assert.ok(!result.ok);
    assert.deepStrictEqual(result.problems.map((p) => p.property).sort(), [
      "commands", "env.1BAD", "host", "hostKeyFingerprint", "jump.agent", "port", "privateKey", "surprise", "user", "vmid",
    ].sort());
    assert.ok(!JSON.stringify(result.problems).includes("AAAA public"), "values are not echoed");
  });

  it("skips unknown values during preview", () => {
    const result = parseDeploymentInputs({ ...valid, host: UNKNOWN, vmid: UNKNOWN });
    assert.ok(result.ok);
    assert.strictEqual(result.inputs.host, UNKNOWN);
  });
});

describe("ContainerDeployment diff", () => {
  const olds = { ...valid, port: 22, user: "root", env: {}, connectTimeoutSeconds: 120, revision: "a", vmid: 101 };

  it("a new revision, commands or env run again in place", () => {
    for (const change of [{ revision: "b" }, { commands: ["make", "make test"] }, { env: { A: "1" } }, { privateKey: `${KEY}\n` }]) {
      const diff = diffDeployment(olds, { ...olds, ...change });
      assert.deepStrictEqual([diff.changes, diff.replaces], [true, []], JSON.stringify(change));
    }
  });

  it("another container (address, port, vmid) replaces the deployment", () => {
    assert.deepStrictEqual(diffDeployment(olds, { ...olds, host: "10.0.0.6" }).replaces, ["host"]);
    assert.deepStrictEqual(diffDeployment(olds, { ...olds, vmid: 102 }).replaces, ["vmid"]);
    assert.deepStrictEqual(diffDeployment(olds, { ...olds, port: 2222 }).replaces, ["port"]);
  });

  it("nothing changed: no changes; an unknown address during preview: replace", () => {
    assert.deepStrictEqual(diffDeployment(olds, { ...olds }), { changes: false, replaces: [], changed: [] });
    assert.deepStrictEqual(diffDeployment(olds, { ...olds, host: UNKNOWN }).replaces, ["host"]);
  });
});

describe("deploy script", () => {
  it("exports env quoted, then runs the command in its own sh with stdin from /dev/null", () => {
    const script = renderScript("echo \"$GREETING\" && cat", { GREETING: "it's $HOME; `x`", A: "1" });
    assert.strictEqual(script, [
      "export A=1",
      "export GREETING='it'\\''s $HOME; `x`'",
      "exec sh -c 'echo \"$GREETING\" && cat' </dev/null",
      "",
    ].join("\n"));
    // Run it for real: the value arrives unchanged, and `cat` does not swallow anything.
    const output = execFileSync("sh", ["-s"], { input: script, encoding: "utf8" });
    assert.strictEqual(output, "it's $HOME; `x`\n");
  });
});

describe("deploy key pair", () => {
  it("is ed25519 in OpenSSH format, and its public key can be derived from the private key", () => {
    const pair = generateDeployKey("launchpad-test");
    assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.match(pair.publicKey, /^ssh-ed25519 AAAA\S+ launchpad-test$/);
    assert.strictEqual(publicKeyOf(pair.privateKey, undefined, "launchpad-test"), pair.publicKey);
    assert.throws(() => publicKeyOf("not a key"), /cannot be read/);
  });
});

/** The words config.sh would receive, as sh parses them (the token variable left unexpanded). */
function configArgs(register: string): string[] {
  const words = register.slice(register.indexOf("./config.sh ") + "./config.sh ".length, register.lastIndexOf("; fi"));
  const output = execFileSync("sh", ["-c", `LAUNCHPAD_RUNNER_TOKEN='$LAUNCHPAD_RUNNER_TOKEN'; for word in ${words}; do printf '%s\\n' "$word"; done`], { encoding: "utf8" });
  return output.split("\n").slice(0, -1);
}

describe("GitHub runner commands", () => {
  const commands = renderRunnerCommands({ url: "https://github.com/acme/shop", name: "acme-shop-pr-1", labels: ["preview", "acme-shop-pr-1"], version: "2.333.1", arch: "x64" });

  it("install once, register ephemeral for the branch, then start detached", () => {
    assert.strictEqual(commands.length, 3);
    assert.match(commands[0], /releases\/download\/v2\.333\.1\/actions-runner-linux-x64-2\.333\.1\.tar\.gz/);
    assert.match(commands[1], /--ephemeral/);
    assert.deepStrictEqual(configArgs(commands[1]).slice(3), [
      "--url", "https://github.com/acme/shop", "--token", "$LAUNCHPAD_RUNNER_TOKEN", "--name", "acme-shop-pr-1", "--labels", "acme-shop-pr-1,preview",
    ]);
    assert.match(commands[1], /--token "\$LAUNCHPAD_RUNNER_TOKEN"/);
    assert.match(commands[2], /nohup \.\/run\.sh/);
  });

  it("every command is valid sh", () => {
    for (const command of commands) execFileSync("sh", ["-n", "-c", command]);
  });

  it("quotes hostile values", () => {
    const [, register] = renderRunnerCommands({ url: "https://github.com/a/b';rm -rf /;'", name: "n", labels: ["x$(id)"], version: "1", arch: "arm64" });
    const args = configArgs(register);
    assert.strictEqual(args[args.indexOf("--url") + 1], "https://github.com/a/b';rm -rf /;'");
    assert.strictEqual(args[args.indexOf("--labels") + 1], "n,x$(id)");
  });
});

describe("ProxmoxPermission inputs and diff", () => {
  it("defaults the role to PVEVMUser and propagate to true", () => {
    const result = parsePermissionInputs({ path: "/vms/123", user: "alice@pve" });
    assert.ok(result.ok);
    assert.deepStrictEqual(result.inputs, { path: "/vms/123", role: "PVEVMUser", user: "alice@pve", propagate: true });
  });

  it("needs exactly one of user and group, a valid path and user id", () => {
    const both = parsePermissionInputs({ path: "/vms/123", user: "alice@pve", group: "devs" });
    assert.ok(!both.ok && both.problems.some((p) => p.reason === "Only one of `user` and `group` can be given"));
    const bad = parsePermissionInputs({ path: "vms/x y", user: "alice" });
    assert.ok(!bad.ok);
    assert.deepStrictEqual(bad.problems.map((p) => p.property).sort(), ["path", "user"]);
  });

  it("path, role and subject replace; propagate updates; the connection alone changes nothing", () => {
    const olds = { path: "/vms/1", role: "PVEVMUser", user: "a@pve", propagate: true };
    assert.deepStrictEqual(diffPermission(olds, { ...olds, path: "/vms/2" }), { changes: true, replaces: ["path"] });
    assert.deepStrictEqual(diffPermission(olds, { ...olds, propagate: false }), { changes: true, replaces: [] });
    assert.deepStrictEqual(diffPermission(olds, { ...olds, connection: { endpoint: "https://x:8006" } }), { changes: false, replaces: [] });
  });
});

describe("ContainerDeployment on an application container", () => {
  it("is refused in check, naming the field, the image's entrypoint and what to use instead", () => {
    const result = parseDeploymentInputs({ ...valid, vmid: 131, containerKind: "application", containerInitCommand: "node /srv/server.js" });
    assert.ok(!result.ok);
    assert.strictEqual(result.problems.length, 1);
    const [problem] = result.problems;
    assert.strictEqual(problem.property, "containerKind");
    assert.match(problem.reason, /^`deploy` runs its commands over SSH inside the container, but CT 131 is an application container: its image's entrypoint `node \/srv\/server\.js`/);
    assert.match(problem.reason, /system image .* or a `template`\/`clone`, or bake the code into the image/);
  });

  it("a system container, or a kind not known yet (preview), passes", () => {
    assert.ok(parseDeploymentInputs({ ...valid, containerKind: "system", containerInitCommand: "/sbin/init" }).ok);
    assert.ok(parseDeploymentInputs({ ...valid, containerKind: UNKNOWN, containerInitCommand: UNKNOWN }).ok);
  });

  it("the container's kind never reruns the commands by itself (state from before it was an input)", () => {
    const olds = { ...valid, port: 22, user: "root", env: {}, connectTimeoutSeconds: 120, vmid: 101 };
    assert.deepStrictEqual(diffDeployment(olds, { ...olds, containerKind: "system", containerInitCommand: "/sbin/init" }).changes, false);
  });
});
