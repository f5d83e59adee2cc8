/**
 * Which model a request is for, read the way the app reads it: the `:id` of
 * /v1/models/:id/…, else a JSON body's `model`, else the default (the first). A body is read
 * here (the Durable Object gets a copy); one over the limit, or not JSON, goes to the default
 * model, whose app answers it as the Deno server would.
 */
import { DEFAULT_LIMITS } from "../server/limits.ts";

export async function modelOf(
  req: Request,
  urls: ReadonlyMap<string, string>,
  maxBodyBytes = DEFAULT_LIMITS.maxBodyBytes,
): Promise<{ name: string; request: Request }> {
  const fallback = urls.keys().next().value!;
  const path = new URL(req.url).pathname.match(/^\/v1\/models\/([^/]+)/);
  if (path) {
    const id = decodeURIComponent(path[1]!);
    return { name: urls.has(id) ? id : fallback, request: req };
  }
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (req.method !== "POST" || !req.body || declared > maxBodyBytes) {
    return { name: fallback, request: req };
  }
  const body = await req.arrayBuffer();
  const request = new Request(req, { body });
  if (body.byteLength > maxBodyBytes) return { name: fallback, request };
  let model: unknown;
  try {
    model = (JSON.parse(new TextDecoder().decode(body)) as { model?: unknown })?.model;
  } catch {
    // the app answers the malformed body
  }
  return { name: typeof model === "string" && urls.has(model) ? model : fallback, request };
}
