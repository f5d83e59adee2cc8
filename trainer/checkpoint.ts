/**
 * Training checkpoints: one file, written atomically (temp file + rename), holding
 *   "ROTORCKP" | u32 header length | JSON header | tensor bytes (tf.io.encodeWeights)
 * The header carries the model config, the training config, the train state (position in
 * the data, PRNG state, learning rates, history); the tensors are the parameters, the Adam
 * moments and the hidden state carried across windows, so a resumed run continues exactly.
 */
import { readFile } from "node:fs/promises";
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";
import { writeAtomic } from "../shared/model_format.ts";

const MAGIC = "ROTORCKP";

export interface CheckpointData<H> {
  header: H;
  tensors: Record<string, Tensor>;
}

export async function writeCheckpoint<H extends object>(
  path: string,
  c: CheckpointData<H>,
): Promise<void> {
  const named = Object.entries(c.tensors).map(([name, tensor]) => ({ name, tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const header = new TextEncoder().encode(JSON.stringify({ ...c.header, specs }));
  const out = new Uint8Array(8 + 4 + header.length + data.byteLength);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(new Uint8Array(data), 12 + header.length);
  await writeAtomic(path, out);
}

export async function readCheckpoint<H>(path: string): Promise<CheckpointData<H>> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`Cannot read checkpoint "${path}": ${(err as Error).message}`);
  }
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) {
    throw new Error(`"${path}" is not a rotor checkpoint`);
  }
  const len = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + len)));
  // An ArrayBuffer of exactly the tensor bytes (a Node Buffer may be a view into a pool).
  const body = buf.buffer.slice(buf.byteOffset + 12 + len, buf.byteOffset + buf.byteLength);
  const tensors = tf.io.decodeWeights(body as ArrayBuffer, header.specs) as Record<string, Tensor>;
  delete header.specs;
  return { header: header as H, tensors };
}
