import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import { createHealth, isHeapFault } from "./health.ts";
import { post, smallApp } from "./testing.ts";

Deno.test("isHeapFault() knows wasm traps and failed allocations, not ordinary errors", () => {
  assert.ok(isHeapFault(new WebAssembly.RuntimeError("memory access out of bounds")));
  assert.ok(
    isHeapFault(new Error("Out of bounds memory access (evaluating 'this.wasm._malloc(n)')")),
  );
  assert.ok(isHeapFault(new RangeError("Array buffer allocation failed")));
  assert.ok(isHeapFault(new Error("Aborted(OOM)")));
  assert.ok(!isHeapFault(new Error('Invalid "prompt": expected string')));
  assert.ok(!isHeapFault(new Error("The server is at capacity; retry later")));
});

/** Make the wasm backend's `name` kernel trap as a corrupt heap does; returns the undo. */
function injectFault(name: string): () => void {
  const kernel = tf.getKernel(name, "wasm")!;
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({
    ...kernel,
    kernelFunc: () => {
      throw new WebAssembly.RuntimeError("memory access out of bounds");
    },
  });
  return () => {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(kernel);
  };
}

Deno.test("a backend fault poisons the server: 503 everywhere, open streams end in an error", async () => {
  const health = createHealth();
  const told: string[] = [];
  health.onPoisoned((reason) => told.push(reason));
  const { app } = await smallApp(undefined, { health, backend: "wasm" });
  const before = await (await app.request(post("/v1/perplexity", { text: "the said" }))).json();
  assert.ok(Number.isFinite(before.perplexity));

  const open = await app.request(post("/v1/generate", { max_tokens: 2048 }));
  const reader = open.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = (await reader.read()).value!;
  assert.match(text, /^event: token/);
  const undo = injectFault("Softmax"); // scoring's −log p and sampling both use it
  let res: Response;
  try {
    res = await app.request(post("/v1/perplexity", { text: "the said" }));
  } finally {
    undo();
  }
  assert.equal(res.status, 503);
  const reason = /The backend failed \(memory access out of bounds\); the server must restart/;
  assert.match((await res.json()).error.message, reason);
  // The open stream ends with an error event, not with more tokens from a suspect heap.
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    text += r.value;
  }
  assert.match(text, /event: error\ndata: \{"error":\{"message":"The backend failed/);
  assert.doesNotMatch(text, /event: done/);

  const h = await app.request("/health");
  assert.equal(h.status, 503);
  const hb = await h.json();
  assert.equal(hb.status, "poisoned");
  assert.match(hb.reason, reason);
  for (const path of ["/v1/generate", "/v1/completions", "/v1/perplexity", "/tokenize"]) {
    const r = await app.request(post(path, { prompt: "the", text: "the" }));
    assert.equal(r.status, 503, path);
    assert.equal((await r.json()).error.type, "service_unavailable");
  }
  assert.equal(told.length, 1);
  assert.match(told[0]!, reason);
});
