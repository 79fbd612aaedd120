// The DnsRecord provider hooks, as the dynamic-provider host calls them (through
// src/internal/forwardingProvider.ts). Every hook registers the record's secrets first.
import type * as pulumi from "@pulumi/pulumi";
import { createRecord, deleteRecord, guarded, outputsOf, parseState, readRecord, registerServerSecrets, updateRecord } from "./apply";
import { diffDnsRecord } from "./diff";
import { checkDnsRecord, parseInputs } from "./schema";
import { redactingProvider } from "../errors";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const provider: pulumi.dynamic.ResourceProvider<Props, Props> = redactingProvider({
  // DnsRecord takes its server and credentials as (secret) inputs; stack config plays no part.
  async configure() {},

  async check(olds: Props, news: Props) {
    registerServerSecrets(olds);
    registerServerSecrets(news);
    const { inputs, failures } = checkDnsRecord(news);
    return { inputs, failures };
  },

  async diff(_id: string, olds: Props, news: Props) {
    const { changes, replaces, deleteBeforeReplace } = diffDnsRecord(olds, news);
    return { changes, replaces, deleteBeforeReplace };
  },

  async create(inputs: Props) {
    registerServerSecrets(inputs);
    return guarded("create DnsRecord", () => createRecord(parseInputs(inputs)));
  },

  async read(id: string, props?: Props) {
    registerServerSecrets(props);
    const served = await guarded("read DnsRecord", () => readRecord(parseState(props ?? {})));
    // An empty id tells the engine the record set is gone.
    if (!served) return { id: "", props: {} };
    const { fqdn: _fqdn, schemaVersion: _version, ...inputs } = outputsOf(served);
    return { id, props: outputsOf(served), inputs };
  },

  async update(_id: string, olds: Props, news: Props) {
    registerServerSecrets(olds);
    registerServerSecrets(news);
    const outs = await guarded("update DnsRecord", () => updateRecord(parseState(olds), parseInputs(news)));
    return { outs };
  },

  async delete(_id: string, props: Props) {
    registerServerSecrets(props);
    await guarded("delete DnsRecord", () => deleteRecord(parseState(props)));
  },
});
