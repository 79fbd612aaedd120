// The ProxyRoute hooks, as the dynamic-provider host calls them through forwardingProvider("proxy").
// Host output goes through the host's console passthrough (stderr), never pulumi.log.

import type * as pulumi from "@pulumi/pulumi";
import { definedOnly } from "../hostValues";
import { ValidationError, redactingProvider } from "../errors";
import { createRoute, deleteRoute, readRoute, routeId, updateRoute } from "./apply";
import { diffRoute } from "./diff";
import { parseRouteInputs, parseStoredRoute, type ProxyRouteInputs } from "./schema";

export { diffRoute, ROUTE_DIFF_TABLE } from "./diff";
export { renderRoute, renderHttpRoute, renderStreamRoute, renderSharedHttpInclude, hostLayout } from "./render";
export { parseRouteInputs, UNKNOWN, type ProxyRouteInputs, type ProxyRouteOutputs } from "./schema";

/** Inputs that passed check; anything else here means the engine skipped check. */
function completeInputs(props: Record<string, unknown>): ProxyRouteInputs {
  const outcome = parseRouteInputs(props);
  if (!outcome.ok) throw new ValidationError(outcome.problems);
  if (!outcome.complete) throw new ValidationError([{ property: "(inputs)", reason: "values are still unknown" }]);
  return outcome.inputs;
}

/**
 * The host does not add `__provider` to an init-failed resource's properties, and a later delete
 * rebuilds the provider from exactly those properties: put it there.
 */
function withProviderText(error: unknown, inputs: Record<string, unknown>): void {
  const properties = (error as { properties?: Record<string, unknown> })?.properties;
  if (properties) properties.__provider = inputs.__provider;
}

export const provider: pulumi.dynamic.ResourceProvider = redactingProvider({
  // The proxy host's credentials travel with each route (secret inputs); nothing to configure.
  async configure() {},

  async check(_olds, news) {
    const outcome = parseRouteInputs(news);
    if (!outcome.ok) return { inputs: news, failures: outcome.problems };
    return { inputs: definedOnly(outcome.inputs) };
  },

  async diff(_id, olds, news) {
    const outcome = parseRouteInputs(news);
    const inputs = outcome.ok ? outcome.inputs : news;
    return diffRoute(parseStoredRoute(olds), inputs as Record<string, unknown>, outcome.ok && outcome.complete);
  },

  async create(inputs) {
    try {
      const { id, outs } = await createRoute(completeInputs(inputs));
      return { id, outs: definedOnly(outs) };
    } catch (error) {
      withProviderText(error, inputs);
      throw error;
    }
  },

  async read(id, props) {
    const stored = parseStoredRoute(props);
    const now = await readRoute(stored);
    // An empty id tells the engine the route is gone, so refresh drops it from state.
    if (!now) return { id: "", props: {} };
    return { id: id || routeId(stored.proxy, stored.configPath), props: definedOnly(now) };
  },

  async update(_id, olds, news) {
    try {
      return { outs: definedOnly(await updateRoute(parseStoredRoute(olds), completeInputs(news))) };
    } catch (error) {
      withProviderText(error, news);
      throw error;
    }
  },

  async delete(_id, props) {
    await deleteRoute(parseStoredRoute(props));
  },
});
