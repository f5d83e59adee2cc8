/**
 * A full disk or a read-only output folder stops training with a clear error naming the file,
 * and the last good checkpoint stays whole, with no temporary file left to fill the disk.
 * Injected through the file-writing seam everywhere; for real where the machine allows it
 * (chmod as a user, a read-only bind mount or a small tmpfs as root).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, useWasm } from "../shared/testing.ts";
import { failingIo, quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";
import { loadResume } from "./train_state.ts";

const fails = (f: () => Promise<void>) =>
  quiet(f).then(() => assert.fail("training must fail"), (e: Error) => e);

/** A run of 3 steps in `runs`; returns its folder and its checkpoint's bytes. */
async function firstSteps(runs: string) {
  await useWasm();
  const args = [
    ...smallRunArgs(await writeSmallCorpus(5), runs, "r"),
    ...["--max-steps", "3", "--checkpoint-every", "1", "--epochs", "50"],
  ];
  await quiet(() => train(args));
  const dir = join(runs, "r");
  return { dir, bytes: await readFile(join(dir, "checkpoint.bin")) };
}

async function assertKept(dir: string, bytes: Uint8Array) {
  assert.deepEqual(
    new Uint8Array(await readFile(join(dir, "checkpoint.bin"))),
    new Uint8Array(bytes),
  );
  assert.equal((await loadResume(dir)).header.state.step, 3);
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".tmp")), []);
}

Deno.test("a checkpoint write on a full disk stops with a clear error and keeps the last one", async () => {
  const { dir, bytes } = await firstSteps(await tempDir());
  const full = failingIo("ENOSPC", (p) => p.includes("checkpoint.bin"));
  const err = await fails(() => train(["--resume", dir, "--max-steps", "6"], full));
  const ck = join(dir, "checkpoint.bin");
  assert.equal(
    err.message,
    `Cannot write "${ck}": no space left on the device (ENOSPC); "${ck}" keeps the last good ` +
      `checkpoint; free space or make the folder writable, then continue with: ` +
      `deno task train --resume ${dir}`,
  );
  await assertKept(dir, bytes);
  // With space again, the run continues from it.
  await quiet(() => train(["--resume", dir, "--max-steps", "6"]));
  assert.equal((await loadResume(dir)).header.state.step, 6);
});

Deno.test("metrics.jsonl on a full disk stops the run with its name", async () => {
  const { dir, bytes } = await firstSteps(await tempDir());
  const full = failingIo("ENOSPC", (p) => p.endsWith("metrics.jsonl"));
  const err = await fails(() =>
    train(["--resume", dir, "--max-steps", "6", "--log-every", "1"], full)
  );
  assert.match(
    err.message,
    /^Cannot write ".*metrics\.jsonl": no space left on the device \(ENOSPC\); the run stops; ".*checkpoint\.bin" keeps the last good checkpoint$/,
  );
  await assertKept(dir, bytes);
});

/** Run `cmd`; true when it succeeded (mount needs root and a machine that permits it). */
async function tryRun(cmd: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd[0]!, { args: cmd.slice(1), stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

Deno.test("a read-only run folder stops a resume with a clear error and keeps the checkpoint", async () => {
  const { dir, bytes } = await firstSteps(await tempDir());
  // chmod binds users only; root writes anyway, so as root the folder becomes a read-only mount.
  const root = Deno.uid() === 0;
  if (root) {
    if (!(await tryRun(["mount", "--bind", dir, dir]))) {
      return console.warn("*** SKIPPED: root, and mount --bind is not permitted here ***");
    }
    await tryRun(["mount", "-o", "remount,bind,ro", dir, dir]);
  } else await chmod(dir, 0o555);
  try {
    const err = await fails(() => train(["--resume", dir, "--max-steps", "6"]));
    assert.match(
      err.message,
      /^Cannot write ".*config\.json": (permission denied \(the folder is not writable\) \(EACCES\)|the file system is read-only \(EROFS\)); nothing was changed; ".*checkpoint\.bin" keeps the last good checkpoint$/,
    );
  } finally {
    if (root) await tryRun(["umount", dir]);
    else await chmod(dir, 0o755);
  }
  await assertKept(dir, bytes);
});

Deno.test("a really full disk (a small tmpfs) stops with ENOSPC named and keeps the checkpoint", async () => {
  const mnt = await tempDir();
  if (
    Deno.uid() !== 0 || !(await tryRun(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]))
  ) {
    return console.warn("*** SKIPPED: mounting a tmpfs needs root where it is permitted ***");
  }
  try {
    const { dir, bytes } = await firstSteps(mnt);
    // Fill what is left: the write stops at the end of the space, the file keeps what fit.
    await writeFile(join(mnt, "filler"), new Uint8Array(2 << 20)).catch(() => {});
    assert.ok(existsSync(join(mnt, "filler")));
    const err = await fails(() => train(["--resume", dir, "--max-steps", "6"]));
    assert.match(
      err.message,
      /^Cannot write ".*r\/[a-z.]+": no space left on the device \(ENOSPC\); /,
    );
    await assertKept(dir, bytes);
  } finally {
    await tryRun(["umount", mnt]);
  }
});
