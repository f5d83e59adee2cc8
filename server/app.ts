/**
 * The rotor HTTP API as a Hono app, independent of the runtime that serves it.
 *
 * @example
 * const models = await loadModels(await findModelDirs("models"), { maxActive: 32, maxQueue: 64 });
 * Deno.serve({ port: 8000 }, createApp({ models }).fetch);
 */
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DEFAULT_LIMITS, type Deps, type Limits } from "./deps.ts";
import { ApiError, errorBody, errorResponse } from "./errors.ts";
import { createMetrics, inc, labels, type Metrics, observe } from "./metrics.ts";
import type { ServedModel } from "./models.ts";
import { completionsHandler } from "./routes/completions.ts";
import { generateHandler } from "./routes/generate.ts";
import { healthHandler, metricsHandler, modelHandler, modelsHandler } from "./routes/info.ts";
import { perplexityHandler } from "./routes/perplexity.ts";
import { detokenizeHandler, tokenizeHandler } from "./routes/tokenize.ts";
import { hfTokenizerHandler, tokenizerInfoHandler } from "./routes/tokenizer_info.ts";

export interface AppOptions {
  /** Served models by name; may fill in after the app starts (health says 503 until then). */
  models: ReadonlyMap<string, ServedModel>;
  /** The model used when a request names none (default: the first). */
  defaultModel?: string;
  limits?: Partial<Limits>;
  /** The tfjs backend, for /health. */
  backend?: string;
  /** False while models are still loading. */
  ready?: () => boolean;
  metrics?: Metrics;
}

let playgroundHtml: string | undefined;
function playground(): string {
  playgroundHtml ??= readFileSync(new URL("./playground.html", import.meta.url), "utf8");
  return playgroundHtml;
}

export function createApp(options: AppOptions): Hono {
  const deps: Deps = {
    models: options.models,
    defaultModel: options.defaultModel,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    metrics: options.metrics ?? createMetrics(),
  };
  const app = new Hono();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    inc(deps.metrics.requests, labels({ route, status: c.res.status }));
    const key = labels({ route });
    const done = () => observe(deps.metrics.requestSeconds, key, (performance.now() - t0) / 1000);
    const res = c.res;
    if (res.body && res.headers.get("content-type")?.startsWith("text/event-stream")) {
      // A stream's latency runs to its last byte.
      c.res = new Response(res.body.pipeThrough(new TransformStream({ flush: done })), res);
    } else done();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.limits.maxBodyBytes,
      onError: (c) =>
        c.json(
          errorBody(
            "request_too_large",
            `Request body is larger than the limit of ${deps.limits.maxBodyBytes} bytes`,
            null,
          ),
          413,
        ),
    }),
  );

  app.get("/", (c) => c.html(playground()));
  app.get(
    "/health",
    healthHandler(deps, options.backend ?? "unknown", options.ready ?? (() => true)),
  );
  app.get("/metrics", metricsHandler(deps));
  app.get("/v1/models", modelsHandler(deps));
  app.get("/v1/models/:id", modelHandler(deps));
  app.post("/v1/generate", generateHandler(deps));
  app.post("/v1/completions", completionsHandler(deps));
  app.post("/v1/perplexity", perplexityHandler(deps));
  app.post("/tokenize", tokenizeHandler(deps));
  app.post("/detokenize", detokenizeHandler(deps));
  app.get("/tokenizer_info", tokenizerInfoHandler(deps));
  app.get("/v1/models/:id/:file{tokenizer(?:_config)?\\.json}", hfTokenizerHandler(deps));

  app.notFound((c: Context) =>
    c.json(errorBody("not_found_error", `No route for ${c.req.method} "${c.req.path}"`, null), 404)
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    console.error(err);
    return c.json(errorBody("server_error", err.message, null), 500);
  });
  return app;
}
