/**
 * Batches for the toy tasks: a training stream of fresh batches and a fixed held-out set.
 *
 * The two never share a sequence, by construction: each comes from its own seed stream, and
 * on top of that every sequence is assigned to one side by a hash of its contents (1 in
 * HELD_OUT_SHARE hashes to the held-out side); each generator redraws what belongs to the other.
 *
 * Batches are time-major, like shared/model.ts: row t·B + b is sequence b at step t.
 *
 *     x  [T·B] ids, or [T·B, 2] values (adding)
 *     y  [B] answers, or [T·B] per-step answers (copy)
 */
import { createPrng, type Prng } from "../../shared/prng.ts";
import { type Example, sampleExample, type TaskConfig, taskShape } from "./tasks.ts";

export const HELD_OUT_SHARE = 8;

export interface Batch {
  size: number;
  steps: number;
  x: Int32Array | Float32Array;
  y: Int32Array | Float32Array;
}

/** 32-bit FNV-1a, finished with murmur3's fmix32 so that the low bits are well mixed too. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A hash of a sequence's inputs (which determine its answer). */
export function sequenceHash(e: Example): number {
  return fnv1a(new Uint8Array(e.x.buffer, e.x.byteOffset, e.x.byteLength));
}

export function isHeldOut(e: Example): boolean {
  return sequenceHash(e) % HELD_OUT_SHARE === 0;
}

/** A seed for a named stream of (task, seed), so training and held-out draws are independent. */
export function streamSeed(stream: "train" | "heldout", c: TaskConfig, seed: number): number {
  const key = `${stream}|${c.task}|${c.length}|${c.classes}|${c.maxValue}|${c.rank}|${seed}`;
  return fnv1a(new TextEncoder().encode(key));
}

const MAX_TRIES = 10_000;

function draw(c: TaskConfig, prng: Prng, heldOut: boolean): Example {
  for (let i = 0; i < MAX_TRIES; i++) {
    const e = sampleExample(c, prng);
    if (isHeldOut(e) === heldOut) return e;
  }
  throw new Error(
    `Found no ${heldOut ? "held-out" : "training"} sequence for task "${c.task}" at length ` +
      `${c.length} in ${MAX_TRIES} draws; the task has too few distinct sequences`,
  );
}

/** Stack examples into one time-major batch. */
export function toBatch(c: TaskConfig, examples: readonly Example[]): Batch {
  const s = taskShape(c);
  const B = examples.length, T = s.steps, w = s.input === "values" ? s.inSize : 1;
  const x = s.input === "ids" ? new Int32Array(T * B) : new Float32Array(T * B * w);
  const yLen = s.everyStep ? T * B : B;
  const y = s.loss === "ce" ? new Int32Array(yLen) : new Float32Array(yLen);
  examples.forEach((e, b) => {
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < w; j++) x[(t * B + b) * w + j] = e.x[t * w + j]!;
      if (s.everyStep) y[t * B + b] = e.y[t]!;
    }
    if (!s.everyStep) y[b] = e.y[0]!;
  });
  return { size: B, steps: T, x, y };
}

/** Fresh training batches, forever: the same seed gives the same batches. */
export function trainingStream(c: TaskConfig, seed: number): (batch: number) => Batch {
  const prng = createPrng(streamSeed("train", c, seed));
  return (batch) => toBatch(c, Array.from({ length: batch }, () => draw(c, prng, false)));
}

/** The fixed held-out set of `n` sequences for (task, seed). */
export function heldOutSet(c: TaskConfig, seed: number, n: number): Example[] {
  const prng = createPrng(streamSeed("heldout", c, seed));
  return Array.from({ length: n }, () => draw(c, prng, true));
}

/** Frequency of the most common answer among `examples` (the majority-class baseline). */
export function majorityShare(examples: readonly Example[]): { label: number; share: number } {
  const counts = new Map<number, number>();
  for (const e of examples) {
    for (const v of e.y) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let label = 0, best = -1, total = 0;
  for (const [k, n] of counts) {
    total += n;
    if (n > best || (n === best && k < label)) [label, best] = [k, n];
  }
  return { label, share: total ? best / total : 0 };
}
