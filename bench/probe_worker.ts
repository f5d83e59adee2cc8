/**
 * The watchers of a hostile-client or soak run on a thread of their own: on the thread that
 * also builds and sends megabytes of request bodies, a probe's own wait for its turn was counted
 * as the server's latency (tens of ms on a 2-core machine).
 */
import { probeHealth, watchStream } from "./fuzz_probe.ts";

export type ProbeRequest =
  | { type: "start"; url: string; healthEveryMs: number; streams: number }
  | { type: "maxBetween"; id: number; from: number; to: number }
  | { type: "stop" };

export type ProbeReply =
  | { type: "started" }
  | { type: "maxBetween"; id: number; ms: number; gapMs: number }
  | {
    type: "stopped";
    ms: number[];
    bad: number[];
    streams: { maxGapMs: number; tokens: number }[];
  };

/** Wall-clock milliseconds comparable across threads (each has its own performance.now origin). */
export const wallMs = () => performance.timeOrigin + performance.now();

let health: ReturnType<typeof probeHealth> | undefined;
let streams: ReturnType<typeof watchStream>[] = [];

const post = (m: ProbeReply) => (self as unknown as Worker).postMessage(m);
const origin = performance.timeOrigin;

self.onmessage = async (e: MessageEvent<ProbeRequest>) => {
  const m = e.data;
  if (m.type === "start") {
    health = probeHealth(m.url, m.healthEveryMs);
    streams = Array.from({ length: m.streams }, () => watchStream(m.url));
    post({ type: "started" });
  } else if (m.type === "maxBetween") {
    // probeHealth stamps with this thread's performance.now().
    const [from, to] = [m.from - origin, m.to - origin];
    const gapMs = Math.max(0, ...streams.map((w) => w.maxGapBetween(from, to)));
    post({ type: "maxBetween", id: m.id, ms: health!.maxBetween(from, to), gapMs });
  } else {
    const s = await Promise.all(streams.map((w) => w.stop()));
    const { ms, bad } = await health!.stop();
    post({ type: "stopped", ms, bad, streams: s });
  }
};
