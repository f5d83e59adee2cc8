/**
 * Where a command that writes a report puts it. The files under reports/ are committed
 * measurements, so a run replaces them only when told (`--replace`, or an output flag that
 * names them); otherwise it writes to a new folder under runs/reports/, which git ignores.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** Where new report folders go: beside the training runs, ignored by git. */
export const NEW_REPORTS_ROOT = join("runs", "reports");

export const REPLACE_FLAG = {
  schema: z.boolean().default(false),
  help: "Write into the committed reports/, replacing what is there (default: a new folder)",
};

/** "2026-12-04T17:40:05.123Z" → "20261204-174005": sortable, and safe in a file name. */
export function folderStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/**
 * A folder made for this run: `<root>/<command>-<stamp>`, with a suffix when that exists
 * already (two runs in one second), so a run never writes over another's report.
 */
export async function newReportDir(
  command: string,
  opts: { root?: string; now?: Date } = {},
): Promise<string> {
  const root = opts.root ?? NEW_REPORTS_ROOT;
  await mkdir(root, { recursive: true });
  const base = join(root, `${command}-${folderStamp(opts.now ?? new Date())}`);
  for (let n = 1;; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
    }
  }
}

/**
 * The folder a report command writes to: the one named by its output flag when given, the
 * committed folder with --replace, else a new folder (said on the console, so it is found).
 */
export async function reportDir(opts: {
  command: string;
  committed: string;
  replace: boolean;
  out?: string;
  root?: string;
}): Promise<string> {
  if (opts.out !== undefined) return opts.out;
  if (opts.replace) return opts.committed;
  const dir = await newReportDir(opts.command, { root: opts.root });
  console.log(`writing to ${dir} (${opts.committed} is kept; --replace writes there)`);
  return dir;
}
