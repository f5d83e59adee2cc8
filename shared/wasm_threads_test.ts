import assert from "node:assert/strict";
import { wasmThreadsFromEnv } from "./backend.ts";

// The threaded backend has to start in a fresh process: this one already runs the test
// suite's single-threaded backend.
const CHECK = `
import { initBackend } from "./shared/backend.ts";
import { startedThreads } from "./shared/wasm_threads.ts";
import { tf } from "./shared/tf.ts";
const choice = await initBackend("wasm", { threads: 2 });
// A product big enough for XNNPACK to split, against a float64 reference.
const m = 64, k = 48, n = 300;
const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
const got = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync();
let worst = 0;
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let x = 0; x < k; x++) s += a[i * k + x] * b[x * n + j];
  worst = Math.max(worst, Math.abs(s - got[i * n + j]));
}
const webWorker = typeof Worker === "function" && "onmessage" in Worker.prototype;
console.log(JSON.stringify({ threads: choice.threads, startedThreads, worst, webWorker }));
`;

Deno.test("the threaded wasm backend starts under Deno, computes right, and lets the process exit", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", CHECK],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000), // a pool thread that kept the process alive would hang here
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert.equal(r.threads, 2, stderr);
  assert.equal(r.startedThreads, 1); // the caller's thread plus one pool thread, not eight
  assert.ok(r.worst < 1e-3, `largest error ${r.worst}`);
  assert.equal(r.webWorker, true); // the global Worker is the web one again
});

Deno.test("WASM_THREADS is read as 1…64, 1 where unset", () => {
  const saved = process.env.WASM_THREADS;
  try {
    delete process.env.WASM_THREADS;
    assert.equal(wasmThreadsFromEnv(), 1);
    assert.equal(wasmThreadsFromEnv(2), 2); // a command's own default
    assert.equal(wasmThreadsFromEnv(2, { WASM_THREADS: "1" }), 1); // an env record given
    process.env.WASM_THREADS = "3";
    assert.equal(wasmThreadsFromEnv(), 3);
    for (const bad of ["0", "65", "1.5", "x"]) {
      process.env.WASM_THREADS = bad;
      assert.throws(() => wasmThreadsFromEnv(), /WASM_THREADS must be an integer from 1 to 64/);
    }
  } finally {
    if (saved === undefined) delete process.env.WASM_THREADS;
    else process.env.WASM_THREADS = saved;
  }
});
