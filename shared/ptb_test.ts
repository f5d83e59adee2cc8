import assert from "node:assert/strict";
import {
  batchify,
  loadPtb,
  ptbForTests,
  ptbMissingMessage,
  ptbTokens,
  readPtbSplit,
  window,
} from "./ptb.ts";
import { decode } from "./vocab.ts";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

Deno.test("loadPtb() builds the 10,000-word vocabulary and the published token counts", async () => {
  const dir = await ptbForTests();
  if (!dir) return;
  const ptb = await loadPtb(dir);
  assert.equal(ptb.vocab.words.length, 10000);
  assert.equal(ptb.train.length, 929589);
  assert.equal(ptb.valid.length, 73760);
  assert.equal(ptb.test.length, 82430);
});

Deno.test("the PTB test file round-trips text → ids → text unchanged", async () => {
  const dir = await ptbForTests();
  if (!dir) return;
  const ptb = await loadPtb(dir);
  const text = await readPtbSplit(dir, "test");
  const back = decode(ptb.vocab, ptb.test).join(" ").replaceAll(" <eos>", "\n").replaceAll(
    "\n ",
    "\n",
  );
  const norm = text.split("\n").filter((l) => l.trim()).map((l) => l.trim()).join("\n") + "\n";
  assert.equal(back.replace(/^ /, ""), norm);
  assert.deepEqual(ptbTokens(" a b \n c \n"), ["a", "b", "<eos>", "c", "<eos>"]);
});

Deno.test("readPtbSplit() refuses a file whose MD5 is not the published one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ptb-"));
  await writeFile(join(dir, "ptb.valid.txt"), " not the treebank \n");
  await assert.rejects(readPtbSplit(dir, "valid"), /has MD5 [0-9a-f]{32}, expected aa0affc0/);
  await assert.rejects(readPtbSplit(dir, "test"), /Cannot read PTB file/);
});

Deno.test("batchify() and window() lay the stream out in B contiguous rows", () => {
  const b = batchify(Int32Array.from({ length: 13 }, (_, i) => i), 3); // n = 4, tail dropped
  assert.equal(b.n, 4);
  const w = window(b, 0, 2);
  assert.deepEqual([...w.x], [0, 1, 4, 5, 8, 9]);
  assert.deepEqual([...w.y], [1, 2, 5, 6, 9, 10]);
  const last = window(b, 2, 2); // only one step left
  assert.equal(last.len, 1);
  assert.deepEqual([...last.x], [2, 6, 10]);
  assert.deepEqual([...last.y], [3, 7, 11]);
});

Deno.test("ptbMissingMessage() names the setting and the folder the README names", async () => {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const [, setting, folder] = /read it from `(\w+)` \(CI: `([^`]+)`\)/.exec(readme) ?? [];
  assert.equal(setting, "PTB_DIR");
  const msg = ptbMissingMessage("data/ptb");
  assert.ok(msg.includes(`${setting}=${folder}`), msg);
  assert.ok(msg.startsWith('PTB data not found in "data/ptb"'), msg);
});
