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

  // Steps whose global gradient norm is in gradSum, and those whose embedding and input
  // norms were sampled (embedSum, inputSum).
  inputCount = 0;

  /** One interval's sums from the device (see DeviceTally.flush). */
  addInterval(s: IntervalSums) {
    this.lossSum += s.lossSum;
    this.lossCount += s.tokens;
    this.epochLossSum += s.lossSum;
    this.epochLossCount += s.tokens;
    if (s.steps === 0) return;
    this.gradLast = s.gradLast;
    this.gradMax = Math.max(this.gradMax, s.gradMax);
    this.gradSum += s.gradSum;
    this.gradCount += s.steps;
    if (s.inputCount > 0) {
      this.embedSum += s.embedSum;
      this.inputSum += s.inputSum;
      this.inputCount += s.inputCount;
    }
  }
  resetInterval() {
    this.lossSum = this.lossCount = 0;
    this.gradMax =
      this.gradSum =
      this.embedSum =
      this.inputSum =
      this.gradCount =
      this.inputCount =
        0;
  }
  resetEpoch() {
    this.epochLossSum = this.epochLossCount = 0;
  }
}

/** What a DeviceTally read gives: sums over the steps since the last read. */
export interface IntervalSums {
  steps: number;
  tokens: number;
  /** Σ loss·tokens. */
  lossSum: number;
  gradLast: number;
  gradMax: number;
  gradSum: number;
  /** Steps whose embedding and input gradient norms were sampled. */
  inputCount: number;
  embedSum: number;
  inputSum: number;
  /** The first and last step in the interval. */
  first: number;
  last: number;
}

/**
 * The same sums kept on the device between reads, so a training step reads nothing: each
 * step adds its loss and gradient norm there, and the loop reads all of it at once when it
 * logs, checkpoints or ends an epoch.
 */
export class DeviceTally {
  #loss?: Tensor;
  #gradSum?: Tensor;
  #gradMax?: Tensor;
  #gradLast?: Tensor;
  #input?: Tensor; // [2]: Σ‖∂L/∂embedding‖, Σ‖∂L/∂W₀‖
  #steps = 0;
  #tokens = 0;
  #inputCount = 0;
  #first = 0;
  #last = 0;

  /** Add step `step`'s loss and gradient norm (kept scalars, taken over and disposed). */
  add(step: number, loss: Tensor, tokens: number, gradNorm: Tensor, input?: Tensor) {
    if (this.#steps === 0) this.#first = step;
    this.#last = step;
    this.#steps++;
    this.#tokens += tokens;
    const acc = (old: Tensor | undefined, f: (o: Tensor) => Tensor, fresh: () => Tensor) => {
      const next = tf.tidy(() => (old ? f(old) : fresh()));
      old?.dispose();
      return next;
    };
    this.#loss = acc(
      this.#loss,
      (o) => tf.add(o, tf.mul(loss, tokens)),
      () => tf.mul(loss, tokens),
    );
    this.#gradSum = acc(this.#gradSum, (o) => tf.add(o, gradNorm), () => tf.clone(gradNorm));
    this.#gradMax = acc(this.#gradMax, (o) => tf.maximum(o, gradNorm), () => tf.clone(gradNorm));
    this.#gradLast?.dispose();
    this.#gradLast = gradNorm;
    if (input) {
      this.#input = acc(this.#input, (o) => tf.add(o, input), () => tf.clone(input));
      this.#inputCount++;
      input.dispose();
    }
    loss.dispose();
  }

  /** Read every sum in one read and start a new interval. */
  async flush(): Promise<IntervalSums> {
    const sums: IntervalSums = {
      steps: this.#steps,
      tokens: this.#tokens,
      lossSum: 0,
      gradLast: NaN,
      gradMax: 0,
      gradSum: 0,
      inputCount: this.#inputCount,
      embedSum: 0,
      inputSum: 0,
      first: this.#first,
      last: this.#last,
    };
    if (this.#steps > 0) {
      const all = tf.tidy(() =>
        tf.concat([
          tf.stack([this.#loss!, this.#gradSum!, this.#gradMax!, this.#gradLast!]),
          this.#input ?? tf.zeros([2]),
        ])
      );
      const v = await all.data();
      all.dispose();
      Object.assign(sums, {
        lossSum: v[0]!,
        gradSum: v[1]!,
        gradMax: v[2]!,
        gradLast: v[3]!,
        embedSum: v[4]!,
        inputSum: v[5]!,
      });
    }
    this.dispose();
    return sums;
  }

  dispose() {
    tf.dispose([this.#loss, this.#gradSum, this.#gradMax, this.#gradLast, this.#input].filter(
      (t): t is Tensor => t !== undefined,
    ));
    this.#loss =
      this.#gradSum =
      this.#gradMax =
      this.#gradLast =
      this.#input =
        undefined;
    this.#steps = this.#tokens = this.#inputCount = 0;
  }
}

/**
 * [‖∂L/∂embedding‖, ‖∂L/∂W‖] of the first layer's input matrix, before clipping, on the
 * device (NaN for one the model lacks).
 */
export function inputGradNorms(grads: Record<string, Tensor>): Tensor {
  const names = ["embedding", "layer0/W"];
  return tf.tidy(() =>
    tf.stack(names.map((n) => (grads[n] ? tf.norm(grads[n]!) : tf.scalar(NaN))))
  );
}
