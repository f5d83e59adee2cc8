import assert from "node:assert/strict";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModel, sha256Hex } from "../shared/model_format.ts";
import { tempDir } from "../shared/testing.ts";
import { createApp } from "./app.ts";
import { modelFolder, serveModel } from "./models.ts";
import { smallModelDir } from "./testing.ts";
import { pagePolicy, type WebFileReader } from "./web_page.ts";

const PAGE = `<!doctype html><style>p{color:red}</style><p>hi</p>
<script type="module">import { openModel } from "./rotor.js";</script>`;

/** The built page's files, as web/build.ts writes them, from memory. */
const files: Record<string, string> = {
  "index.html": PAGE,
  "rotor.js": "export const openModel = 1;",
  "chunk-B2F7CKFN.js": "export const x = 1;",
  "tfjs-backend-wasm.wasm": "\0asm",
};
const reader: WebFileReader = (name) =>
  name in files
    ? Promise.resolve(new TextEncoder().encode(files[name]))
    : Promise.reject(new Error(`missing ${name}`));

async function appWithFolder(options: { webFiles?: WebFileReader; host?: string } = {}) {
  const dir = await smallModelDir();
  const loaded = await loadModel(dir);
  const model = serveModel("tiny", loaded, { maxActive: 2, maxQueue: 2 });
  model.folder = modelFolder(dir, loaded.meta);
  // A second served model loaded from a URL has no folder: nothing of it is served.
  const remote = serveModel("remote", loaded, { maxActive: 2, maxQueue: 2 });
  const app = createApp({
    models: new Map([["tiny", model], ["remote", remote]]),
    webFiles: options.webFiles ?? reader,
  });
  return { app, dir, meta: loaded.meta };
}

Deno.test("GET /web/ serves the built page with a policy that allows its inline code by hash", async () => {
  const { app } = await appWithFolder();
  const res = await app.request("/web/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await res.text(), PAGE);
  const csp = res.headers.get("content-security-policy")!;
  assert.equal(csp, await pagePolicy(PAGE));
  assert.match(csp, /^default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'sha256-[^']+'; /);
  assert.match(csp, /style-src 'sha256-[^']+'; connect-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");

  const js = await app.request("/web/rotor.js");
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(await js.text(), files["rotor.js"]);
  assert.equal(
    (await app.request("/web/tfjs-backend-wasm.wasm")).headers.get("content-type"),
    "application/wasm",
  );
  const chunk = await app.request("/web/chunk-B2F7CKFN.js");
  assert.equal(chunk.headers.get("content-type"), "text/javascript; charset=utf-8");
  const bare = await app.request("/web");
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get("location"), "/web/");
});

Deno.test("GET /web/ serves only the page's own files, and says how to build a missing one", async () => {
  const { app } = await appWithFolder();
  for (
    const path of [
      "/web/build.ts",
      "/web/..%2Fdeno.json",
      "/web/%2e%2e/server/app.ts",
      "/web/chunk-..%2F..%2Fx.js",
      "/web/constructor",
    ]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).error.type, "not_found_error");
  }
  const missing = await app.request("/web/tfjs-backend-wasm-simd.wasm");
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error.message, /not built .*web\/build\.ts/);
});

Deno.test("GET /models/:name/:file serves the three files model.json names, as on disk", async () => {
  const { app, dir, meta } = await appWithFolder();
  const json = await app.request("/models/tiny/model.json");
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.equal(json.headers.get("cross-origin-resource-policy"), "same-origin");
  assert.equal(await json.text(), await Deno.readTextFile(join(dir, "model.json")));
  const weights = await app.request(`/models/tiny/${meta.weights.file}`);
  assert.equal(await sha256Hex(new Uint8Array(await weights.arrayBuffer())), meta.weights.sha256);
  const vocab = await app.request(`/models/tiny/${meta.vocab.file}`);
  assert.equal(await sha256Hex(new Uint8Array(await vocab.arrayBuffer())), meta.vocab.sha256);
});

Deno.test("GET /models/:name/:file refuses other files, unserved models and links out of the folder", async () => {
  const { app, dir } = await appWithFolder();
  await writeFile(join(dir, "notes.txt"), "private");
  const outside = join(await tempDir("rotor-outside-"), "secret.txt");
  await writeFile(outside, "secret");
  for (
    const path of [
      "/models/tiny/notes.txt",
      "/models/tiny/tokenizer.json",
      "/models/tiny/..%2F..%2Fetc%2Fpasswd",
      "/models/remote/model.json",
      "/models/missing/model.json",
    ]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(await res.text(), /private|secret/);
  }
  // A named file swapped for a link out of the folder after loading is refused, without a path.
  const linked = await tempDir("rotor-linked-");
  for (const f of ["model.json"]) await Deno.copyFile(join(dir, f), join(linked, f));
  const loaded = await loadModel(dir);
  const model = serveModel("linked", loaded, { maxActive: 2, maxQueue: 2 });
  model.folder = modelFolder(linked, loaded.meta);
  await symlink(outside, join(linked, loaded.meta.vocab.file));
  const app2 = createApp({ models: new Map([["linked", model]]) });
  const res = await app2.request(`/models/linked/${loaded.meta.vocab.file}`);
  assert.equal(res.status, 404);
  const text = await res.text();
  assert.doesNotMatch(text, /secret|rotor-/);
});

Deno.test("GET /web/ and /models/ keep the Host guard", async () => {
  const { app } = await appWithFolder();
  for (const path of ["/web/", "/models/tiny/model.json"]) {
    const res = await app.request(`http://rebound.example${path}`);
    assert.equal(res.status, 403, path);
  }
});
