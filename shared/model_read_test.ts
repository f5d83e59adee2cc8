import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fetchLoader, loadModelFrom, sha256Hex } from "./model_read.ts";
import { loadModel } from "./model_format.ts";
import { useWasm } from "./testing.ts";

const DIR = new URL("../models/ptb-urnn/", import.meta.url).pathname;

/** A fetch that answers from the model folder on disk, as an HTTP origin would. */
function diskFetch(asked: string[]) {
  return async (url: string) => {
    asked.push(url);
    const name = new URL(url).pathname.split("/").at(-1)!;
    try {
      return new Response(await readFile(join(DIR, name)));
    } catch {
      return new Response("missing", { status: 404 });
    }
  };
}

Deno.test("sha256Hex() matches node:crypto's sha256", async () => {
  const bytes = new TextEncoder().encode("the u.s. economy <eos>");
  assert.equal(await sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"));
  assert.equal(
    await sha256Hex(new Uint8Array()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("loadModelFrom(fetchLoader()) loads the folder that loadModel() reads from disk", async () => {
  await useWasm();
  const asked: string[] = [];
  const remote = await loadModelFrom(
    fetchLoader("https://models.example/ptb-urnn", diskFetch(asked)),
  );
  const local = await loadModel(DIR);
  assert.deepEqual(asked, [
    "https://models.example/ptb-urnn/model.json",
    "https://models.example/ptb-urnn/vocab.txt",
    "https://models.example/ptb-urnn/weights.bin",
  ]);
  assert.deepEqual(remote.vocab.words, local.vocab.words);
  for (const [name, t] of Object.entries(local.params)) {
    assert.deepEqual(remote.params[name]!.dataSync(), t.dataSync(), name);
  }
});

Deno.test("fetchLoader() names the URL and status of a file the origin does not have", async () => {
  const loader = fetchLoader(
    "https://models.example/none/",
    () => Promise.resolve(new Response("", { status: 404 })),
  );
  await assert.rejects(
    loadModelFrom(loader),
    /^Error: https:\/\/models\.example\/none\/model\.json: Cannot fetch "https:\/\/models\.example\/none\/model\.json": HTTP 404$/,
  );
});

Deno.test("loadModelFrom() skips the hash only of a file its verified() vouches for at that sha256", async () => {
  await useWasm();
  const meta = JSON.parse(await readFile(join(DIR, "model.json"), "utf8"));
  const weights = new Uint8Array(await readFile(join(DIR, meta.weights.file)));
  weights[0]! ^= 1; // one bit of the first weight flipped: same size, other hash
  const loader = {
    where: "memory",
    read: async (file: string) =>
      file === meta.weights.file ? weights : new Uint8Array(await readFile(join(DIR, file))),
  };
  await assert.rejects(loadModelFrom(loader), /weights\.bin: sha256 does not match/);
  await assert.rejects(
    loadModelFrom(loader, { verified: (_, sha) => sha === "0".repeat(64) }),
    /weights\.bin: sha256 does not match/,
  );
  const asked: string[][] = [];
  const m = await loadModelFrom(loader, {
    verified: (file, sha) => (asked.push([file, sha]), file === meta.weights.file),
  });
  assert.deepEqual(asked, [
    [meta.vocab.file, meta.vocab.sha256],
    [meta.weights.file, meta.weights.sha256],
    [meta.weights.file, meta.weights.sha256],
  ]);
  assert.notEqual(
    m.params.embedding!.dataSync()[0],
    (await loadModel(DIR)).params.embedding!.dataSync()[0],
  );
});
