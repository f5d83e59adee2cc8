/**
 * The in-browser page from the server itself: `/web/` serves web/dist/ (built by web/build.ts:
 * the page, its bundle and the wasm backend's binaries) and `/models/:name/:file` the files of a
 * served model folder, so the page loads a model from the server that serves it and runs it in
 * the tab. Only named files leave the server: the page's (and its bundle's chunks), and for each model loaded from a
 * folder the three model.json names (read through the model loader, which keeps links inside the
 * folder); nothing else of either folder is reachable.
 */
import type { Context, Handler } from "hono";
import { errorBody } from "./errors.ts";
import type { Deps } from "./deps.ts";
import { preview } from "./json_body.ts";

/** The files of web/dist/ the server hands out, with their content types. */
export const WEB_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "rotor.js": "text/javascript; charset=utf-8",
  "tfjs-backend-wasm.wasm": "application/wasm",
  "tfjs-backend-wasm-simd.wasm": "application/wasm",
};

/** The bundle's chunks (web/build.ts splits the webgpu backend off), named by content hash. */
const CHUNK = /^chunk-[A-Z0-9]{8}\.js$/;

/** The content type of a file of the built page, or undefined for a name not served. */
export function webFileType(name: string): string | undefined {
  return Object.hasOwn(WEB_FILES, name)
    ? WEB_FILES[name]
    : CHUNK.test(name)
    ? WEB_FILES["rotor.js"]
    : undefined;
}

/** Reads a file of the built page by name; throws when it is missing. */
export type WebFileReader = (name: string) => Promise<Uint8Array>;

/**
 * web/dist/ beside this server, read with node:fs (imported only here, as for the playground).
 * The folder's URL is made on first read, not before: a bundle (edge/) has no file URL to
 * build it from, and answers 404 for /web/.
 */
export function distReader(dist?: URL): WebFileReader {
  return async (name) => {
    const fs = await import("node:fs/promises");
    return await fs.readFile(new URL(name, dist ?? new URL("../web/dist/", import.meta.url)));
  };
}

const base64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const sha256B64 = async (text: string) =>
  `'sha256-${base64(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))}'`;

/**
 * The page's Content-Security-Policy: its own inline script and style by hash, scripts and
 * wasm from this server only ('wasm-unsafe-eval' lets the backend compile its binary), and
 * fetches to this server only, so the page cannot be pointed at another origin's model.
 */
export async function pagePolicy(html: string): Promise<string> {
  const inline = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!);
  const scripts = await Promise.all(inline("script").map(sha256B64));
  const styles = await Promise.all(inline("style").map(sha256B64));
  return [
    "default-src 'none'",
    `script-src 'self' 'wasm-unsafe-eval' ${scripts.join(" ")}`,
    `style-src ${styles.join(" ") || "'none'"}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const notFound = (c: Context, message: string) =>
  c.json(errorBody("not_found_error", message, null), 404);

/** GET /web/ and /web/:file: the built page, with a strict policy on the HTML. */
export function webPageHandler(read: WebFileReader = distReader()): Handler {
  let policy: Promise<string> | undefined;
  return async function webPage(c) {
    const name = c.req.param("file") ?? "index.html";
    const type = webFileType(name);
    if (type === undefined) return notFound(c, `No file ${JSON.stringify(preview(name))} in /web/`);
    let body: Uint8Array;
    try {
      body = await read(name);
    } catch {
      return notFound(
        c,
        `The web page is not built ("${name}" is missing): run deno run -A web/build.ts`,
      );
    }
    const headers: Record<string, string> = {
      "content-type": type,
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    };
    if (name === "index.html") {
      // The policy is fixed by the built page; a rebuilt page needs a restart, as the bundle.
      policy ??= pagePolicy(new TextDecoder().decode(body));
      headers["content-security-policy"] = await policy;
      headers["referrer-policy"] = "no-referrer";
    }
    return c.body(body as Uint8Array<ArrayBuffer>, 200, headers);
  };
}

/** GET /models/:name/:file: a file that a served model's model.json names, and nothing else. */
export function modelFileHandler(deps: Deps): Handler {
  return async function modelFile(c) {
    const name = c.req.param("name")!;
    const file = c.req.param("file")!;
    const folder = deps.models.get(name)?.folder;
    if (folder === undefined || !folder.files.includes(file)) {
      return notFound(
        c,
        `No file ${JSON.stringify(preview(file))} of a model ${JSON.stringify(preview(name))}`,
      );
    }
    // Read again through the model loader: a file that became a link out of the folder since
    // the model was loaded is refused. What the page gets, it checks against model.json's hashes.
    let body: Uint8Array;
    try {
      body = await folder.read(file);
    } catch {
      // The loader's message names the folder on disk, which is not the client's to know.
      return notFound(c, `File ${JSON.stringify(file)} of model ${JSON.stringify(name)} is gone`);
    }
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": file.endsWith(".json")
        ? "application/json"
        : file.endsWith(".txt")
        ? "text/plain; charset=utf-8"
        : "application/octet-stream",
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "same-origin",
      "cache-control": "no-cache",
    });
  };
}
