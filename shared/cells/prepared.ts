/**
 * A cell's per-sequence constants with Uᵀ made on first read: the composed step reads it at
 * every time step, the recurrence op (shared/recurrence/) never, and on a GPU an unread
 * transpose is still a dispatch.
 */
import { tf } from "../tf.ts";
import type { Tensor2D } from "../tf.ts";
import type { Prepared } from "./types.ts";

export function prepared(U: Tensor2D): Prepared {
  let ut: Tensor2D | undefined;
  return {
    U,
    get UT() {
      return (ut ??= tf.transpose(U));
    },
  };
}
