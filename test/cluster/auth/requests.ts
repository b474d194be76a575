/**
 * What a request asks to do, in the authorizer's terms (verb, group, resource, subresource,
 * name, namespace — or a non-resource path), and the 403 the real API server answers when
 * RBAC says no (`responsewriters.Forbidden`'s wording).
 */
import type { Target } from "../apiserver/rest.ts";
import { ApiError } from "../apiserver/status.ts";
import { queryFlag } from "../apiserver/queryFlag.ts";
import type { Attributes } from "./rbac.ts";

/** A REST request's attributes; `namespaces/NAME` is in the namespace NAME, as the real RequestInfo has it. */
export function resourceAttributes(method: string, target: Target, query: URLSearchParams): Attributes {
  const { type, name, subresource } = target;
  const namespace = type.kind === "Namespace" ? name : target.namespace;
  const verb =
    method === "GET"
      ? name === undefined
        ? queryFlag(query, "watch") ? "watch" : "list"
        : "get"
      : method === "POST"
        ? "create"
        : method === "PUT"
          ? "update"
          : method === "PATCH"
            ? "patch"
            : method === "DELETE"
              ? name === undefined ? "deletecollection" : "delete"
              : method.toLowerCase();
  return {
    kind: "resource",
    verb,
    group: type.group,
    resource: type.plural,
    ...(subresource ? { subresource } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

/** `pods "web" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "shop"`. */
export function forbidden(user: string, attributes: Attributes, reason = ""): ApiError {
  const suffix = reason ? `: ${reason}` : "";
  if (attributes.kind === "path") return new ApiError(403, "Forbidden", `forbidden: User "${user}" cannot ${attributes.verb} path "${attributes.path}"${suffix}`);
  const { verb, group, resource, subresource, name, namespace } = attributes;
  const shown = subresource ? `${resource}/${subresource}` : resource;
  const where = namespace ? `in the namespace "${namespace}"` : "at the cluster scope";
  const qualified = group ? `${resource}.${group}` : resource;
  const subject = name ? `${qualified} "${name}"` : qualified;
  return new ApiError(403, "Forbidden", `${subject} is forbidden: User "${user}" cannot ${verb} resource "${shown}" in API group "${group}" ${where}${suffix}`, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    kind: resource,
  });
}
