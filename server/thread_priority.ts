/**
 * Helper threads (the score workers, the tokenizer's worker) run at a lower priority than the
 * thread that answers requests. On two cores, two score workers busy with a long text leave the
 * server's thread a third of the CPU when it needs it, and /health queued behind them for a
 * scheduler slice or more. Linux keeps a nice value per thread, and setpriority(…, 0, …) from
 * a thread sets its own only, so a worker lowers itself and nothing else; idle cores still go
 * to it in full. Where that is not allowed (another OS, no `--allow-sys=setPriority`) the
 * worker runs as before: priority is a preference, never a reason to fail.
 */
import { setPriority } from "node:os";

/** The nice value helper threads take (0 is the default, 19 the lowest priority). */
export const HELPER_NICE = 10;

/** Lower this thread's priority to `nice`: `nice` once set, null where it could not be. */
export function lowerThisThread(nice = HELPER_NICE): number | null {
  try {
    setPriority(0, nice);
    return nice;
  } catch {
    return null; // not permitted, or not supported here
  }
}
