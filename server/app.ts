/**
 * The rotor HTTP API as a Hono app, independent of the runtime that serves it.
 *
 * @example
 * const models = await loadModels(await findModelDirs("models"), { maxActive: 32, maxQueue: 64 });
 * Deno.serve({ port: 8000 }, createApp({ models }).fetch);
 */
import { sharing } from "./yield.ts";
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyReader } from "./body_read.ts";
import { DEFAULT_LIMITS, type Deps, type Limits } from "./deps.ts";
import { createWorkSlots } from "./work_slots.ts";
import { ApiError, errorBody, errorResponse } from "./errors.ts";
import { createHealth, type Health } from "./health.ts";
import { preview } from "./json_body.ts";
import { browserGuard, type BrowserPolicy, defaultBrowserPolicy } from "./origin.ts";
import { createMetrics, inc, labels, type Metrics, observe } from "./metrics.ts";
import type { ModelFailure, ServedModel } from "./models.ts";
import { completionsHandler } from "./routes/completions.ts";
import { generateHandler } from "./routes/generate.ts";
import { healthHandler, metricsHandler, modelHandler, modelsHandler } from "./routes/info.ts";
import { perplexityHandler } from "./routes/perplexity.ts";
import { detokenizeHandler, tokenizeHandler } from "./routes/tokenize.ts";
import { hfTokenizerHandler, tokenizerInfoHandler } from "./routes/tokenizer_info.ts";
import { modelFileHandler, type WebFileReader, webPageHandler } from "./web_page.ts";

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
  /** Model folders that could not be loaded (listed by /health and /v1/models). */
  failedModels?: ModelFailure[];
  /** Whether the backend can be trusted; the server's entry point exits when it cannot. */
  health?: Health;
  /** Which Host headers and origins are served (default: loopback names, no CORS). */
  browser?: BrowserPolicy;
  /** The playground page's HTML (default: playground.html beside this file, read on first use). */
  playground?: string;
  /** Where /web/ reads the built in-browser page from (default: web/dist/ of this checkout). */
  webFiles?: WebFileReader;
}

let playgroundHtml: Promise<string> | undefined;
function playground(): Promise<string> {
  // node:fs is imported only here, so a runtime without files can serve the app (edge/).
  playgroundHtml ??= import("node:fs/promises").then((fs) =>
    fs.readFile(new URL("./playground.html", import.meta.url), "utf8")
  );
  return playgroundHtml;
}

export function createApp(options: AppOptions): Hono {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const deps: Deps = {
    models: options.models,
    defaultModel: options.defaultModel,
    limits,
    work: createWorkSlots(limits.maxPendingWork),
    metrics: options.metrics ?? createMetrics(),
    health: options.health ?? createHealth(),
    failedModels: options.failedModels ?? [],
  };
  // A poisoned backend ends every open stream (with an `error` event) and takes no more work.
  deps.health.onPoisoned((reason) => {
    for (const m of deps.models.values()) m.engine.close(new Error(reason));
  });
  const app = new Hono();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    // Counted while its handler runs: a computation in blocks then takes shorter turns.
    const handled = sharing();
    try {
      await next();
    } finally {
      handled();
    }
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    inc(deps.metrics.requests, labels({ route, status: c.res.status }));
    const key = labels({ route });
    const done = () => observe(deps.metrics.requestSeconds, key, (performance.now() - t0) / 1000);
    const res = c.res;
    // The content type first: reading `body` turns a buffered answer into a stream, and Deno
    // then holds the connection (its descriptor and native memory) of an answer sent while the
    // request's body was still being read, e.g. a 408, until the process ends.
    if (res.headers.get("content-type")?.startsWith("text/event-stream") && res.body) {
      // A stream's latency runs to its last byte.
      c.res = new Response(res.body.pipeThrough(new TransformStream({ flush: done })), res);
    } else done();
  });
  app.use("*", browserGuard(options.browser ?? defaultBrowserPolicy()));
  app.use("*", async (c, next) => {
    const reason = deps.health.poisoned();
    if (reason === undefined || c.req.path === "/health" || c.req.path === "/metrics") {
      return await next();
    }
    return c.json(errorBody("service_unavailable", reason, null), 503);
  });
  app.use("*", bodyReader(deps.limits));

  app.get("/", async (c) => c.html(options.playground ?? await playground()));
  app.get(
    "/health",
    healthHandler(deps, options.backend ?? "unknown", options.ready ?? (() => true)),
  );
  app.get("/metrics", metricsHandler(deps));
  // The in-browser page, and the served models' files for it to load.
  const webPage = webPageHandler(options.webFiles);
  app.get("/web", (c) => c.redirect("/web/", 301));
  app.get("/web/", webPage);
  app.get("/web/:file", webPage);
  app.get("/models/:name/:file", modelFileHandler(deps));
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
    c.json(
      errorBody("not_found_error", `No route for ${c.req.method} ${preview(c.req.path)}`, null),
      404,
    )
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (deps.health.check(err)) {
      return c.json(errorBody("service_unavailable", deps.health.poisoned()!, null), 503);
    }
    // The client left while its request waited (see inBlocks): nobody reads the answer, and
    // it is no server error. 499, nginx's "client closed request", is what the metrics count.
    if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
    console.error(err);
    return c.json(errorBody("server_error", err.message.slice(0, 200), null), 500);
  });
  return app;
}
