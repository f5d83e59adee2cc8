/**
 * The connection budget, held by the server's front door: a TCP listener that owns every
 * client connection and relays its bytes to the runtime's HTTP server on a private unix socket
 * (front_deno.ts on Deno.listen, front_node.ts on Bun's node:net). Neither Deno.serve nor
 * Bun.serve lets a program refuse an accept, count connections or time out an idle one, and
 * Deno's accept loop exits the process when descriptors run out. This file is the policy both
 * fronts share:
 * - at most `maxConnections` at once; past it the longest-silent connection that is not
 *   waiting for an answer is closed to make room (a flood of silent sockets cannot lock out a
 *   client that sends its request), or, when every connection is busy, the new one is closed;
 * - the first request head must arrive within `headersTimeoutMs` of connecting;
 * - a connection with nothing sent either way for `idleTimeoutMs` is closed, or after ten
 *   times as long when it waits for the answer to a request it sent (a long generation sent
 *   whole; SSE streams send a comment line while quiet, see sse.ts);
 * - an HTTP/2 preface (which the HTTP/1.1 server cannot answer) is closed at once;
 * - the cap leaves descriptors to spare, and a failed accept only pauses accepting a moment.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { readIntEnv } from "./env_ints.ts";

export interface ConnectionLimits {
  /** Client connections open at once (MAX_CONNECTIONS). */
  maxConnections: number;
  /** Milliseconds from connecting to the end of the first request head (HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Milliseconds a connection may stay silent both ways (IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
}

/** The environment variable of each connection limit (README lists them). */
export const CONNECTION_ENV: Record<keyof ConnectionLimits, string> = {
  maxConnections: "MAX_CONNECTIONS",
  headersTimeoutMs: "HEADERS_TIMEOUT_MS",
  idleTimeoutMs: "IDLE_TIMEOUT_MS",
};

/** A connection can take three descriptors (the client's, and both ends of the relay). */
export const FDS_PER_CONNECTION = 3;

/** Descriptors kept for everything else (model files, workers, stdio): an eighth, at least 64. */
export function reservedFds(limit: number): number {
  return Math.max(64, Math.floor(limit / 8));
}

/** The default cap for a descriptor limit: what is left after the reserve, per connection. */
export function defaultMaxConnections(fdLimit: number): number {
  return Math.max(8, Math.floor((fdLimit - reservedFds(fdLimit)) / FDS_PER_CONNECTION));
}

/** The soft limit on open files (Linux /proc); `fallback` where it cannot be read. */
export function openFileLimit(fallback = 1024): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m?.[1] === "unlimited") return 1 << 20;
    return m ? Number(m[1]) : fallback;
  } catch {
    return fallback;
  }
}

export function defaultConnectionLimits(fdLimit = openFileLimit()): ConnectionLimits {
  return {
    maxConnections: defaultMaxConnections(fdLimit),
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 30_000,
  };
}

/** The connection limits set in the environment, over the defaults. */
export function readConnectionEnv(
  env: Record<string, string | undefined>,
  fdLimit = openFileLimit(),
): ConnectionLimits {
  return readIntEnv(env, CONNECTION_ENV, defaultConnectionLimits(fdLimit));
}

/** A connection waiting for an answer is closed after this many idle timeouts of silence. */
export const WAITING_IDLE_FACTOR = 10;
/** A connection at the cap is closed for a newcomer only when it has been silent this long. */
export const EVICT_IDLE_MS = 250;
/** How long the listener pauses after an accept failed (no descriptor left). */
export const ACCEPT_PAUSE_MS = 100;
/** A first request head longer than this closes the connection (the HTTP server's own limit). */
export const MAX_HEAD_BYTES = 64 * 1024;
const H2_PREFACE = "PRI * HTTP/2.0";

/** One client connection as the table sees it. */
export interface Tracked {
  opened: number;
  /** When a byte last went either way. */
  lastActive: number;
  /** The client sent bytes after the server last answered: a request is in progress. */
  waiting: boolean;
  /** The first request head as far as it came (latin1), until its blank line. */
  head: string | undefined;
  /** Closes the connection (client and relay); called once. */
  close: () => void;
}

export interface ConnectionStats {
  accepted: number;
  evicted: number;
  refused: number;
  timedOut: number;
  acceptErrors: number;
}

