/**
 * How many kernels a piece of work runs, and how many times it reads the device: the figure
 * that sets a GPU step's time when tfjs dispatches one small kernel per op (see
 * reports/webgpu.md), and one that needs no GPU to measure.
 *
 * - kernels: every registered kernel the tfjs engine runs (forward ops and the ops of every
 *   gradient), on any backend;
 * - dispatches: on webgpu, the compute-shader dispatches tfjs records (a kernel can record
 *   none, as a reshape, or several); elsewhere the kernel count;
 * - reads: values brought back to the host (data(), dataSync(), arraySync()): on a GPU each
 *   one waits for all queued work.
 */
import { tf } from "./tf.ts";

export interface DispatchCount {
  kernels: number;
  dispatches: number;
  reads: number;
}

interface EngineLike {
  runKernelFunc: (p: { kernelName?: string }) => unknown;
  state: { scopeStack: { name: string }[] };
  read: (id: unknown) => Promise<unknown>;
  readSync: (id: unknown) => unknown;
}

interface WebGpuBackendLike {
  recordAndSubmit: (...args: unknown[]) => unknown;
}

/** Which pass a kernel runs in: the gradient tape's forward or backward scope, else none. */
function phaseOf(engine: EngineLike): string {
  const names = engine.state.scopeStack.map((s) => s.name);
  return names.includes("backward") ? "backward" : names.includes("forward") ? "forward" : "";
}

/**
 * Run `f` with counting hooks on the tfjs engine (and the webgpu backend's dispatch) and
 * return its result with the counts, and the dispatches by kernel (`byKernel`, keyed
 * "forward Slice", "backward MatMul", or the bare name outside a gradient; a dispatch made
 * inside a kernel counts for the innermost named kernel). Hooks are instance patches,
 * removed afterwards even if `f` throws; counting runs do not nest.
 */
export async function countDispatches<T>(
  f: () => Promise<T> | T,
): Promise<{ result: T; count: DispatchCount; byKernel: Record<string, number> }> {
  const engine = tf.engine() as unknown as EngineLike;
  const count: DispatchCount = { kernels: 0, dispatches: 0, reads: 0 };
  const byKernel: Record<string, number> = {};
  const running: string[] = []; // named kernels now running, innermost last
  const tally = () => {
    const key = running.at(-1) ?? "(outside a kernel)";
    byKernel[key] = (byKernel[key] ?? 0) + 1;
  };
  const gpu = tf.getBackend() === "webgpu"
    ? (tf.backend() as unknown as WebGpuBackendLike)
    : undefined;
  const saved = {
    run: engine.runKernelFunc,
    read: engine.read,
    readSync: engine.readSync,
    record: gpu?.recordAndSubmit,
  };
  if (Object.hasOwn(engine, "runKernelFunc")) throw new Error("Dispatch counts do not nest");
  engine.runKernelFunc = function (this: EngineLike, p) {
    // customGrad ops come through here too, without a kernel name: their insides are counted.
    if (p.kernelName === undefined) return saved.run.call(this, p);
    count.kernels++;
    const phase = phaseOf(this);
    running.push(phase ? `${phase} ${p.kernelName}` : p.kernelName);
    if (!gpu) tally();
    try {
      return saved.run.call(this, p);
    } finally {
      running.pop();
    }
  };
  engine.read = function (this: EngineLike, id) {
    count.reads++;
    return saved.read.call(this, id);
  };
  engine.readSync = function (this: EngineLike, id) {
    count.reads++;
    return saved.readSync.call(this, id);
  };
  if (gpu) {
    gpu.recordAndSubmit = function (this: WebGpuBackendLike, ...args) {
      count.dispatches++;
      tally();
      return saved.record!.apply(this, args);
    };
  }
  try {
    const result = await f();
    if (!gpu) count.dispatches = count.kernels;
    return { result, count, byKernel };
  } finally {
    // Deleting the own properties uncovers the prototype's methods again.
    delete (engine as Partial<EngineLike>).runKernelFunc;
    delete (engine as Partial<EngineLike>).read;
    delete (engine as Partial<EngineLike>).readSync;
    if (gpu) delete (gpu as Partial<WebGpuBackendLike>).recordAndSubmit;
  }
}
