// The one Proxmox VE client and where its credentials come from.
export { ProxmoxClient, encodeParams, sharedClient, taskDurations } from "./client";
export type { ApiParams, ApiParamValue, FollowUp, HttpMethod, ProxmoxClientOptions, RequestInfo, RequestOptions, RunTaskOptions, RunTaskThenOptions, TaskResult, WaitOptions } from "./client";
export { resolveConnection, endpointProblem, inheritedEndpointProblem, normaliseEndpoint, normaliseApiToken, normaliseFingerprint, ENV } from "./connection";
export type { ProxmoxConnection, ResolveConnectionArgs } from "./connection";
export { parseUpid, isUpid } from "./upid";
export type { Upid } from "./upid";
export { DEFAULT_TASK_POLL, followUpOf, taskPollDelay, taskWarnings } from "./tasks";
export type { TaskPollPolicy } from "./tasks";
export { PinMismatchError, PIN_MISMATCH } from "./tls";
export type * from "./types";
export type { RetryPolicy } from "../retry";
