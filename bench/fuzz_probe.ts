/**
 * What a hostile-client run watches while its heavy cases run: /health's latency, the longest
 * gap between a concurrent stream's tokens, and clients that send their body a byte at a time.
 */
import { readTokens } from "./sse_tokens.ts";

/** GET /health every `everyMs` until stopped; the latencies in ms and any non-200 status. */
export function probeHealth(url: string, everyMs = 25) {
  const ms: number[] = [];
  const at: number[] = [];
  const bad: number[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/health`);
        await res.arrayBuffer();
        if (res.status !== 200) bad.push(res.status);
      } catch {
        bad.push(0);
      }
      ms.push(performance.now() - t0);
      at.push(t0);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    /** The slowest answer to a probe sent between `from` and `to` (performance.now()). */
    maxBetween(from: number, to: number): number {
      let max = 0;
      for (let i = 0; i < ms.length; i++) {
        if (at[i]! >= from && at[i]! <= to) max = Math.max(max, ms[i]!);
      }
      return max;
    },
    async stop() {
      stopped = true;
      await done;
      return { ms, bad };
    },
  };
}

/**
 * One streamed generation after another until stopped; the longest wait between two tokens,
 * and each gap with the time its token came (performance.now()), to tell which case caused it.
 */
export function watchStream(url: string) {
  let maxGapMs = 0, tokens = 0;
  const gaps: number[] = [], gapAt: number[] = [];
  const ac = new AbortController();
  const done = (async () => {
    while (!ac.signal.aborted) {
      try {
        const res = await fetch(`${url}/v1/generate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ max_tokens: 2048, seed: tokens }),
          signal: ac.signal,
        });
        if (res.status !== 200) {
          await res.arrayBuffer();
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        await readTokens(res.body!, {
          onTokens: (k, gap) => {
            if (gap !== undefined) {
              maxGapMs = Math.max(maxGapMs, gap);
              gaps.push(gap);
              gapAt.push(performance.now());
            }
            tokens += k;
          },
        });
      } catch {
        // aborted by stop()
      }
    }
  })();
  return {
    /** The longest gap that overlapped `from`–`to` (performance.now()). */
    maxGapBetween(from: number, to: number): number {
      let max = 0;
      for (let i = 0; i < gaps.length; i++) {
        if (gapAt[i]! >= from && gapAt[i]! - gaps[i]! <= to) max = Math.max(max, gaps[i]!);
      }
      return max;
    },
    async stop() {
      ac.abort();
      await done;
      return { maxGapMs, tokens };
    },
  };
}

/** Open a connection that sends a body's first bytes and then one byte every `everyMs`. */
export async function slowBody(host: string, port: number, everyMs = 500): Promise<string> {
  const conn = await Deno.connect({ hostname: host, port });
  const body = JSON.stringify({ text: "the company said" });
  const enc = new TextEncoder();
  let answer = "";
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        answer += new TextDecoder().decode(buf.subarray(0, n));
        if (answer.includes("\r\n\r\n")) break;
      }
    } catch {
      // closed
    }
  })();
  try {
    await conn.write(enc.encode(
      `POST /tokenize HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n`,
    ));
    for (let i = 0; i < body.length && answer === ""; i++) {
      await conn.write(enc.encode(body[i]!));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } catch {
    // the server closed the connection
  }
  await reading;
  try {
    conn.close();
  } catch {
    // already closed
  }
  return /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? "no answer";
}

/** The q-th quantile (0–1) of `xs`. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
