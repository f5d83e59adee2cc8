/**
 * A one-line live progress display on stderr (rewritten in place on a terminal, one line per
 * update otherwise, so logs stay readable). Small enough that a progress-bar package would
 * add a dependency without adding anything we use.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

export function progressLine(text: string, final = false): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}${final ? "\n" : ""}`);
  else process.stderr.write(text + "\n");
}
