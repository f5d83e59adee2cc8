/**
 * rotor on Cloudflare Workers. The Worker routes each request to the Durable Object of the
 * model it names (or the default model), and that one object serves the unchanged Hono app
 * (server/app.ts): its engine batches every concurrent generation of the model, across
 * requests, in one decoder step. A stateless Worker cannot: the engine's loop runs on a timer
 * that belongs to the request that started it, and the runtime cancels it when that request
 * ends.
 *
 * The model is loaded once per isolate (`served`, a module-scope promise), on the first
 * request: workerd forbids fetching at import time, and an object the runtime re-creates in
 * the same isolate reuses the loaded model instead of fetching it again.
 */
import type { Hono } from "hono";
import { createApp } from "../server/app.ts";
import { errorBody } from "../server/errors.ts";
import { readBrowserEnv } from "../server/origin.ts";
import { serveModel } from "../server/models.ts";
import { fetchLoader, loadModelFrom } from "../shared/model_read.ts";
import { startWasm } from "../shared/wasm_backend.ts";
import { EDGE_LIMITS, type EdgeEnv, modelUrls } from "./config.ts";
import { modelOf } from "./route.ts";

/** server/playground.html's text, put in by edge/build.ts. */
declare const ROTOR_PLAYGROUND: string;

/** The Durable Object namespace binding's part rotor uses. */
interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(req: Request): Promise<Response> };
}

export interface Env extends EdgeEnv {
  MODEL: Namespace;
  /** Optional: a service binding the models are fetched through (a static-assets or disk service). */
  MODELS?: { fetch(req: Request | string): Promise<Response> };
}

/** The model a Durable Object serves, in the header the Worker forwards with its request. */
const MODEL_HEADER = "x-rotor-model";

const apps = new Map<string, Promise<Hono>>();
let backend: Promise<void> | undefined;

/** The app serving `name`, loaded on first use and kept for the isolate's lifetime. */
function appFor(env: Env, name: string, url: string): Promise<Hono> {
  let app = apps.get(name);
  if (!app) {
    app = (async () => {
      await (backend ??= startWasm());
      const fetchFn = env.MODELS ? (u: string) => env.MODELS!.fetch(u) : (u: string) => fetch(u);
      const model = serveModel(name, await loadModelFrom(fetchLoader(url, fetchFn)), {
        maxActive: Number(env.MAX_ACTIVE_STREAMS ?? 32),
        maxQueue: Number(env.MAX_QUEUED_STREAMS ?? 64),
      });
      return createApp({
        models: new Map([[name, model]]),
        backend: "wasm",
        limits: EDGE_LIMITS,
        browser: readBrowserEnv({
          ALLOWED_HOSTS: env.ALLOWED_HOSTS ?? "*",
          CORS_ORIGINS: env.CORS_ORIGINS,
        }),
        playground: ROTOR_PLAYGROUND,
      });
    })();
    // A failed load is retried by the next request rather than cached.
    app.catch(() => apps.delete(name));
    apps.set(name, app);
  }
  return app;
}

/** One model's server: every request for the model reaches this one object. */
export class ModelHost {
  constructor(_state: unknown, private readonly env: Env) {}

  async fetch(req: Request): Promise<Response> {
    const name = req.headers.get(MODEL_HEADER) ?? "";
    const url = modelUrls(this.env).get(name);
    if (url === undefined) {
      return Response.json(
        errorBody("not_found_error", `Model "${name}" is not configured`, null),
        {
          status: 404,
        },
      );
    }
    try {
      return await (await appFor(this.env, name, url)).fetch(req);
    } catch (err) {
      const message = `Model "${name}" could not be loaded: ${(err as Error).message}`;
      return Response.json(errorBody("service_unavailable", message.slice(0, 300), null), {
        status: 503,
      });
    }
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    let urls: Map<string, string>;
    try {
      urls = modelUrls(env);
    } catch (err) {
      const body = errorBody("service_unavailable", (err as Error).message, null);
      return Response.json(body, { status: 503 });
    }
    const { name, request } = await modelOf(req, urls);
    const headers = new Headers(request.headers);
    headers.set(MODEL_HEADER, name);
    const stub = env.MODEL.get(env.MODEL.idFromName(name));
    return await stub.fetch(new Request(request, { headers }));
  },
};
