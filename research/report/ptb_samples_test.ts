import assert from "node:assert/strict";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../../shared/testing.ts";
import { sampleModels } from "./ptb_samples.ts";

Deno.test("sampleModels() draws the same sentences for the same seeds, never <unk>", async () => {
  await useWasm();
  const dir = await saveSmallModel({ cell: "urnn", activation: "relu" });
  const missing = join(await tempDir(), "ptb-urnn");
  const opts = { seeds: [1, 2, 3], temperature: 1.5, maxTokens: 12 };
  const a = await sampleModels([dir, missing], opts);
  const b = await sampleModels([dir, missing], opts);
  assert.deepEqual(a, b);
  assert.equal(a.temperature, 1.5);
  assert.deepEqual(a.models[1], { dir: missing, found: false, sentences: [] });
  const found = a.models[0]!;
  assert.equal(found.found, true);
  assert.deepEqual(found.sentences.map((s) => s.seed), [1, 2, 3]);
  const words = found.sentences.flatMap((s) => s.text.split(/\s+/).filter((w) => w !== ""));
  assert.ok(words.length > 0);
  assert.ok(!words.includes("<unk>"));
  for (const s of found.sentences) assert.ok(s.text.split(/\s+/).length <= 12);
  assert.notDeepEqual(found.sentences[0]!.text, found.sentences[1]!.text);
});
