/**
 * TensorFlow.js on WebGPU: Deno's `navigator.gpu` with `@tensorflow/tfjs-backend-webgpu`
 * (JavaScript and WGSL shaders, nothing native to install beyond the GPU's driver).
 *
 * The adapter is probed first so that `auto` can tell a real GPU from a software one
 * (Mesa's llvmpipe or lavapipe, SwiftShader, WARP): those run the same shaders on the CPU,
 * far slower than the wasm backend, and serve here only to test the GPU code path.
 */
import { tf } from "./tf.ts";

export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The adapter runs on the CPU (fallback adapter, or a known software renderer). */
  software: boolean;
}

export type AdapterProbe = { ok: true; adapter: GpuAdapter } | { ok: false; reason: string };

const SOFTWARE_RENDERERS = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|warp/i;

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** Whether `info` describes a software adapter (exported for tests). */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  return info.isFallbackAdapter === true ||
    SOFTWARE_RENDERERS.test(`${info.description ?? ""} ${info.device ?? ""}`);
}

/** The start-up log's words for an adapter (a numeric vendor as a PCI id: 0x10de is NVIDIA). */
export function describeAdapter(a: GpuAdapter): string {
  const name = a.description || a.device || "unnamed adapter";
  const vendor = /^\d+$/.test(a.vendor) ? `0x${Number(a.vendor).toString(16)}` : a.vendor;
  const notes = [
    `vendor ${vendor || "unknown"}`,
    ...(a.architecture ? [a.architecture] : []),
    ...(a.software ? ["software: runs on the CPU"] : []),
  ];
  return `"${name}" (${notes.join(", ")})`;
}

/**
 * The adapter WebGPU would give tfjs (it asks for "high-performance" too), or why there is
 * none. Bun has no `navigator.gpu`.
 */
export async function probeAdapter(): Promise<AdapterProbe> {
  if ("Bun" in globalThis) return { ok: false, reason: "Bun has no WebGPU; run under Deno" };
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { ok: false, reason: "this runtime has no navigator.gpu" };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (err) {
    return { ok: false, reason: `requestAdapter() failed: ${(err as Error).message}` };
  }
  if (!adapter) {
    return {
      ok: false,
      reason: "navigator.gpu.requestAdapter() found no adapter (no Vulkan, Metal or D3D12 " +
        "driver, and no Mesa for a software one)",
    };
  }
  const info = adapter.info as AdapterInfoLike;
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? "",
      architecture: info.architecture ?? "",
      device: info.device ?? "",
      description: info.description ?? "",
      software: isSoftwareAdapter(info),
    },
  };
}

/** Validation errors the GPU device reported since the backend started (newest last). */
export const gpuErrors: string[] = [];
let watched = false;

/**
 * Register and start tfjs's webgpu backend (after a successful `probeAdapter`).
 *
 * Every op runs on the GPU: tfjs would otherwise run an op whose inputs are small and still
 * on the host on its cpu backend, so a small model (and the tests) would not exercise the
 * GPU kernels at all. A WebGPU validation error does not throw: the command buffer it sits
 * in is dropped and the tensors it should have written keep stale values, so every error
 * is recorded in `gpuErrors` and printed.
 */
export async function startWebGpu(): Promise<void> {
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) {
    throw new Error("The webgpu backend failed to initialise");
  }
  await tf.ready();
  tf.env().set("WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD", 0);
  if (watched) return;
  watched = true;
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  device.addEventListener("uncapturederror", (e) => {
    const message = (e as GPUUncapturedErrorEvent).error.message;
    gpuErrors.push(message);
    if (gpuErrors.length <= 3) console.error(`webgpu: results are wrong from here on: ${message}`);
  });
  splitAddN(device.limits.maxStorageBuffersPerShaderStage - 1);
}

let addNSplit = false;

/**
 * tfjs's webgpu AddN binds every input as a storage buffer, and the device it creates keeps
 * WebGPU's default limit of 8 per shader: an AddN of 8 or more tensors fails validation and
 * silently yields garbage (tfjs splits Concat this way, not AddN). This sums in groups.
 */
function splitAddN(maxInputs: number): void {
  if (addNSplit) return;
  const original = tf.getKernel("AddN", "webgpu")?.kernelFunc;
  if (!original) return;
  addNSplit = true;
  type Info = tf.TensorInfo;
  type Args = Parameters<tf.KernelFunc>[0];
  const addN = (args: Args): Info => {
    const xs = args.inputs as unknown as Info[];
    if (xs.length <= maxInputs) return original(args) as Info;
    const parts: Info[] = [];
    for (let i = 0; i < xs.length; i += maxInputs) {
      parts.push(
        addN({ ...args, inputs: xs.slice(i, i + maxInputs) as unknown as Args["inputs"] }),
      );
    }
    const out = addN({ ...args, inputs: parts as unknown as Args["inputs"] });
    for (const p of parts) (args.backend as tf.KernelBackend).disposeData(p.dataId);
    return out;
  };
  tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({ kernelName: "AddN", backendName: "webgpu", kernelFunc: addN });
}
