import { strict as assert } from "assert";
import { redact } from "../../../provider/errors";
import { getStackConfig, setStackConfig } from "../../../provider/stackConfig";

// The exact class the dynamic-provider host hands to configure(req) as req.config.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Config } = require("@pulumi/pulumi/cmd/dynamic-provider/config") as { Config: new (raw: Record<string, unknown>, project: string) => { get(key: string): unknown } };

describe("stack config", () => {
  afterEach(() => setStackConfig({}));

  it("reads the launchpad:* keys from Pulumi's dynamic Config, whatever the project is called", () => {
    const secret = "s3cr3t-token-value-for-stack";
    setStackConfig(new Config({ "launchpad:endpoint": "https://pve:8006", "launchpad:apiToken": `ci@pve!x=${secret}`, "launchpad:insecure": true, "other:key": "x" }, "my-infra"));
    const config = getStackConfig();
    assert.equal(config["launchpad:endpoint"], "https://pve:8006");
    assert.equal(config["launchpad:insecure"], "true");
    assert.equal(config["other:key"], undefined);
    assert.equal(redact(`token ${secret}`), "token [secret]");
  });
  it("takes a plain record, and returns a copy", () => {
    setStackConfig({ "launchpad:endpoint": "https://a:8006" });
    const copy = getStackConfig();
    copy["launchpad:endpoint"] = "changed";
    assert.equal(getStackConfig()["launchpad:endpoint"], "https://a:8006");
  });
  it("starts empty and is replaced, not merged, by the next configure", () => {
    setStackConfig({ "launchpad:endpoint": "https://a:8006", "launchpad:fingerprint": "AB" });
    setStackConfig({ "launchpad:endpoint": "https://b:8006" });
    assert.deepEqual(getStackConfig(), { "launchpad:endpoint": "https://b:8006" });
  });
});
