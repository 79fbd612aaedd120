// The AcmeCertificate hooks, as the dynamic-provider host calls them through forwardingProvider("acme").
// Host output goes through the host's console passthrough (stderr), never pulumi.log.

import type * as pulumi from "@pulumi/pulumi";
import { definedOnly } from "../hostValues";
import { ValidationError, redactingProvider } from "../errors";
import { certificateId, deleteCertificate, issueCertificate, readCertificate, registerCertificateSecrets } from "./apply";
import { diffCertificate } from "./diff";
import { parseCertificateInputs, parseStoredCertificate, type AcmeCertificateInputs } from "./schema";

export { CERTIFICATE_DIFF_TABLE, diffCertificate, renewalDue } from "./diff";
export { certificatePaths, parseCertificateInputs, type AcmeCertificateInputs, type AcmeCertificateOutputs } from "./schema";

function completeInputs(props: Record<string, unknown>): AcmeCertificateInputs {
  const outcome = parseCertificateInputs(props);
  if (!outcome.ok) throw new ValidationError(outcome.problems);
  if (!outcome.complete) throw new ValidationError([{ property: "(inputs)", reason: "values are still unknown" }]);
  return outcome.inputs;
}

export const provider: pulumi.dynamic.ResourceProvider = redactingProvider({
  // Credentials (SSH key, DNS API key, account key) travel as secret inputs; nothing to configure.
  async configure() {},

  async check(olds, news) {
    registerCertificateSecrets(olds);
    registerCertificateSecrets(news);
    const outcome = parseCertificateInputs(news);
    if (!outcome.ok) return { inputs: news, failures: outcome.problems };
    return { inputs: definedOnly(outcome.inputs) };
  },

  async diff(_id, olds, news) {
    const outcome = parseCertificateInputs(news);
    const { changes, replaces, deleteBeforeReplace } = diffCertificate(parseStoredCertificate(olds), outcome.ok ? outcome.inputs : news, new Date());
    return { changes, replaces, deleteBeforeReplace };
  },

  async create(inputs) {
    registerCertificateSecrets(inputs);
    const checked = completeInputs(inputs);
    const outs = await issueCertificate(checked);
    return { id: certificateId(checked), outs: definedOnly(outs) };
  },

  async read(id, props) {
    registerCertificateSecrets(props);
    const stored = parseStoredCertificate(props);
    const now = await readCertificate(stored);
    // An empty id tells the engine the certificate is gone, so refresh drops it from state.
    if (!now) return { id: "", props: {} };
    return { id: id || certificateId(stored), props: definedOnly(now) };
  },

  async update(_id, olds, news) {
    registerCertificateSecrets(olds);
    registerCertificateSecrets(news);
    const stored = parseStoredCertificate(olds);
    const inputs = completeInputs(news);
    const { reissue } = diffCertificate(stored, inputs as unknown as Record<string, unknown>, new Date());
    if (reissue) return { outs: definedOnly(await issueCertificate(inputs, stored)) };
    // Only settings changed (credentials, the renewal window, the DNS server): the certificate stays.
    return { outs: definedOnly({ ...stored, ...inputs, accountKey: inputs.accountKey ?? stored.accountKey }) };
  },

  async delete(_id, props) {
    registerCertificateSecrets(props);
    await deleteCertificate(parseStoredCertificate(props));
  },
});
