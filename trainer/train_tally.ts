/**
 * What the training loop sums between log lines and over an epoch: the loss, and the gradient
 * norms that show whether gradients reach the layers before the recurrence.
 */
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";

/** Sums over the current log interval and the current epoch. */
export class Tally {
  lossSum = 0;
  lossCount = 0;
  epochLossSum = 0;
  epochLossCount = 0;
  // Gradient norms before clipping: of all parameters, of the embedding and of the first
  // layer's input matrix (what reaches the layers before the recurrence).
  gradLast = NaN;
  gradMax = 0;
  gradSum = 0;
  embedSum = 0;
  inputSum = 0;
  gradCount = 0;

  add(loss: number, ntok: number, gradNorm: number, input?: { embedding: number; input: number }) {
    this.lossSum += loss * ntok;
    this.lossCount += ntok;
    this.epochLossSum += loss * ntok;
    this.epochLossCount += ntok;
    this.gradLast = gradNorm;
    this.gradMax = Math.max(this.gradMax, gradNorm);
    if (input) {
      this.gradSum += gradNorm;
      this.embedSum += input.embedding;
      this.inputSum += input.input;
      this.gradCount++;
    }
  }
  resetInterval() {
    this.lossSum = this.lossCount = 0;
    this.gradMax =
      this.gradSum =
      this.embedSum =
      this.inputSum =
      this.gradCount =
        0;
  }
  resetEpoch() {
    this.epochLossSum = this.epochLossCount = 0;
  }
}

/**
 * ‖∂L/∂embedding‖ and ‖∂L/∂W‖ of the first layer's input matrix, before clipping, read from
 * the device together.
 */
export async function inputGradNorms(
  grads: Record<string, Tensor>,
): Promise<{ embedding: number; input: number }> {
  const names = ["embedding", "layer0/W"];
  const norms = tf.tidy(() =>
    tf.stack(names.map((n) => (grads[n] ? tf.norm(grads[n]!) : tf.scalar(NaN))))
  );
  const [embedding, input] = await norms.data();
  norms.dispose();
  return { embedding: embedding!, input: input! };
}
