/** The poster's PTB results (validation / test perplexity), the figures rotor sets beside its own. */
export interface PosterPpl {
  valid: number;
  test: number;
}

/** Activation table: cell → activation → perplexity. */
export const POSTER_ACTIVATION: Record<"rnn" | "urnn", Record<string, PosterPpl>> = {
  rnn: {
    relu: { valid: 754.65, test: 705.28 },
    abs: { valid: 784.53, test: 773.91 },
    leaky_relu: { valid: 756.48, test: 712.88 },
  },
  urnn: {
    relu: { valid: 720.88, test: 666.93 },
    abs: { valid: 717.12, test: 613.89 },
    leaky_relu: { valid: 869.21, test: 810.21 },
  },
};

/** BPTT table: cell → BPTT length → perplexity. */
export const POSTER_BPTT: Record<"gru" | "ugru", Record<number, PosterPpl>> = {
  gru: { 35: { valid: 100.8, test: 97.25 }, 150: { valid: 108.33, test: 105.34 } },
  ugru: { 35: { valid: 101.76, test: 98.05 }, 150: { valid: 105.05, test: 102.07 } },
};

/** The poster's claim about time per batch: the unitary cells are 1–10 % slower. */
export const POSTER_OVERHEAD = { min: 1, max: 10 };
