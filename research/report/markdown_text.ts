/** What the report's Markdown shares: PTB's size, names as the poster writes them, cell text. */

/** Tokens in PTB's training split, `<eos>` included. */
export const PTB_TRAIN_TOKENS = 929589;

/** Activation names as the poster writes them. */
export const ACT_NAMES: Record<string, string> = {
  relu: "ReLU",
  abs: "|x|",
  leaky_relu: "leaky ReLU",
};

/** Cell names as the poster writes them. */
export const CELL_NAMES: Record<string, string> = {
  rnn: "RNN",
  urnn: "uRNN",
  gru: "GRU",
  ugru: "uGRU",
  lstm: "LSTM",
};

/** A table cell's text, its pipes escaped. */
export const esc = (s: string) => s.replace(/\|/g, "\\|");

/** Two decimals, or a dash for a number not measured (or not finite). */
export const f2 = (x: number | undefined) =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(2) : "–";

/** Seconds as hours and minutes: "1h05m", or "12m" under an hour. */
export const hms = (s: number) => {
  const h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m`;
};

/** A signed percentage with a true minus sign: "+3.1 %", "−0.4 %". */
export const pct = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)} %`;
