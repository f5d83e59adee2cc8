/** What every route handler is given: the models, the limits and the metrics. */
import { ApiError } from "./errors.ts";
import { preview } from "./json_body.ts";
import type { Health } from "./health.ts";
import type { Metrics } from "./metrics.ts";
import type { Limits } from "./limits.ts";
import type { ModelFailure, ServedModel } from "./models.ts";
import type { WorkSlots } from "./work_slots.ts";

export type { Limits } from "./limits.ts";
export { DEFAULT_LIMITS, overLimit } from "./limits.ts";

export interface Deps {
  models: ReadonlyMap<string, ServedModel>;
  /** The model used when a request names none; else the first one. */
  defaultModel?: string;
  limits: Limits;
  metrics: Metrics;
  health: Health;
  /** Models that could not be loaded, and why. */
  failedModels: ModelFailure[];
  /** Slots for scoring requests (MAX_PENDING_WORK). */
  work: WorkSlots;
}

/** The requested model, the default one, or a 404 naming what exists. */
export function pickModel(deps: Deps, name: string | undefined): ServedModel {
  const want = name ?? deps.defaultModel ?? deps.models.keys().next().value;
  const m = want === undefined ? undefined : deps.models.get(want);
  if (m) return m;
  if (deps.models.size === 0) {
    throw new ApiError(503, "service_unavailable", "No model is loaded yet", "model");
  }
  throw new ApiError(
    404,
    "not_found_error",
    `Model ${preview(want)} does not exist; available: ${[...deps.models.keys()].join(", ")}`,
    "model",
  );
}
