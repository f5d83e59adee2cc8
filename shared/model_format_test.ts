import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "./tf.ts";
import type { Tensor2D } from "./tf.ts";
import { forwardLogits, zeroState } from "./model.ts";
import { loadModel, modelFilePath } from "./model_format.ts";
import { saveSmallModel, useWasm } from "./testing.ts";

async function logitsOf(dir: string): Promise<Float32Array> {
  const m = await loadModel(dir);
  const x = tf.tensor2d([[2, 3, 4], [5, 6, 7]], [2, 3], "int32") as Tensor2D;
  return forwardLogits(m.params, m.config, x, zeroState(m.config, 2)).logits
    .dataSync() as Float32Array;
}

Deno.test("saveModel() → loadModel() reproduces logits exactly", async () => {
  await useWasm();
  for (const cell of ["rnn", "urnn", "gru", "ugru", "lstm"] as const) {
    const a = await saveSmallModel({ cell, activation: cell === "urnn" ? "modrelu" : "tanh" }, 3);
    const b = await saveSmallModel({ cell, activation: cell === "urnn" ? "modrelu" : "tanh" }, 3);
    assert.deepEqual(await logitsOf(a), await logitsOf(b));
    const m = await loadModel(a);
    assert.equal(m.meta.format, "rotor-model");
  }
});

async function corrupt(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = await saveSmallModel();
  await edit(dir);
  return dir;
}

Deno.test("loadModel() refuses truncated, altered, misshapen, incomplete and unknown-version models", async () => {
  await useWasm();
  const w = (d: string) => join(d, "weights.bin");
  const j = (d: string) => join(d, "model.json");
  // deno-lint-ignore no-explicit-any
  const editJson = (d: string, f: (m: Record<string, any>) => void) =>
    readFile(j(d), "utf8").then((s) => {
      const m = JSON.parse(s);
      f(m);
      return writeFile(j(d), JSON.stringify(m));
    });
  const truncated = await corrupt(async (d) =>
    writeFile(w(d), (await readFile(w(d))).subarray(0, 100))
  );
  await assert.rejects(
    loadModel(truncated),
    /weights\.bin: 100 bytes, model\.json says \d+ \(truncated\?\)/,
  );
  const altered = await corrupt(async (d) => {
    const b = await readFile(w(d));
    b[10] = b[10]! ^ 0xff;
    await writeFile(w(d), b);
  });
  await assert.rejects(loadModel(altered), /weights\.bin: sha256 does not match/);
  const shape = await corrupt((d) => editJson(d, (m) => (m.weights.manifest[0].shape = [8, 32])));
  await assert.rejects(
    loadModel(shape),
    /tensor "embedding" has shape \[8,32\], the config needs \[32,8\]/,
  );
  const missing = await corrupt((d) => editJson(d, (m) => m.weights.manifest.splice(1, 1)));
  await assert.rejects(loadModel(missing), /tensor "layer0\/W" is missing/);
  const version = await corrupt((d) => editJson(d, (m) => (m.version = 99)));
  await assert.rejects(loadModel(version), /unknown format version "99"/);
  const vocab = await corrupt((d) => writeFile(join(d, "vocab.txt"), "<unk>\n<eos>\n"));
  await assert.rejects(loadModel(vocab), /model\.json: vocab\.txt: sha256 does not match/);
  // A file outside the folder is refused before it is read, whatever its hash would say.
  const escape = await corrupt((d) => editJson(d, (m) => (m.vocab.file = "../../../etc/passwd")));
  await assert.rejects(
    loadModel(escape),
    /model\.json: "vocab\.file" "\.\.\/\.\.\/\.\.\/etc\/passwd" is not a plain file name inside/,
  );
  await assert.rejects(
    loadModel("/nonexistent/model"),
    /Cannot read "\/nonexistent\/model\/model\.json"/,
  );
});

Deno.test("modelFilePath() confines model.json's file names to the model's folder or URL", () => {
  assert.equal(modelFilePath("models/a", "vocab.txt", "vocab.file"), join("models/a", "vocab.txt"));
  for (
    const bad of ["../../../etc/passwd", "/etc/passwd", "sub/vocab.txt", "..", ".", "", "a\\b"]
  ) {
    assert.throws(
      () => modelFilePath("models/a", bad, "vocab.file"),
      /"vocab\.file" .* is not a plain file name inside the model folder/,
      bad,
    );
  }
  const base = "https://host/models/a";
  assert.equal(modelFilePath(base, "weights.bin", "weights.file"), base + "/weights.bin");
  for (
    const bad of ["https://evil.example/x", "//evil.example/x", "../b/vocab.txt", "/x", "?q", ""]
  ) {
    assert.throws(
      () => modelFilePath(base, bad, "weights.file"),
      /"weights\.file" .* does not name a file under https:\/\/host\/models\/a\//,
      bad,
    );
  }
});

/** A saved model whose tensor `name` holds `value` at `index`, with model.json's hash updated. */
async function poisoned(name: string, index: number, value: number): Promise<string> {
  const dir = await saveSmallModel();
  const meta = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
  const bytes = await readFile(join(dir, "weights.bin"));
  let offset = 0;
  for (const s of meta.weights.manifest as { name: string; shape: number[] }[]) {
    if (s.name === name) break;
    offset += 4 * s.shape.reduce((a, b) => a * b, 1);
  }
  new DataView(bytes.buffer, bytes.byteOffset).setFloat32(offset + 4 * index, value, true);
  meta.weights.sha256 = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(dir, "weights.bin"), bytes);
  await writeFile(join(dir, "model.json"), JSON.stringify(meta));
  return dir;
}

Deno.test("loadModel() refuses NaN and infinite weights, naming the file and the tensor", async () => {
  await useWasm();
  const nan = await poisoned("layer0/W", 3, NaN);
  await assert.rejects(
    loadModel(nan),
    (err: Error) => {
      assert.equal(
        err.message,
        `${nan}/model.json: weights.bin: tensor "layer0/W" holds NaN at index 3 ` +
          "(non-finite weights: the run that saved them diverged)",
      );
      return true;
    },
  );
  await assert.rejects(
    loadModel(await poisoned("embedding", 0, -Infinity)),
    /weights\.bin: tensor "embedding" holds -Infinity at index 0/,
  );
  const last = await poisoned("output/b", 31, Infinity);
  await assert.rejects(loadModel(last), /tensor "output\/b" holds Infinity at index 31/);
});

Deno.test("loadModel() over HTTP refuses a redirect out of the model's URL", async () => {
  await useWasm();
  const dir = await saveSmallModel();
  let leaked = 0;
  let origin = "";
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/elsewhere/model.json") leaked++;
    if (path === "/m/tiny/model.json") return Response.redirect(`${origin}/elsewhere/model.json`);
    return new Response(await readFile(join(dir, path.replace(/^.*\//, ""))));
  });
  origin = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assert.rejects(
      loadModel(`${origin}/m/tiny/`),
      /model\.json: Cannot fetch ".*\/m\/tiny\/model\.json": HTTP 302 redirects to ".*\/elsewhere\/model\.json", outside/,
    );
    assert.equal(leaked, 0);
    assert.equal((await loadModel(`${origin}/elsewhere/`)).config.vocabSize, 32);
  } finally {
    await server.shutdown();
  }
});
