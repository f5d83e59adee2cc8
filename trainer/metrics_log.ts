/**
 * metrics.jsonl after a resume: the run goes back to its last checkpoint, so what it logged
 * after that checkpoint (steps it will take again, an epoch it will end again, a line cut off
 * by a kill) is dropped before it logs anything, and no step appears twice.
 */
import { readFile } from "node:fs/promises";
import { type FileIo, NODE_IO, writeWhole } from "./run_files.ts";

/**
 * The lines of a metrics log that a checkpoint at `step`, with `epochs` epochs ended, has
 * seen: step records up to `step`, epoch records up to `epochs`; a line that does not parse
 * (the last one, cut by a kill) is dropped too.
 */
export function keepUpTo(
  text: string,
  step: number,
  epochs: number,
): { text: string; dropped: number } {
  const lines = text.split("\n").filter((l) => l !== "");
  const kept = lines.filter((line) => {
    let rec: { type?: unknown; step?: unknown; epoch?: unknown };
    try {
      rec = JSON.parse(line);
    } catch {
      return false;
    }
    if (rec.type === "epoch") return typeof rec.epoch === "number" && rec.epoch <= epochs;
    return typeof rec.step === "number" && rec.step <= step;
  });
  return { text: kept.map((l) => l + "\n").join(""), dropped: lines.length - kept.length };
}

/** Trim `path` to what the checkpoint has seen; returns how many lines went (0: untouched). */
export async function trimMetrics(
  path: string,
  step: number,
  epochs: number,
  io: FileIo = NODE_IO,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return 0;
  }
  const r = keepUpTo(text, step, epochs);
  if (r.text === text) return 0;
  await writeWhole(path, r.text, `"${path}" is unchanged`, io);
  return r.dropped;
}
