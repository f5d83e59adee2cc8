/**
 * Imported first by the helper threads' modules (score_worker.ts, tokenize_worker.ts), never by
 * the server's thread: the helper lowers its priority (thread_priority.ts) before anything else
 * loads, as loading tfjs and compiling its wasm is a burst of CPU of its own at start-up.
 */
import { lowerThisThread } from "./thread_priority.ts";

/** This thread's nice value, null where it could not be lowered. */
export const helperNice = lowerThisThread();
