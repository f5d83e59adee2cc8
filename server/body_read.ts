/**
 * Reading a request's body under two budgets: its size (413 past `maxBodyBytes`) and the time
 * the client takes to send it (408 past `bodyTimeoutMs`), so a client dribbling a byte a second
 * does not hold a connection and its buffers for ever.
 *
 * An oversized body is still read to its end (up to DRAIN_FACTOR times the limit) and thrown
 * away before the 413 is sent: a server that answers and closes while the client is still
 * sending resets the connection, and the client sees ECONNRESET instead of the 413.
 */
import type { Context, MiddlewareHandler } from "hono";
import { errorBody } from "./errors.ts";
import type { Limits } from "./limits.ts";

/** How much of an oversized body is drained, as a multiple of the limit, before answering. */
export const DRAIN_FACTOR = 16;

type Read = { done: true } | { done: false; value: Uint8Array } | { timedOut: true };

export function bodyReader(limits: Limits): MiddlewareHandler {
  return async function readBody(c, next) {
    const body = c.req.raw.body;
    if (!body) return next();
    const max = limits.maxBodyBytes;
    const declared = Number(c.req.header("content-length") ?? NaN);
    if (declared > max * DRAIN_FACTOR) return tooLarge(c, max);
    if (Number.isInteger(declared)) return await readWhole(c, next, limits, declared);
    const reader = body.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<Read>((resolve) => {
      timer = setTimeout(() => resolve({ timedOut: true }), limits.bodyTimeoutMs);
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const r = await Promise.race([reader.read() as Promise<Read>, timeout]);
        if ("timedOut" in r) {
          reader.cancel().catch(() => {});
          return timedOut(c, limits);
        }
        if (r.done) break;
        size += r.value.length;
        if (size > max * DRAIN_FACTOR) {
          reader.cancel().catch(() => {});
          return tooLarge(c, max);
        }
        if (size <= max) chunks.push(r.value);
      }
    } catch {
      // The client went away mid-body: nobody is left to answer.
      return c.body(null, 400, { connection: "close" });
    } finally {
      clearTimeout(timer);
    }
    if (size > max) return tooLarge(c, max);
    const buffer = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, offset);
      offset += chunk.length;
    }
    c.req.raw = new Request(c.req.raw, { body: buffer });
    return next();
  };
}

/**
 * A body of declared length, read in one piece: Deno's runtime keeps ~50–200 KB of native memory
 * for every request answered while a read of its body stream was pending (500 clients timed out
 * mid-body grew RSS by 25–100 MB a round, for good), and none when the body is read whole by
 * arrayBuffer(). The declared length bounds what it reads (at most DRAIN_FACTOR × the limit).
 */
async function readWhole(
  c: Context,
  next: () => Promise<void>,
  limits: Limits,
  declared: number,
): Promise<Response | void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.bodyTimeoutMs);
  });
  let buffer: ArrayBuffer | "timeout";
  try {
    buffer = await Promise.race([c.req.raw.arrayBuffer(), timeout]);
  } catch {
    return c.body(null, 400, { connection: "close" });
  } finally {
    clearTimeout(timer);
  }
  if (buffer === "timeout") return timedOut(c, limits);
  if (declared > limits.maxBodyBytes || buffer.byteLength > limits.maxBodyBytes) {
    return tooLarge(c, limits.maxBodyBytes);
  }
  c.req.raw = new Request(c.req.raw, { body: buffer });
  return next();
}

function timedOut(c: Context, limits: Limits): Response {
  return c.json(
    errorBody(
      "request_timeout",
      `Request body was not received within ${limits.bodyTimeoutMs} ms (BODY_TIMEOUT_MS)`,
      null,
    ),
    408,
    { connection: "close" },
  );
}

function tooLarge(c: Context, max: number): Response {
  return c.json(
    errorBody(
      "request_too_large",
      `Request body is larger than the limit of ${max} bytes (MAX_BODY_BYTES)`,
      null,
    ),
    413,
    { connection: "close" },
  );
}
