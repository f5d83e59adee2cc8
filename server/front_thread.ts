/**
 * The connection front (connections.ts) started on a thread of its own (front_worker.ts), on
 * Deno and Bun alike, and driven from the server's thread by messages.
 */
import type { FrontOptions } from "./connections.ts";
import type { FrontCommand, FrontReply } from "./front_worker.ts";

/** A front on its own thread: where it listens, how many connections it holds, how to stop. */
export interface FrontThread {
  port: number;
  hostname: string;
  /** Client connections it holds now. */
  open(): Promise<number>;
  /** Stop accepting; connections already open go on. */
  close(): Promise<void>;
}

/** `onMemory` receives the front's heap every few seconds (for /metrics). */
export function startFrontThread(
  options: FrontOptions,
  onMemory: (m: { heapUsed: number; external: number }) => void = () => {},
): Promise<FrontThread> {
  const worker = new Worker(new URL("./front_worker.ts", import.meta.url), { type: "module" });
  const send = (m: FrontCommand) => worker.postMessage(m);
  const waiting = new Map<number, (n: number) => void>();
  let closed: (() => void) | undefined;
  let nextId = 0;
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`The connection front's thread failed: ${e.message}`));
    };
    worker.onmessage = (e: MessageEvent<FrontReply>) => {
      const m = e.data;
      if (m.type === "error") reject(new Error(m.message));
      else if (m.type === "open") {
        waiting.get(m.id)?.(m.n);
        waiting.delete(m.id);
      } else if (m.type === "closed") closed?.();
      else if (m.type === "memory") onMemory(m);
      else {
        resolve({
          port: m.port,
          hostname: m.hostname,
          open: () =>
            new Promise((done) => {
              const id = nextId++;
              waiting.set(id, done);
              send({ type: "open", id });
            }),
          close: () =>
            new Promise((done) => {
              closed = done;
              send({ type: "close" });
            }),
        });
      }
    };
    send({ type: "start", options });
  });
}
