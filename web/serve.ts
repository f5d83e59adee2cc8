/**
 * The page as static files: web/dist/ (built by web/build.ts) and models/ from the repository,
 * as any static file server would serve them. Open http://127.0.0.1:8080/web/dist/.
 *
 *   deno run -A web/build.ts && deno run -A web/serve.ts [port]
 */
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
};
/** The folders served; nothing else of the repository is. */
export const SERVED = ["web/dist", "models"];

/** Serve `dirs` (repository-relative) on loopback; port 0 picks a free one. */
export function serveStatic(port = 0, dirs = SERVED): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = normalize(decodeURIComponent(new URL(req.url).pathname)).replace(/^\/+/, "");
    const file = path === "" || path.endsWith("/") ? join(path, "index.html") : path;
    if (!dirs.some((dir) => file.startsWith(dir + "/"))) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await readFile(join(ROOT, file));
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

if (import.meta.main) {
  const server = serveStatic(Number(Deno.args[0] ?? 8080));
  console.log(`open http://127.0.0.1:${server.addr.port}/web/dist/`);
}
