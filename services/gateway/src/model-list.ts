import type { Bus, RequestOptions } from "@asgard/bus";
import { RPC, type ListModelsResponse, type ModelInfo } from "@asgard/contracts";

/**
 * Reads the whole model list for `GET /mlops/models` without parameters. The gateway keeps
 * the last list it sent, serialized, with the registry's generation of it; every request asks
 * the registry whether that generation is still current (a small round trip), and only a
 * changed list travels over NATS, is validated and serialized again. Never staler than the
 * registry's own cache.
 */
export interface ModelListReader {
  /** The JSON text of every model, as a bare array; `opts` go with every request (trace headers). */
  allModelsJson(bus: Bus, opts?: RequestOptions): Promise<string>;
}

/** A list that changes while it is read page by page is read again, this many times at most. */
const READ_ATTEMPTS = 3;

export function createModelListReader(): ModelListReader {
  let held: { generation: string; json: string } | null = null;

  /** Every page from `first` on; the generation the pages agree on, or null when it changed meanwhile. */
  async function readPages(bus: Bus, first: ListModelsResponse, opts: RequestOptions | undefined): Promise<{ models: ModelInfo[]; generation: string | null }> {
    const models = [...first.models];
    let page = first;
    let generation: string | null = first.generation;
    while (page.next_page_token !== null) {
      page = await bus.request(RPC.listModels, { max_results: null, page_token: page.next_page_token }, opts);
      if (page.generation !== generation) generation = null;
      models.push(...page.models);
    }
    return { models, generation };
  }

  return {
    async allModelsJson(bus, opts) {
      const mine = held;
      let first = await bus.request(RPC.listModels, { max_results: null, page_token: null, if_generation: mine?.generation ?? null }, opts);
      if (first.not_modified && mine) return mine.json;
      for (let attempt = 1; ; attempt++) {
        const { models, generation } = await readPages(bus, first, opts);
        const json = JSON.stringify(models);
        if (generation !== null) {
          held = { generation, json };
          return json;
        }
        // The list changed between pages: the pages may disagree; read it again.
        if (attempt >= READ_ATTEMPTS) return json;
        first = await bus.request(RPC.listModels, { max_results: null, page_token: null }, opts);
      }
    },
  };
}
