/**
 * Bundles rotor for the edge with esbuild: `edge/dist/` holds the Worker (worker.js) and the
 * wasm backend's SIMD binary beside it, which the Worker imports as a module.
 *
 * workerd (like Cloudflare) refuses to compile WebAssembly from bytes ("Wasm code generation
 * disallowed by embedder"), which is how tfjs-backend-wasm starts: it fetches its `.wasm` and
 * instantiates the bytes. The bundle instead imports the binary statically (the runtime
 * compiles it at upload) and hands that module to Emscripten's `instantiateWasm` hook; the
 * patch below is the one place that knows tfjs-backend-wasm's init code.
 *
 * Only tfjs-core and the wasm backend go in: `@tensorflow/tfjs` (the union package shared/tf.ts
 * imports for the trainer's gradients, layers and the rest) is aliased to tfjs-core.
 *
 *   deno run -A edge/build.ts            # writes edge/dist/
 */
import * as esbuild from "esbuild";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const EDGE_DIST = join(ROOT, "edge/dist");
/** The SIMD build: what Deno and Bun run on one thread, so that results are bit-equal. */
export const WASM_FILE = "tfjs-backend-wasm-simd.wasm";
const WASM_MODULE = "rotor:wasm-module";

/** The text that tfjs-backend-wasm 4.22's init() has where Emscripten's config is built. */
const INIT_HOOK = "if (customFetch) {";

/**
 * Makes tfjs-backend-wasm instantiate the statically imported module; refuses to build if the
 * backend's code no longer has the spot this patches (a tfjs upgrade must look at it again).
 */
export function staticWasmPlugin(): esbuild.Plugin {
  return {
    name: "static-wasm",
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${WASM_MODULE}$`) }, () => ({
        path: `./${WASM_FILE}`,
        external: true,
      }));
      build.onLoad({ filter: /tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/ }, async (args) => {
        const src = await readFile(args.path, "utf8");
        if (!src.includes(INIT_HOOK)) {
          throw new Error(`${args.path} no longer has "${INIT_HOOK}": update edge/build.ts`);
        }
        const hook = `if (staticWasm) {
            factoryConfig.instantiateWasm = (imports, callback) => {
                WebAssembly.instantiate(staticWasm, imports)
                    .then((instance) => callback(instance, staticWasm), reject);
                return {};
            };
        } else ${INIT_HOOK}`;
        return {
          contents: `import staticWasm from "${WASM_MODULE}";\n` + src.replace(INIT_HOOK, hook),
          loader: "js",
        };
      });
    },
  };
}

/** esbuild options both bundles share: tfjs-core only, no Node detection. */
export function commonOptions(): esbuild.BuildOptions {
  return {
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    alias: { "@tensorflow/tfjs": "@tensorflow/tfjs-core" },
    // tfjs-core and Emscripten take a runtime with `process.versions.node` for Node and then
    // require() its modules; workerd with Node compatibility has that object.
    define: { "process.versions.node": "undefined" },
    // Node modules the server imports only on Deno/Bun paths (lazily) or that workerd provides.
    external: ["node:*"],
    logLevel: "warning",
  };
}

/** Build the Worker into `outdir`; returns the bundle's path. */
export async function buildEdge(outdir = EDGE_DIST): Promise<string> {
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, "worker.js");
  await esbuild.build({
    ...commonOptions(),
    entryPoints: [join(ROOT, "edge/worker.ts")],
    outfile,
    conditions: ["workerd", "worker", "browser"],
    define: {
      ...commonOptions().define,
      ROTOR_PLAYGROUND: JSON.stringify(
        await readFile(join(ROOT, "server/playground.html"), "utf8"),
      ),
    },
    plugins: [staticWasmPlugin()],
  });
  const wasmDir = dirname(fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")));
  await copyFile(join(wasmDir, WASM_FILE), join(outdir, WASM_FILE));
  return outfile;
}

if (import.meta.main) {
  const out = await buildEdge();
  await esbuild.stop();
  console.log(`wrote ${out}`);
}
