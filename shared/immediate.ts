/**
 * The event loop's cheapest turn wherever JavaScript runs. Deno, Bun and Node have
 * setImmediate; a browser tab (and workerd without Node compatibility) does not, and there a
 * MessageChannel message is the next macrotask without setTimeout's 4 ms clamp on nested
 * timers. A bare setTimeout is the last resort.
 */
type Run = (cb: () => void) => void;

function pick(): Run {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === "function") {
    const set = g.setImmediate;
    return (cb) => void set(cb);
  }
  if (typeof MessageChannel === "function") {
    const queue: (() => void)[] = [];
    const channel = new MessageChannel();
    channel.port1.onmessage = () => queue.shift()?.();
    return (cb) => {
      queue.push(cb);
      channel.port2.postMessage(0);
    };
  }
  return (cb) => void setTimeout(cb, 0);
}

let run: Run | undefined;

/** Run `cb` on the next turn of the event loop. */
export function immediate(cb: () => void): void {
  // Picked on first use, not at import: nothing is set up by importing this module.
  (run ??= pick())(cb);
}
