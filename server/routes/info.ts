/** GET /v1/models, /health and /metrics: what is served and how it is doing. */
import type { Context } from "hono";
import type { Deps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { preview } from "../json_body.ts";
import { labels, renderMetrics } from "../metrics.ts";
import process from "node:process";
import { wasmHeapBytes } from "../../shared/wasm_backend.ts";

export function modelsHandler(deps: Deps) {
  return function modelsRoute(c: Context): Response {
    // vLLM's field: the longest sequence (prompt, echo included) the server scores or reads.
    const data = [...deps.models.values()].map((m) => ({
      ...m.card,
      max_model_len: deps.limits.maxPromptTokens,
    }));
    if (deps.failedModels.length === 0) return c.json({ object: "list", data });
    return c.json({ object: "list", data, failed: deps.failedModels });
  };
}

export function modelHandler(deps: Deps) {
  return function modelRoute(c: Context): Response {
    const m = deps.models.get(c.req.param("id") ?? "");
    if (!m) {
      throw new ApiError(
        404,
        "not_found_error",
        `Model ${preview(c.req.param("id") ?? "")} does not exist`,
        "model",
      );
    }
    return c.json({ ...m.card, max_model_len: deps.limits.maxPromptTokens });
  };
}

/** 200 once models are loaded, 503 before (or when none could be) and once poisoned. */
export function healthHandler(deps: Deps, backend: string, ready: () => boolean) {
  return function healthRoute(c: Context): Response {
    const models = [...deps.models.keys()];
    const failed = deps.failedModels.length > 0 ? { failed_models: deps.failedModels } : {};
    const poisoned = deps.health.poisoned();
    if (poisoned !== undefined) {
      return c.json({ status: "poisoned", reason: poisoned, backend, models, ...failed }, 503);
    }
    const ok = ready() && deps.models.size > 0;
    return c.json({ status: ok ? "ok" : "loading", backend, models, ...failed }, ok ? 200 : 503);
  };
}

export function metricsHandler(deps: Deps) {
  return function metricsRoute(c: Context): Response {
    const activeStreams = new Map<string, number>(), queueDepth = new Map<string, number>();
    for (const m of deps.models.values()) {
      const s = m.engine.stats();
      activeStreams.set(labels({ model: m.name }), s.active);
      queueDepth.set(labels({ model: m.name }), s.queued);
    }
    const memory = new Map([[labels({ kind: "wasm_heap" }), wasmHeapBytes()]]);
    try {
      // Bun reads /proc here, which fails when no file descriptor is left: the other metrics
      // are still worth answering.
      const mem = process.memoryUsage();
      memory.set(labels({ kind: "rss" }), mem.rss);
      memory.set(labels({ kind: "js_heap" }), mem.heapUsed);
      memory.set(labels({ kind: "external" }), mem.external);
    } catch {
      // left out this once
    }
    for (const [k, v] of deps.metrics.threadMemory) memory.set(k, v);
    return c.text(renderMetrics(deps.metrics, { activeStreams, queueDepth, memory }), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  };
}
