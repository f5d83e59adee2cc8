import { tf } from "./tf.ts";
import type { Tensor } from "./tf.ts";

export const ACTIVATIONS = ["tanh", "relu", "abs", "leaky_relu", "modrelu", "linear"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * σ(z) for the RNN cells. `modrelu` is sign(z)·relu(|z| + b) with a learnable per-unit
 * bias b (Arjovsky et al. 2016), so it needs `bMod`; `leaky_relu` uses `slope`.
 */
export function activate(
  kind: Activation,
  z: Tensor,
  opts: { slope: number; bMod?: Tensor },
): Tensor {
  switch (kind) {
    case "tanh":
      return tf.tanh(z);
    case "relu":
      return tf.relu(z);
    case "abs":
      return tf.abs(z);
    case "leaky_relu":
      return tf.leakyRelu(z, opts.slope);
    case "linear":
      return z;
    case "modrelu": {
      if (!opts.bMod) throw new Error("modrelu needs its bias b_mod");
      return tf.mul(tf.sign(z), tf.relu(tf.add(tf.abs(z), opts.bMod)));
    }
  }
}
