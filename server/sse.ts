/** Server-Sent Events: the wire frames and a response that stops work when its client leaves. */

/** One SSE frame; multi-line data becomes several `data:` lines. */
export function sseFrame(data: string, event?: string): string {
  const lines = data.split("\n").map((l) => `data: ${l}`).join("\n");
  return `${event ? `event: ${event}\n` : ""}${lines}\n\n`;
}

export interface SseWriter {
  send(data: string, event?: string): void;
  /** Aborted when the client disconnects (or the request's own signal aborts). */
  signal: AbortSignal;
}

/**
 * A stream that has sent nothing for this long (waiting for a place in the batch) sends an SSE
 * comment line, which clients ignore: the connection front closes connections silent for
 * IDLE_TIMEOUT_MS (connections.ts), and proxies on the way do the same.
 */
export const HEARTBEAT_MS = 10_000;

/**
 * A text/event-stream response fed by `run`. The stream closes when `run` settles; if it
 * throws, `onError` writes the last frames. `run`'s signal aborts when the client goes away.
 */
export function sseResponse(
  requestSignal: AbortSignal | undefined,
  run: (w: SseWriter) => Promise<void>,
  onError: (w: SseWriter, err: Error) => void,
  heartbeatMs = HEARTBEAT_MS,
): Response {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  requestSignal?.addEventListener("abort", onAbort, { once: true });
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let sentAt = Date.now();
      const put = (text: string) => {
        if (ac.signal.aborted) return;
        try {
          controller.enqueue(enc.encode(text));
          sentAt = Date.now();
        } catch {
          ac.abort(); // closed under us: the same as a disconnect
        }
      };
      const heartbeat = setInterval(() => {
        if (Date.now() - sentAt >= heartbeatMs) put(":\n\n");
      }, heartbeatMs / 2);
      const w: SseWriter = {
        send: (data, event) => put(sseFrame(data, event)),
        signal: ac.signal,
      };
      run(w)
        .catch((err: Error) => onError(w, err))
        .finally(() => {
          clearInterval(heartbeat);
          requestSignal?.removeEventListener("abort", onAbort);
          try {
            controller.close();
          } catch {
            // already cancelled by the client
          }
        });
    },
    cancel() {
      ac.abort();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