export interface ConnectionTable {
  /** Track a new connection, or undefined when it must be closed: the cap is full of busy ones. */
  admit(close: () => void, now?: number): Tracked | undefined;
  /** Bytes from the client; false when the connection must be closed (HTTP/2, a huge head). */
  fromClient(t: Tracked, chunk: Uint8Array, now?: number): boolean;
  /** Bytes from the server. */
  fromServer(t: Tracked, now?: number): void;
  /** Forget a connection and close it (once). */
  remove(t: Tracked): void;
  /** Close the connections past a timeout. */
  sweep(now?: number): void;
  open(): number;
  stats: ConnectionStats;
}

/** The policy shared by both runtimes' fronts: the cap, eviction, timeouts and head checks. */
export function createConnectionTable(limits: ConnectionLimits): ConnectionTable {
  const conns = new Set<Tracked>();
  const stats = { accepted: 0, evicted: 0, refused: 0, timedOut: 0, acceptErrors: 0 };
  const remove = (t: Tracked) => {
    if (conns.delete(t)) t.close();
  };
  /** Close the longest-silent connection that has no request in progress, if silent enough. */
  const makeRoom = (now: number): boolean => {
    let oldest: Tracked | undefined;
    for (const t of conns) {
      if (t.waiting && t.head === undefined) continue;
      if (!oldest || t.lastActive < oldest.lastActive) oldest = t;
    }
    if (!oldest || now - oldest.lastActive < EVICT_IDLE_MS) return false;
    stats.evicted++;
    remove(oldest);
    return true;
  };
  return {
    admit(close, now = Date.now()) {
      if (conns.size >= limits.maxConnections && !makeRoom(now)) {
        stats.refused++;
        return undefined;
      }
      stats.accepted++;
      const t: Tracked = { opened: now, lastActive: now, waiting: false, head: "", close };
      conns.add(t);
      return t;
    },
    fromClient(t, chunk, now = Date.now()) {
      t.lastActive = now;
      t.waiting = true;
      if (t.head === undefined) return true;
      // latin1: one character per byte, whatever the bytes are.
      let text = "";
      for (let i = 0; i < chunk.length && t.head.length + i <= MAX_HEAD_BYTES; i++) {
        text += String.fromCharCode(chunk[i]!);
      }
      t.head += text;
      const n = Math.min(t.head.length, H2_PREFACE.length);
      if (n === H2_PREFACE.length && t.head.startsWith(H2_PREFACE)) return false;
      if (t.head.includes("\r\n\r\n")) t.head = undefined;
      else if (t.head.length > MAX_HEAD_BYTES) return false;
      return true;
    },
    fromServer(t, now = Date.now()) {
      t.lastActive = now;
      t.waiting = false;
    },
    remove,
    sweep(now = Date.now()) {
      for (const t of conns) {
        // A connection waiting for its answer may be silent longer (a long generation sent
        // whole), but not for ever: a later request's head left half-sent waits too.
        const silent = now - t.lastActive;
        const late = t.head !== undefined
          ? now - t.opened > limits.headersTimeoutMs
          : silent > limits.idleTimeoutMs * (t.waiting ? WAITING_IDLE_FACTOR : 1);
        if (late) {
          stats.timedOut++;
          remove(t);
        }
      }
    },
    open: () => conns.size,
    stats,
  };
}

/** How often the table is swept: a tenth of the shorter timeout, at least every 50 ms. */
export function sweepEveryMs(limits: ConnectionLimits): number {
  return Math.max(50, Math.min(limits.idleTimeoutMs, limits.headersTimeoutMs) / 10);
}

/** A listening front: where it listens, how many connections it holds, and how to stop it. */
export interface Front {
  port: number;
  hostname: string;
  table: ConnectionTable;
  close(): Promise<void>;
}

export interface FrontOptions {
  port: number;
  host: string;
  /** The unix socket the runtime's HTTP server listens on. */
  backendPath: string;
  limits: ConnectionLimits;
}

/**
 * A unix socket path in a new folder only this user can enter, for the HTTP server behind the
 * front: nothing else on the machine can reach it past the connection budget.
 */
export function privateSocketPath(tempDir: string): string {
  const dir = mkdtempSync(join(tempDir, "rotor-"));
  // Removed when the process exits by itself or by exit() (a signal's handler included).
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "http.sock");
}

/**
 * Resolves once the front holds no connection. At shutdown the HTTP server is done when it has
 * written its last answer, but the front still has to relay those bytes to the client: exiting
 * before this cut the answers short.
 */
export async function relaysDone(
  open: () => number | Promise<number>,
  everyMs = 20,
): Promise<void> {
  while (await open() > 0) await new Promise((r) => setTimeout(r, everyMs));
}
