/** ResourceQuota controller: publishes each quota's `status.hard` and `status.used`. */
import { usedBy } from "../admission/resourceQuota.ts";
import type { ObjectStore } from "../apiserver/store.ts";
import { canonicalJson } from "../apiserver/canonicalJson.ts";
import { kind, obj, save } from "./objects.ts";

export function reconcileQuotas(store: ObjectStore): void {
  const quotas = store.list(kind("ResourceQuota"));
  if (quotas.length === 0) return;
  const all = store.all();
  for (const quota of quotas) {
    const namespace = quota.metadata.namespace;
    const objects = all.filter(({ resource, object }) => resource.namespaced && object.metadata.namespace === namespace).map(({ resource, object }) => ({ type: resource, object }));
    const status = { hard: obj(obj(quota.spec).hard), used: usedBy(quota, objects) };
    if (canonicalJson(status) !== canonicalJson(quota.status ?? {})) save(store, kind("ResourceQuota"), { ...quota, status });
  }
}
