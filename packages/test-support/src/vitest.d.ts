// vitest's own declarations first: the augmentation below extends them.
import type {} from "vitest";
import type { TestInfra } from "./infra.js";

/**
 * Types `inject("infra")` for every test of a package that lists this entry in its
 * tsconfig's `types` (the global setup provides it).
 */
declare module "vitest" {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}
