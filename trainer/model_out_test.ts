import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { recoverModelFolder, STAGING, stagingOf, writeModelFolder } from "./model_out.ts";
import { failingIo } from "./testing.ts";

async function oldModel(): Promise<{ parent: string; out: string }> {
  const parent = await tempDir();
  const out = join(parent, "ptb-ugru");
  await mkdir(out);
  await writeFile(join(out, "model.json"), "old");
  return { parent, out };
}

Deno.test("writeModelFolder() puts a whole new folder in place and leaves no staging", async () => {
  const { parent, out } = await oldModel();
  await writeModelFolder(out, async (d) => {
    await writeFile(join(d, "model.json"), "new");
  });
  assert.equal(await readFile(join(out, "model.json"), "utf8"), "new");
  assert.deepEqual(await readdir(parent), ["ptb-ugru"]);
});

Deno.test("writeModelFolder() failing part-way keeps the model that was there", async () => {
  const { parent, out } = await oldModel();
  const err = await writeModelFolder(out, async (d) => {
    await writeFile(join(d, "weights.bin"), "half");
    await failingIo("ENOSPC").writeFile(join(d, "model.json"), "new");
  }).then(() => undefined, (e: Error) => e);
  assert.equal(
    err?.message,
    `Cannot write "${out}": no space left on the device (ENOSPC); ` +
      `the model that was in "${out}" is kept`,
  );
  assert.equal(await readFile(join(out, "model.json"), "utf8"), "old");
  assert.deepEqual(await readdir(parent), ["ptb-ugru"]);
});

Deno.test("recoverModelFolder() restores a model a kill left moved aside", async () => {
  const { parent, out } = await oldModel();
  const s = stagingOf(out);
  // The state between the two renames: the old folder aside, the new one complete.
  await mkdir(s.fresh, { recursive: true });
  await writeFile(join(s.fresh, "model.json"), "new");
  await rename(out, s.old);
  assert.ok(!existsSync(out));
  const done = await recoverModelFolder(out);
  assert.equal(done.length, 2, done.join("; "));
  assert.equal(await readFile(join(out, "model.json"), "utf8"), "old");
  assert.deepEqual(await readdir(parent), ["ptb-ugru"]);
  assert.deepEqual(await recoverModelFolder(out), [], "nothing left to do");
  assert.equal(s.root, join(parent, STAGING));
});
