/**
 * Bundles the in-browser page: `web/dist/` holds index.html, rotor.js (web/rotor_web.ts with
 * tfjs-core and the wasm backend), `chunk-*.js` (the webgpu backend, loaded on use, and what
 * it shares with rotor.js) and the wasm backend's `.wasm` files, which a browser may compile
 * from fetched bytes. Serve the repository root with any static file server and open
 * /web/dist/ (the page's default model is ../../models/ptb-ugru/).
 *
 *   deno run -A web/build.ts
 */
import * as esbuild from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { commonOptions } from "../edge/build.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const WEB_DIST = join(ROOT, "web/dist");

/** Build the page into `outdir`; returns the folder. */
export async function buildWeb(outdir = WEB_DIST): Promise<string> {
  await mkdir(outdir, { recursive: true });
  await esbuild.build({
    ...commonOptions(),
    entryPoints: { rotor: join(ROOT, "web/rotor_web.ts") },
    outdir,
    // The webgpu backend is imported only when a tab uses it: a chunk of its own.
    splitting: true,
    chunkNames: "chunk-[hash]",
  });
  await copyFile(join(ROOT, "web/index.html"), join(outdir, "index.html"));
  const wasmDir = dirname(fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")));
  for (const f of ["tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm.wasm"]) {
    await copyFile(join(wasmDir, f), join(outdir, f));
  }
  return outdir;
}

if (import.meta.main) {
  console.log(`wrote ${await buildWeb()}`);
  await esbuild.stop();
}
