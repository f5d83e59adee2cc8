/**
 * Training checkpoints: one file, written whole or not at all (run_files.ts), holding
 *   "ROTORCKP" | u32 header length | JSON header | tensor bytes (tf.io.encodeWeights)
 * The header carries the model config, the training config, the train state (position in
 * the data, PRNG state, learning rates, history); the tensors are the parameters, the Adam
 * moments and the hidden state carried across windows, so a resumed run continues exactly.
 * Every error in reading one names the file.
 */
import { readFile } from "node:fs/promises";
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";
import { type FileIo, NODE_IO, writeWhole } from "./run_files.ts";

const MAGIC = "ROTORCKP";

export interface CheckpointData<H> {
  header: H;
  tensors: Record<string, Tensor>;
}

/**
 * Write a checkpoint over `path`. A failed write leaves the old file as it was; `kept` says so
 * in the error, in the caller's words.
 */
export async function writeCheckpoint<H extends object>(
  path: string,
  c: CheckpointData<H>,
  opts: { io?: FileIo; kept?: string } = {},
): Promise<void> {
  const named = Object.entries(c.tensors).map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const header = new TextEncoder().encode(JSON.stringify({ ...c.header, specs }));
  const out = new Uint8Array(8 + 4 + header.length + data.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(new Uint8Array(data), 12 + header.length);
  await writeWhole(path, out, opts.kept ?? `"${path}" is unchanged`, opts.io ?? NODE_IO);
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** The tensor bytes a header's specs describe (tf.io.encodeWeights' layout, no quantisation). */
export function specBytes(specs: { shape: number[]; dtype: string }[]): number {
  return specs.reduce(
    (sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * (BYTES_PER_ELEMENT[s.dtype] ?? 4),
    0,
  );
}

export async function readCheckpoint<H>(path: string): Promise<CheckpointData<H>> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`Cannot read checkpoint "${path}": ${(err as Error).message}`);
  }
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) {
    throw new Error(
      buf.length < 12 && MAGIC.startsWith(new TextDecoder().decode(buf.subarray(0, 8)))
        ? `Checkpoint "${path}" is truncated: ${buf.length} bytes, shorter than its own header`
        : `"${path}" is not a rotor checkpoint`,
    );
  }
  const len = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  if (12 + len > buf.length) {
    throw new Error(
      `Checkpoint "${path}" is truncated: ${buf.length} bytes, its header alone needs ${12 + len}`,
    );
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + len)));
  } catch (err) {
    throw new Error(`Checkpoint "${path}" has a damaged header: ${(err as Error).message}`);
  }
  if (!Array.isArray(header?.specs)) {
    throw new Error(`Checkpoint "${path}" has a damaged header: it lists no tensors`);
  }
  // An ArrayBuffer of exactly the tensor bytes (a Node Buffer may be a view into a pool).
  const body = buf.buffer.slice(buf.byteOffset + 12 + len, buf.byteOffset + buf.byteLength);
  const want = specBytes(header.specs);
  if (body.byteLength !== want) {
    throw new Error(
      `Checkpoint "${path}" is ${body.byteLength < want ? "truncated" : "damaged"}: it holds ` +
        `${body.byteLength} bytes of tensors, its header lists ${want}`,
    );
  }
  let tensors: Record<string, Tensor>;
  try {
    tensors = tf.io.decodeWeights(body as ArrayBuffer, header.specs) as Record<string, Tensor>;
  } catch (err) {
    throw new Error(`Checkpoint "${path}" has damaged tensors: ${(err as Error).message}`);
  }
  delete header.specs;
  return { header: header as H, tensors };
}
