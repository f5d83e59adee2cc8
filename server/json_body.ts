/**
 * Untrusted JSON without recursion on our side: the nesting is measured by one loop over the
 * text before JSON.parse, and a bad value is described by a bounded preview, never by
 * JSON.stringify of the whole value (recursive; a 50,000-deep array overflowed Bun's stack).
 */

/** Deeper bodies are refused: no request schema nests more than three levels. */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of arrays and objects in JSON text (strings skipped); linear time. */
export function jsonDepth(text: string): number {
  let depth = 0, max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, past escapes.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A short, quoted view of a value for an error message: at most ~80 characters. */
export function preview(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  }
  if (Array.isArray(value)) return `(an array of ${value.length})`;
  if (value === null || typeof value !== "object") return String(value).slice(0, 80);
  return "(an object)";
}
