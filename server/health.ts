/**
 * Whether the backend can still be trusted. A wasm trap (out-of-bounds access, `unreachable`,
 * an abort) or an allocation failure can leave the heap half-written: the backend goes on
 * answering, wrongly or with the same trap, for every later request. So the first such error
 * marks the server poisoned for good: it refuses new work with 503, its listeners end the open
 * streams, and the process exits for a supervisor to restart it.
 */
import { ApiError, type ErrorBody, errorBody } from "./errors.ts";

/** Messages of errors that may leave the wasm heap corrupt (V8 and JavaScriptCore spellings). */
const HEAP_FAULT =
  /memory access out of bounds|out of bounds memory access|out of memory|array buffer allocation failed|unreachable|aborted\(|^abort\(/i;

/** Whether `err` is one after which the backend cannot be trusted. */
export function isHeapFault(err: unknown): boolean {
  if (typeof WebAssembly !== "undefined" && err instanceof WebAssembly.RuntimeError) return true;
  const message = err instanceof Error ? err.message : String(err);
  return HEAP_FAULT.test(message.slice(0, 500));
}

export interface Health {
  /** Why the server is poisoned, once it is. */
  poisoned(): string | undefined;
  /** Look at a failure: a heap fault poisons the server. Returns whether the server is poisoned. */
  check(err: unknown): boolean;
  /** Called once, when the server becomes poisoned. */
  onPoisoned(listener: (reason: string) => void): void;
}

export function createHealth(): Health {
  let reason: string | undefined;
  const listeners: ((reason: string) => void)[] = [];
  return {
    poisoned: () => reason,
    check(err) {
      if (reason !== undefined) return true;
      if (!isHeapFault(err)) return false;
      const message = err instanceof Error ? err.message : String(err);
      reason = `The backend failed (${message.slice(0, 120)}); the server must restart`;
      console.error(reason);
      for (const l of listeners) {
        try {
          l(reason);
        } catch (e) {
          console.error(e);
        }
      }
      return true;
    },
    onPoisoned(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * The body a stream's `error` event carries for `err`; it is looked at first, so a fault that
 * poisons the server reads as every later answer does (service_unavailable with the reason).
 */
export function streamErrorBody(health: Health, err: Error): ErrorBody {
  if (health.check(err)) return errorBody("service_unavailable", health.poisoned()!, null);
  // An answer the server chose (a shutdown's 503) keeps its type.
  if (err instanceof ApiError) return errorBody(err.type, err.message, null);
  return errorBody("server_error", err.message, null);
}
