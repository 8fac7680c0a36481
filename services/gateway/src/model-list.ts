import type { Bus, RequestOptions } from "@asgard/bus";
import { RPC, type ListModelsResponse, type ModelInfo, type Tenant } from "@asgard/contracts";

/**
 * Reads a tenant's whole model list for `GET /mlops/models` without parameters. The gateway
 * keeps the last list it sent to each tenant, serialized, with the registry's generation of it;
 * every request asks the registry whether that generation is still current (a small round
 * trip), and only a changed list travels over NATS, is validated and serialized again. Never
 * staler than the registry's own cache.
 */
export interface ModelListReader {
  /** The JSON text of every model of the tenant, as a bare array; `opts` go with every request (trace headers). */
  allModelsJson(bus: Bus, tenant: Tenant, opts?: RequestOptions): Promise<string>;
}

/** A list that changes while it is read page by page is read again, this many times at most. */
const READ_ATTEMPTS = 3;
/** Tenants whose last list is kept; the least recently asked for goes first. */
const HELD_TENANTS = 64;

export function createModelListReader(): ModelListReader {
  const held = new Map<Tenant, { generation: string; json: string }>();

  function hold(tenant: Tenant, list: { generation: string; json: string }): void {
    held.delete(tenant);
    held.set(tenant, list);
    if (held.size > HELD_TENANTS) held.delete(held.keys().next().value as Tenant);
  }

  /** Every page from `first` on; the generation the pages agree on, or null when it changed meanwhile. */
  async function readPages(bus: Bus, tenant: Tenant, first: ListModelsResponse, opts: RequestOptions | undefined): Promise<{ models: ModelInfo[]; generation: string | null }> {
    const models = [...first.models];
    let page = first;
    let generation: string | null = first.generation;
    while (page.next_page_token !== null) {
      page = await bus.request(RPC.listModels, { tenant, max_results: null, page_token: page.next_page_token }, opts);
      if (page.generation !== generation) generation = null;
      models.push(...page.models);
    }
    return { models, generation };
  }

  return {
    async allModelsJson(bus, tenant, opts) {
      const mine = held.get(tenant);
      let first = await bus.request(RPC.listModels, { tenant, max_results: null, page_token: null, if_generation: mine?.generation ?? null }, opts);
      if (first.not_modified && mine) return mine.json;
      for (let attempt = 1; ; attempt++) {
        const { models, generation } = await readPages(bus, tenant, first, opts);
        const json = JSON.stringify(models);
        if (generation !== null) {
          hold(tenant, { generation, json });
          return json;
        }
        // The list changed between pages: the pages may disagree; read it again.
        if (attempt >= READ_ATTEMPTS) return json;
        first = await bus.request(RPC.listModels, { tenant, max_results: null, page_token: null }, opts);
      }
    },
  };
}
