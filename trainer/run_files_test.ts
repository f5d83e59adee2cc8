import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { errorCode, isTmpFile, sweepTmpFiles, tmpPathOf, writeWhole } from "./run_files.ts";
import { failingIo } from "./testing.ts";

Deno.test("writeWhole() replaces a file only once the new one is complete", async () => {
  const dir = await tempDir();
  const path = join(dir, "checkpoint.bin");
  await writeWhole(path, "first", "kept");
  await writeWhole(path, "second", "kept");
  assert.equal(await readFile(path, "utf8"), "second");
  assert.deepEqual(await readdir(dir), ["checkpoint.bin"]);
});

Deno.test("writeWhole() on a full disk names the file, keeps the old one and removes its .tmp", async () => {
  const dir = await tempDir();
  const path = join(dir, "checkpoint.bin");
  await writeFile(path, "last good");
  const err = await writeWhole(
    path,
    "a new checkpoint",
    "the last good one is kept",
    failingIo("ENOSPC"),
  )
    .then(() => undefined, (e: Error) => e);
  assert.equal(
    err?.message,
    `Cannot write "${path}": no space left on the device (ENOSPC); the last good one is kept`,
  );
  assert.equal(await readFile(path, "utf8"), "last good");
  assert.deepEqual(await readdir(dir), ["checkpoint.bin"], "no .tmp is left to fill the disk");
});

Deno.test("writeWhole() in a read-only folder says so", async () => {
  const dir = await tempDir();
  const err = await writeWhole(join(dir, "x"), "y", "nothing changed", failingIo("EROFS"))
    .then(() => undefined, (e: Error) => e);
  assert.match(
    err!.message,
    /^Cannot write ".*x": the file system is read-only \(EROFS\); nothing changed$/,
  );
});

Deno.test("errorCode() reads Node's code and Deno's error classes", () => {
  assert.equal(errorCode(Object.assign(new Error("x"), { code: "ENOSPC" })), "ENOSPC");
  assert.equal(errorCode(new Deno.errors.PermissionDenied("x")), "EACCES");
  assert.equal(errorCode(new Error("x")), undefined);
});

Deno.test("sweepTmpFiles() removes what killed writes left and nothing else", async () => {
  const dir = await tempDir();
  for (const n of ["checkpoint.bin", "checkpoint.bin.4242.tmp", "best.bin.7.tmp", "notes.tmp"]) {
    await writeFile(join(dir, n), "x");
  }
  const removed = await sweepTmpFiles(dir);
  assert.deepEqual(removed.sort(), ["best.bin.7.tmp", "checkpoint.bin.4242.tmp"]);
  assert.deepEqual((await readdir(dir)).sort(), ["checkpoint.bin", "notes.tmp"]);
  assert.deepEqual(await sweepTmpFiles(join(dir, "missing")), []);
  assert.ok(isTmpFile(tmpPathOf("a/checkpoint.bin")));
});
