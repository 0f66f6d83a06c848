// How tests compare float outputs: relative errors, label agreement away from near-ties, and running an
// in-memory ONNX model once.
import * as ort from 'onnxruntime-node';
import { type ModelProto, onnx } from '../src/onnx/proto.js';

/** Largest |a − b| over the largest |b|. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return m / ref;
}

/** RMS of actual − expected over RMS of expected. */
export function relativeRms(actual: Float32Array, expected: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    err += (actual[i]! - expected[i]!) ** 2;
    ref += expected[i]! ** 2;
  }
  return Math.sqrt(err / ref);
}

/**
 * Share of pixels whose arg-max class agrees, among those where the expected logits [rows, K, H, W] put
 * the winner ahead of the runner-up by more than `margin`.
 */
export function labelAgreement(
  actual: Float32Array,
  expected: Float32Array,
  dims: readonly number[],
  margin: number,
): number {
  const [rows, k] = dims as [number, number];
  const pixels = expected.length / (rows * k);
  let decisive = 0;
  let same = 0;
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < pixels; p++) {
      const at = (x: Float32Array, c: number) => x[(r * k + c) * pixels + p]!;
      let ie = 0;
      let ia = 0;
      for (let c = 1; c < k; c++) {
        if (at(expected, c) > at(expected, ie)) ie = c;
        if (at(actual, c) > at(actual, ia)) ia = c;
      }
      let second = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) if (c !== ie) second = Math.max(second, at(expected, c));
      if (at(expected, ie) - second <= margin) continue;
      decisive++;
      if (ia === ie) same++;
    }
  }
  return same / decisive;
}

/** Runs an in-memory model once on onnxruntime-node's CPU and releases it. */
export async function runModelProto(
  model: ModelProto,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}
