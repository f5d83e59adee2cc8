/** Start the /health probe and the watched streams on their own thread (probe_worker.ts). */
import { type ProbeReply, type ProbeRequest, wallMs } from "./probe_worker.ts";

export { wallMs };

export interface Probes {
  /**
   * The slowest /health answer to a probe sent between two `wallMs()` instants, and the longest
   * gap between a watched stream's tokens that overlapped them.
   */
  maxBetween(from: number, to: number): Promise<{ healthMs: number; gapMs: number }>;
  /** Stop watching: every /health latency, the non-200 statuses, each stream's longest gap. */
  stop(): Promise<{ ms: number[]; bad: number[]; streams: { maxGapMs: number; tokens: number }[] }>;
}

export async function startProbes(
  url: string,
  o: { healthEveryMs: number; streams: number },
): Promise<Probes> {
  const w = new Worker(new URL("./probe_worker.ts", import.meta.url).href, { type: "module" });
  const waiting = new Map<string, (m: ProbeReply) => void>();
  const key = (m: ProbeReply) => (m.type === "maxBetween" ? `maxBetween ${m.id}` : m.type);
  w.onmessage = (e: MessageEvent<ProbeReply>) => {
    const k = key(e.data);
    waiting.get(k)?.(e.data);
    waiting.delete(k);
  };
  const ask = <T extends ProbeReply>(m: ProbeRequest, k: string) =>
    new Promise<T>((resolve, reject) => {
      waiting.set(k, (r) => resolve(r as T));
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`probe thread: ${e.message}`));
      };
      w.postMessage(m);
    });
  await ask({ type: "start", url, ...o }, "started");
  let next = 0;
  return {
    async maxBetween(from, to) {
      const id = next++;
      const r = await ask<Extract<ProbeReply, { type: "maxBetween" }>>(
        { type: "maxBetween", id, from, to },
        `maxBetween ${id}`,
      );
      return { healthMs: r.ms, gapMs: r.gapMs };
    },
    async stop() {
      const r = await ask<Extract<ProbeReply, { type: "stopped" }>>({ type: "stop" }, "stopped");
      w.terminate();
      return r;
    },
  };
}
