// The root program: one preview environment for this stack's branch, entirely from stack config
// (see Pulumi.yaml). `pulumi up --stack <branch>` is the whole deployment.
import { PreviewEnvironment, previewArgsFromConfig } from "./src/preview";

const preview = new PreviewEnvironment("preview", previewArgsFromConfig());

export const name = preview.previewName;
export const url = preview.url;
export const sshCommand = preview.sshCommand;
export const ipv4 = preview.ipv4;
export const vmid = preview.vmid;
export const node = preview.node;
export const hostname = preview.hostname;
export const ports = preview.ports;
export const deployedRevision = preview.deployedRevision;
