// Resize with PyTorch semantics: bilinear/linear with align_corners=False (ONNX half_pixel; source
// coordinates below 0 clamp to 0) and nearest (PyTorch 'nearest' = ONNX asymmetric + floor). The VJP
// multiplies by each resized axis's interpolation matrix transposed (built on the host: shapes are static).
import { allocate } from '../core/dtype.js';
import { hostTensor } from '../core/host_tensor.js';
import type { Value } from '../graph/index.js';
import { type OpDef, type OpsApi, RuleError, str } from './def.js';

export interface ResizeAttrs {
  readonly mode: 'linear' | 'nearest';
  /** Full output shape; only axes whose size changes are resampled. */
  readonly sizes: readonly number[];
}

/**
 * Interpolation weights [nOut, nIn] of one axis. Linear: PyTorch align_corners=False exactly as spec §1
 * (source s = max((i + 0.5)·nIn/nOut − 0.5, 0), also for nOut = 1). Nearest: the index ORT computes,
 * floor(i / fround(nOut/nIn)) in float32, so the VJP scatters to the pixels the forward pass read.
 */
export function resizeMatrix(nIn: number, nOut: number, mode: ResizeAttrs['mode']): Float64Array {
  const m = new Float64Array(nOut * nIn);
  const scale = nIn / nOut;
  const ortScale = Math.fround(nOut / nIn);
  for (let i = 0; i < nOut; i++) {
    if (mode === 'nearest') {
      m[i * nIn + Math.min(Math.floor(Math.fround(i / ortScale)), nIn - 1)] = 1;
      continue;
    }
    const s = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), nIn - 1);
    const i1 = Math.min(i0 + 1, nIn - 1);
    const lambda = s - i0;
    m[i * nIn + i0] += 1 - lambda;
    m[i * nIn + i1] += lambda;
  }
  return m;
}

export const Resize: OpDef<ResizeAttrs> = {
  name: 'Resize',
  shape: ([x], { sizes, mode }) => {
    if (x!.dtype !== 'float32' && x!.dtype !== 'float64')
      throw new RuleError(`needs float input, got ${x!.dtype}`);
    if (sizes.length !== x!.shape.length || sizes.some((s) => s < 1))
      throw new RuleError(`sizes [${sizes.join(', ')}] invalid`);
    const changed = sizes.filter((s, i) => s !== x!.shape[i]).length;
    if (mode === 'linear' && changed > 3) throw new RuleError('linear mode resamples at most 3 axes');
    return [{ dtype: x!.dtype, shape: sizes }];
  },
  emit: (e, { inputs, outputs, attrs }) =>
    e.node('Resize', [inputs[0]!, '', '', e.int64(attrs.sizes)], outputs, {
      mode: str(attrs.mode),
      coordinate_transformation_mode: str(attrs.mode === 'linear' ? 'half_pixel' : 'asymmetric'),
      nearest_mode: str('floor'),
    }),
  vjp: ({ cotangents: [g], inputs: [x], attrs }, F) => [resizeVjp(g!, x!.shape, attrs.mode, F)],
};

function resizeVjp(g: Value, inShape: readonly number[], mode: ResizeAttrs['mode'], F: OpsApi): Value {
  let y = g;
  const r = inShape.length;
  for (let axis = 0; axis < r; axis++) {
    const nIn = inShape[axis]!;
    const nOut = y.shape[axis]!;
    if (nIn === nOut) continue;
    const weights = allocate(g.dtype === 'float64' ? 'float64' : 'float32', nOut * nIn);
    weights.set(resizeMatrix(nIn, nOut, mode));
    const matrix = F.constant(
      hostTensor(g.dtype === 'float64' ? 'float64' : 'float32', [nOut, nIn], weights),
      y,
    );
    // move `axis` last, [… , nOut] @ [nOut, nIn] → [… , nIn], move it back
    const perm = [...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis), axis];
    const back = Array.from({ length: r }, (_, i) => (i < axis ? i : i === axis ? r - 1 : i - 1));
    y = F.transpose(F.matmul(F.transpose(y, perm), matrix), back);
  }
  return y;
}
