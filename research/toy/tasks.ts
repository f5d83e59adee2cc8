/**
 * The long-memory toy tasks, as seeded generators of single examples:
 * - first: first-term recall — L integers from 0…K−1; the answer is the first.
 * - kth: k-th highest term — L integers from 1…M; the answer is the k-th largest distinct value.
 * - copy: the copying memory task (Arjovsky et al. 2016) — 10 symbols from 1…8, T−1 blanks (0),
 *   a delimiter (9), 10 blanks; the answer is T+10 blanks then the 10 symbols, one per step.
 * - adding: the adding problem (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016) — T pairs
 *   (value in [0, 1), marker); one marker in each half; the answer is the sum of the 2 marked values.
 */
import { z } from "zod";
import type { Prng } from "../../shared/prng.ts";

export const TASK_KINDS = ["first", "kth", "copy", "adding"] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** What defines a task's data: everything but the seed. */
export const TaskConfigSchema = z.object({
  task: z.enum(TASK_KINDS),
  /** first, kth: the sequence length L; copy: the blank stretch T; adding: the length T. */
  length: z.number().int().min(1),
  /** first: the number of symbols K. */
  classes: z.number().int().min(2).default(10),
  /** kth: values are drawn from 1…M. */
  maxValue: z.number().int().min(2).default(100),
  /** kth: which largest distinct value is the answer (1 = the maximum). */
  rank: z.number().int().min(1).default(3),
}).strict().refine((c) => c.task !== "kth" || c.rank <= Math.min(c.maxValue, c.length), {
  message: "kth needs rank at most min(maxValue, length)",
  path: ["rank"],
}).refine((c) => c.task !== "adding" || c.length >= 2, {
  message: "adding needs length at least 2",
  path: ["length"],
});

export type TaskConfig = z.infer<typeof TaskConfigSchema>;

export function parseTaskConfig(input: unknown): TaskConfig {
  const r = TaskConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`Invalid task config at "${issue.path.join(".")}": ${issue.message}`);
  }
  return r.data;
}

/** Copy task constants (Arjovsky et al. 2016): 10 symbols from 8 categories. */
export const COPY_SYMBOLS = 10;
export const COPY_CATEGORIES = 8;
const COPY_DELIMITER = COPY_CATEGORIES + 1;

/**
 * One example. `x` holds `steps` token ids (one-hot inputs), or `steps` × 2 values for adding;
 * `y` holds one class, `steps` classes (copy), or one real value (adding).
 */
export interface Example {
  x: Int32Array | Float32Array;
  y: Int32Array | Float32Array;
}

/** How a task's examples look to a model. */
export interface TaskShape {
  /** Time steps per sequence. */
  steps: number;
  /** Width of one input step: the vocabulary (one-hot ids) or the channels (real values). */
  inSize: number;
  input: "ids" | "values";
  /** Output classes, or 1 for regression. */
  outSize: number;
  loss: "ce" | "mse";
  /** An answer at every step (copy) or from the final state only. */
  everyStep: boolean;
}

export function taskShape(c: TaskConfig): TaskShape {
  switch (c.task) {
    case "first":
      return { steps: c.length, inSize: c.classes, input: "ids", outSize: c.classes, ...last };
    case "kth":
      // Ids 0…M with 0 unused, so a value is its own id and its own class.
      return {
        steps: c.length,
        inSize: c.maxValue + 1,
        input: "ids",
        outSize: c.maxValue + 1,
        ...last,
      };
    case "copy":
      return {
        steps: c.length + 2 * COPY_SYMBOLS,
        inSize: COPY_CATEGORIES + 2,
        input: "ids",
        outSize: COPY_CATEGORIES + 1,
        loss: "ce",
        everyStep: true,
      };
    case "adding":
      return {
        steps: c.length,
        inSize: 2,
        input: "values",
        outSize: 1,
        loss: "mse",
        everyStep: false,
      };
  }
}
const last = { loss: "ce", everyStep: false } as const;

/** The k-th largest distinct value of `xs`, or undefined when it has fewer than k distinct values. */
export function kthLargestDistinct(xs: ArrayLike<number>, k: number): number | undefined {
  const distinct = [...new Set(Array.from(xs))].sort((a, b) => b - a);
  return distinct[k - 1];
}

/** Draw one example from `prng`. */
export function sampleExample(c: TaskConfig, prng: Prng): Example {
  switch (c.task) {
    case "first": {
      const x = Int32Array.from({ length: c.length }, () => prng.int(c.classes));
      return { x, y: Int32Array.of(x[0]!) };
    }
    case "kth": {
      // Redraw the rare sequence with fewer than `rank` distinct values (only at tiny L).
      for (;;) {
        const x = Int32Array.from({ length: c.length }, () => 1 + prng.int(c.maxValue));
        const y = kthLargestDistinct(x, c.rank);
        if (y !== undefined) return { x, y: Int32Array.of(y) };
      }
    }
    case "copy": {
      const n = c.length + 2 * COPY_SYMBOLS;
      const x = new Int32Array(n), y = new Int32Array(n);
      for (let i = 0; i < COPY_SYMBOLS; i++) {
        const s = 1 + prng.int(COPY_CATEGORIES);
        x[i] = s;
        y[n - COPY_SYMBOLS + i] = s;
      }
      x[n - COPY_SYMBOLS - 1] = COPY_DELIMITER;
      return { x, y };
    }
    case "adding": {
      const n = c.length, half = Math.floor(n / 2);
      const x = new Float32Array(2 * n);
      for (let t = 0; t < n; t++) x[2 * t] = prng.next();
      const a = prng.int(half), b = half + prng.int(n - half);
      x[2 * a + 1] = 1;
      x[2 * b + 1] = 1;
      // Sum the stored float32 values, so the target is exact for what the model sees.
      return { x, y: Float32Array.of(x[2 * a]! + x[2 * b]!) };
    }
  }
}
