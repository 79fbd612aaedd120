import * as pulumi from "@pulumi/pulumi";

/**
 * The provider object handed to `pulumi.dynamic.Resource`. Pulumi serializes it into every
 * resource's state and a later `pulumi destroy` (maybe on another machine, from another path,
 * with a newer version of this package) runs that text. So it holds nothing but the module's
 * package-relative name: each hook requires the installed provider code and forwards to it.
 * No paths, no credentials, no clients are captured.
 */
export function forwardingProvider(resourceModule: "container" | "proxy" | "dns" | "deploy" | "acl" | "acme"): pulumi.dynamic.ResourceProvider {
  const load = () => require("pulumi-launchpad/provider/" + resourceModule).provider as pulumi.dynamic.ResourceProvider;
  return {
    configure: (req) => load().configure!(req),
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}
