/**
 * Stopping as a supervisor expects (systemd, Docker, Kubernetes, a terminal's Ctrl-C): on the
 * first SIGTERM or SIGINT the server stops accepting connections and lets the requests in flight
 * finish for up to SHUTDOWN_GRACE_MS; the streams still open then end with an SSE `error` event
 * (`service_unavailable`, "The server is shutting down") and the process exits 0. A second
 * signal exits at once, with 128 + the signal's number as a shell reports it.
 */
import { ApiError } from "./errors.ts";

export type StopSignal = "SIGTERM" | "SIGINT";

/** Exit status after a second signal: 128 + the signal's number (SIGINT 2, SIGTERM 15). */
export const EXIT_NOW: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** How long error events get to reach their clients after the grace period, before exit. */
export const FLUSH_MS = 200;

/** The error open streams end with when the grace period runs out. */
export const shuttingDown = () =>
  new ApiError(503, "service_unavailable", "The server is shutting down", null);

export interface ShutdownOptions {
  /** Milliseconds open requests get to finish after the first signal. */
  graceMs: number;
  /** Stop accepting connections; resolves once every open request has been answered. */
  stopAccepting(): Promise<void>;
  /** End every open stream with `err` (each sends it as its `error` event). */
  endStreams(err: Error): void;
  exit(code: number): void;
  log(line: string): void;
}

/** The handler to install for SIGTERM and SIGINT. */
export function createShutdown(o: ShutdownOptions): (signal: StopSignal) => void {
  let stopping = false;
  return function onStopSignal(signal) {
    if (stopping) {
      o.log(`${signal} again: exiting now`);
      o.exit(EXIT_NOW[signal]);
      return;
    }
    stopping = true;
    o.log(
      `${signal}: no new connections; open requests have ${o.graceMs} ms to finish ` +
        `(SHUTDOWN_GRACE_MS)`,
    );
    // A failure to close the listener must not keep the process up: it counts as drained.
    const drained = o.stopAccepting().catch((err) => o.log(`closing the listener: ${err}`));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"grace">((resolve) => {
      timer = setTimeout(() => resolve("grace"), o.graceMs);
    });
    void Promise.race([drained.then(() => "drained" as const), grace]).then(async (how) => {
      clearTimeout(timer);
      if (how === "grace") {
        o.log("grace period over: ending the open streams");
        o.endStreams(shuttingDown());
        await Promise.race([drained, new Promise((r) => setTimeout(r, FLUSH_MS))]);
      }
      o.exit(0);
    });
  };
}
