/**
 * Faster Slice, Unpack and SplitV kernels for the wasm backend.
 *
 * tfjs-backend-wasm's Slice copies its whole input out of the wasm heap (`readSync`) before
 * taking the slice, so every slice costs the size of the source, and Unpack (`tf.unstack`) is
 * one such slice per step: unstacking a [T,B,gH] sequence costs O(T²·B·gH). At T = 400 that
 * made a toy-task forward pass 30× slower than at T = 200, and it taxes every recurrence here.
 * These kernels copy a contiguous slice straight from a view of the heap (as the backend's own
 * Identity kernel does) and hand anything else to the original kernel. No npm package
 * replaces a single tfjs kernel, so it is written here.
 */
import { tf } from "./tf.ts";

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
/** The part of tfjs-backend-wasm's BackendWasm that these kernels (and fused_cells.ts) use. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}
export type KernelArgs = {
  inputs: Record<string, TensorInfo>;
  attrs?: Record<string, unknown>;
  backend: unknown;
};
type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Copy x[offset .. offset+size(shape)) into a new tensor of `shape`. */
function copyRange(backend: WasmHeapBackend, x: TensorInfo, offset: number, shape: number[]) {
  const out = backend.makeOutput(shape, x.dtype);
  // Views are taken after makeOutput: allocating may grow the heap and detach older views.
  const n = tf.util.sizeFromShape(shape);
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + n));
  return out;
}

type Args = Parameters<KernelFunc>[0];
/** A faster path for some inputs; undefined hands the call to the backend's own kernel. */
type FastPath = (args: Args, backend: WasmHeapBackend) => TensorInfo | TensorInfo[] | undefined;

const FAST: Record<string, FastPath> = {
  Slice(args, backend) {
    const x = args.inputs.x!;
    const { begin, size } = args.attrs as { begin: number | number[]; size: number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo, begin, size) as [
      number[],
      number[],
    ];
    if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, b, s)) return;
    return copyRange(
      backend,
      x,
      tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape)),
      s,
    );
  },
  Unpack(args, backend) {
    const x = args.inputs.value!;
    const axis = (args.attrs as { axis: number }).axis;
    // Along the first axis every part is contiguous.
    if (x.dtype === "string" || (axis !== 0 && axis !== -x.shape.length)) return;
    const [n, ...rest] = x.shape;
    const stride = tf.util.sizeFromShape(rest);
    return Array.from({ length: n! }, (_, i) => copyRange(backend, x, i * stride, rest));
  },
  // SplitV (tf.split, and the gradient of tf.concat) is a slice per part inside the backend.
  SplitV(args, backend) {
    const x = args.inputs.x!;
    const { numOrSizeSplits, axis } = args.attrs as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    // Parts are contiguous when every dimension before the axis is 1.
    if (x.dtype === "string" || tf.util.sizeFromShape(x.shape.slice(0, ax)) !== 1) return;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
    let at = 0;
    return sizes.map((n) => {
      const shape = x.shape.slice();
      shape[ax] = n;
      const out = copyRange(backend, x, at * inner, shape);
      at += n;
      return out;
    });
  },
};

let installed = false;
/** How many calls took a fast path (tests check that the replacement is in use). */
export const fastPathCalls = { count: 0 };

/** Replace the wasm backend's Slice, Unpack and SplitV kernels (once; after it is registered). */
export function installWasmKernels(): void {
  if (installed) return;
  const originals = Object.keys(FAST).map((name) => tf.getKernel(name, "wasm")?.kernelFunc);
  if (originals.some((k) => !k)) return;
  installed = true;
  Object.entries(FAST).forEach(([name, fast], i) => {
    const original = originals[i] as unknown as KernelFunc;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: ((args) => {
        const out = fast(args, args.backend as WasmHeapBackend);
        if (out === undefined) return original(args);
        fastPathCalls.count++;
        return out;
      }) as KernelFunc as tf.KernelFunc,
    });
  });
}
