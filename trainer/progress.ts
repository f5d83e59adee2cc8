/**
 * A one-line live progress display on stderr (rewritten in place on a terminal, one line per
 * update otherwise, so logs stay readable). Small enough that a progress-bar package would
 * add a dependency without adding anything we use.
 */
import { writeSync } from "node:fs";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Written synchronously (fs.writeSync, in Deno and Bun alike), so each line reaches a pipe
 * while a training loop that never yields is still running.
 */
export function progressLine(text: string, final = false): void {
  if (process.stderr.isTTY) writeSync(2, `\r\x1b[K${text}${final ? "\n" : ""}`);
  else writeSync(2, text + "\n");
}
