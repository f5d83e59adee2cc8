/**
 * Stop strings over streamed text pieces: text that might be the start of a stop string is
 * held back until it is known not to be, so nothing after a stop string is ever released.
 */
export interface StopResult<T> {
  /** Items now safe to send, in order. */
  release: T[];
  /** True when a stop string was found; nothing more should be generated. */
  stopped: boolean;
  /** On a stop, the text of the item that holds the stop string's start, up to that start. */
  tail: string;
}

export interface StopMatcher<T> {
  push(text: string, item: T): StopResult<T>;
  /** At the end of generation: everything still held back. */
  flush(): T[];
}

export function createStopMatcher<T>(stops: readonly string[]): StopMatcher<T> {
  const active = stops.filter((s) => s.length > 0);
  let held: { text: string; item: T }[] = [];
  /** Release the held items that end at or before character `k` of the held text. */
  const releaseBefore = (k: number): { release: T[]; tail: string } => {
    const release: T[] = [];
    let at = 0, i = 0, tail = "";
    for (; i < held.length; i++) {
      const h = held[i]!;
      if (at + h.text.length > k) {
        tail = h.text.slice(0, k - at);
        break;
      }
      release.push(h.item);
      at += h.text.length;
    }
    held = held.slice(i);
    return { release, tail };
  };
  return {
    push(text, item) {
      held.push({ text, item });
      if (active.length === 0) return { ...releaseBefore(Infinity), stopped: false, tail: "" };
      const all = held.map((h) => h.text).join("");
      let first = -1;
      for (const s of active) {
        const k = all.indexOf(s);
        if (k >= 0 && (first < 0 || k < first)) first = k;
      }
      if (first >= 0) {
        const r = releaseBefore(first);
        held = [];
        return { ...r, stopped: true };
      }
      // The earliest position from which the rest of the text could still become a stop string.
      let from = all.length;
      for (
        let j = Math.max(0, all.length - Math.max(...active.map((s) => s.length)));
        j < from;
        j++
      ) {
        const rest = all.slice(j);
        if (active.some((s) => s.startsWith(rest))) from = j;
      }
      return { release: releaseBefore(from).release, stopped: false, tail: "" };
    },
    flush() {
      const out = held.map((h) => h.item);
      held = [];
      return out;
    },
  };
}
