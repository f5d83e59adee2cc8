/**
 * How the trainer writes its files, so that no interruption and no write error can damage
 * what was there: a file goes to `<name>.<pid>.tmp` and is renamed over the old one only once
 * complete; a failed write removes its temporary file (on a full disk it would keep the disk
 * full); a run's folder is swept of the temporary files a killed process left; and every
 * error names the file and says what was kept. The file system is passed in (`FileIo`) so a
 * test can make any write fail the way a full disk or a read-only folder does.
 */
import { appendFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";

/** The few file operations the trainer's writes go through. */
export interface FileIo {
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  appendFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
}

export const NODE_IO: FileIo = {
  writeFile: (p, d) => writeFile(p, d),
  appendFile: (p, d) => appendFile(p, d),
  rename: (a, b) => rename(a, b),
  rm: (p) => rm(p, { force: true, recursive: true }),
};

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EACCES: "permission denied (the folder is not writable)",
  EPERM: "permission denied (the folder is not writable)",
  EROFS: "the file system is read-only",
  ENOENT: "its folder does not exist",
};

/** The error code of a failed file operation: Node's `code`, or Deno's error class name. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  const byName: Record<string, string> = {
    PermissionDenied: "EACCES",
    NotFound: "ENOENT",
    NotCapable: "EACCES",
  };
  return byName[(err as Error)?.name ?? ""];
}

/** A write error that names the file, says why in words, and what was kept. */
export class WriteError extends Error {
  constructor(readonly path: string, readonly code: string | undefined, kept: string) {
    const why = (code && REASONS[code]) ?? "the write failed";
    super(`Cannot write "${path}": ${why}${code ? ` (${code})` : ""}; ${kept}`);
  }
}

/** The temporary name a write goes to before it is renamed over `path`. */
export const tmpPathOf = (path: string) => `${path}.${process.pid}.tmp`;

/**
 * Write `path` whole or not at all: to a temporary file, then renamed over the old one. On a
 * failure the temporary file is removed and a WriteError says what `kept` says.
 */
export async function writeWhole(
  path: string,
  data: string | Uint8Array,
  kept: string,
  io: FileIo = NODE_IO,
): Promise<void> {
  const tmp = tmpPathOf(path);
  try {
    await io.writeFile(tmp, data);
    await io.rename(tmp, path);
  } catch (err) {
    await io.rm(tmp).catch(() => {});
    throw new WriteError(path, errorCode(err), kept);
  }
}

/** Append to `path`; a failure names the file. */
export async function appendLine(
  path: string,
  line: string,
  kept: string,
  io: FileIo = NODE_IO,
): Promise<void> {
  try {
    await io.appendFile(path, line);
  } catch (err) {
    throw new WriteError(path, errorCode(err), kept);
  }
}

/** `checkpoint.bin.123.tmp` → true: a temporary file of writeWhole, left by any process. */
export const isTmpFile = (name: string) => /\.\d+\.tmp$/.test(name);

/**
 * Remove the temporary files a killed trainer left in `dir` (never a complete file: those were
 * renamed into place). Returns the names removed; a missing folder has none.
 */
export async function sweepTmpFiles(dir: string, io: FileIo = NODE_IO): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter(isTmpFile);
  for (const n of stale) await io.rm(join(dir, n));
  return stale.map((n) => basename(n));
}
