// A deploy key pair generated once, inside the provider, and kept (secret) in state: the program
// cannot generate it itself, since a program runs again on every `up` and the key must not change.

import { utils } from "ssh2";

/** Inputs of a DeployKey; `resource` tells this module's hooks which resource they serve. */
export interface DeployKeyInputs {
  resource: "deploy-key";
  /** The key's comment (`launchpad-<name>`); not part of the diff: a new comment keeps the key. */
  comment: string;
}

export interface DeployKeyOutputs extends DeployKeyInputs {
  /** OpenSSH private key. Secret (additionalSecretOutputs). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment`, for `sshPublicKeys`. */
  publicKey: string;
}

export function isDeployKey(props: Record<string, unknown> | undefined): boolean {
  return props?.resource === "deploy-key";
}

/**
 * A fresh ed25519 key pair in OpenSSH format. ssh2's generator strips a public key's leading zero bytes
 * (mscdex/ssh2#1513, #1390), so about 1 pair in 256 cannot be read back, by ssh2 or OpenSSH: such a pair
 * is drawn again, until both halves parse and agree.
 */
export function generateDeployKey(comment: string): { privateKey: string; publicKey: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    const parsedPrivate = utils.parseKey(pair.private);
    const parsedPublic = utils.parseKey(pair.public);
    const usable = !(parsedPrivate instanceof Error) && !(parsedPublic instanceof Error)
      && !Array.isArray(parsedPrivate) && !Array.isArray(parsedPublic)
      && parsedPrivate.getPublicSSH().equals(parsedPublic.getPublicSSH());
    if (usable) return { privateKey: pair.private, publicKey: pair.public.trim() };
    if (attempt === 16) throw new Error("ssh2 produced 16 unreadable ed25519 key pairs in a row");
  }
}

/** The OpenSSH public key line of a private key (OpenSSH or PEM), or an error naming why not. */
export function publicKeyOf(privateKey: string, passphrase?: string, comment = "launchpad-deploy"): string {
  const parsed = utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw new Error(`the deploy private key cannot be read: ${key.message.replace(/[\r\n].*/s, "")}`);
  return `${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`;
}
