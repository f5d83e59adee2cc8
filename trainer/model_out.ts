/**
 * Writing the finished model over `--out` without ever damaging the model that was there: the
 * new folder is written whole in a staging folder beside it, then renamed into place; the old
 * one is moved aside first and removed last. Both live in `.rotor-staging/` next to `--out`,
 * one level down, so a server listing model folders never takes them for models.
 *
 * Two renames are not one atomic swap: a kill between them leaves `--out` missing and the old
 * model whole in `.rotor-staging/<name>.old`. recoverModelFolder() puts it back, and every
 * write starts with it.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rmdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { errorCode, type FileIo, NODE_IO, WriteError } from "./run_files.ts";

export const STAGING = ".rotor-staging";

/** Where the new folder is written and the old one waits, for a model folder `out`. */
export function stagingOf(out: string): { root: string; fresh: string; old: string } {
  const root = join(dirname(out), STAGING);
  const name = basename(out.replace(/\/+$/, ""));
  return { root, fresh: join(root, `${name}.new`), old: join(root, `${name}.old`) };
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch {
    // gone already, or another model's staging is in it
  }
}

/**
 * Undo what an interrupted write left: the old model goes back to `out` when `out` is missing,
 * a half-written new folder is removed. Returns what it did, for the log.
 */
export async function recoverModelFolder(out: string, io: FileIo = NODE_IO): Promise<string[]> {
  const s = stagingOf(out);
  const done: string[] = [];
  if (!existsSync(s.root)) return done;
  if (existsSync(s.old)) {
    if (!existsSync(out)) {
      await io.rename(s.old, out);
      done.push(`restored the model in "${out}" that an interrupted write had moved aside`);
    } else {
      await io.rm(s.old);
      done.push(`removed "${s.old}", left by an interrupted write`);
    }
  }
  if (existsSync(s.fresh)) {
    await io.rm(s.fresh);
    done.push(`removed "${s.fresh}", a model folder an interrupted write left unfinished`);
  }
  await removeIfEmpty(s.root);
  return done;
}

/**
 * Run `write` into an empty staging folder, then put that folder at `out`. On any failure the
 * staging folder is removed and `out` is as it was; a file-system failure becomes a WriteError
 * that names `out` and says so.
 */
export async function writeModelFolder<T>(
  out: string,
  write: (dir: string) => Promise<T>,
  io: FileIo = NODE_IO,
): Promise<T> {
  for (const line of await recoverModelFolder(out, io)) console.log(line);
  const s = stagingOf(out);
  let result: T;
  try {
    await mkdir(s.fresh, { recursive: true });
    result = await write(s.fresh);
    if (existsSync(out)) await io.rename(out, s.old);
    await io.rename(s.fresh, out);
  } catch (err) {
    // Put back whatever had been moved, then clear the staging folder.
    if (!existsSync(out) && existsSync(s.old)) await io.rename(s.old, out).catch(() => {});
    await io.rm(s.fresh).catch(() => {});
    await removeIfEmpty(s.root);
    const code = errorCode(err);
    if (!code) throw err;
    throw new WriteError(
      out,
      code,
      existsSync(out) ? `the model that was in "${out}" is kept` : "nothing was written there",
    );
  }
  await io.rm(s.old);
  await removeIfEmpty(s.root);
  return result;
}
