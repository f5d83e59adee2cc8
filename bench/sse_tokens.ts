/**
 * Reading a `/v1/generate` stream the way the benchmarks judge it: `event: token` frames
 * counted as they arrive, when the first came, and the longest wait between arrivals.
 */

export interface TokenTiming {
  /** performance.now() when the first token arrived (undefined: none came). */
  first: number | undefined;
  /** Tokens received. */
  n: number;
  /** Longest wait between chunks that carried tokens, the first counted from `since`. */
  maxGapMs: number;
}

export interface ReadTokensOptions {
  /** When the request was sent: the first token's wait counts from here (default: not counted). */
  since?: number;
  /** Called as tokens arrive: how many, and the wait since the last arrival (undefined first). */
  onTokens?: (count: number, gapMs: number | undefined) => void;
}

const FRAME = "event: token";

/** Reads `body` to its end; frames split across chunks are counted once, when whole. */
export async function readTokens(
  body: ReadableStream<Uint8Array>,
  opts: ReadTokensOptions = {},
): Promise<TokenTiming> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let first: number | undefined, last = opts.since, maxGapMs = 0, n = 0, partial = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (partial + value).split("\n");
    partial = lines.pop()!;
    const k = lines.reduce((c, line) => c + (line.replace(/\r$/, "") === FRAME ? 1 : 0), 0);
    if (k === 0) continue;
    const now = performance.now();
    first ??= now;
    const gap = last === undefined ? undefined : now - last;
    if (gap !== undefined) maxGapMs = Math.max(maxGapMs, gap);
    last = now;
    n += k;
    opts.onTokens?.(k, gap);
  }
  return { first, n, maxGapMs };
}
