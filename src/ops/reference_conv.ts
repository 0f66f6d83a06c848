// Float64 reference kernels for Conv, ConvTranspose and Resize (part of the test oracle in reference.ts), and
// the index-arithmetic helpers (strides, unravel, broadcast strides, input checks) every reference kernel shares.
import { formatShape, normalizeAxis, numel, stridesOf } from '../core/shape.js';
import type { ConvAttrs, ConvTransposeAttrs } from './conv.js';
import type { RefTensor } from './reference.js';
import { type ResizeAttrs, resizeMatrix } from './resize.js';

// --- shared index helpers ---------------------------------------------------------------------------------

/** Writes the row-major multi-index of flat position `flat` in `shape` into `out` and returns it. */
export function unravel(flat: number, shape: readonly number[], out: number[] = []): number[] {
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    out[i] = rest % d;
    rest = Math.floor(rest / d);
  }
  return out;
}

/** Σ index[i]·strides[i]: the flat offset of a multi-index. */
export function offsetOf(index: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < strides.length; i++) off += index[i]! * strides[i]!;
  return off;
}

/** Strides for reading a tensor of `shape` at indices of the broadcast shape `outShape` (numpy rules:
 * right-aligned, stride 0 on missing and size-1 axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : s[i - lead]!));
}

/** Input `i`, checked to exist and to hold exactly numel(shape) numbers. */
export function input(inputs: readonly RefTensor[], i: number): RefTensor {
  const t = inputs[i];
  if (!t) throw new Error(`reference: input ${i} is missing`);
  if (t.data.length !== numel(t.shape))
    throw new Error(`reference: input ${i} has ${t.data.length} numbers for shape ${formatShape(t.shape)}`);
  return t;
}

/** A (possibly negative) axis normalised to [0, rank), or an error. */
export function axisOf(axis: number, rank: number): number {
  const a = normalizeAxis(axis, rank);
  if (a < 0) throw new Error(`reference: axis ${axis} out of range for rank ${rank}`);
  return a;
}

// --- Conv, ConvTranspose -------------------------------------------------------------------------------------

interface ConvGeometry {
  /** Spatial dims of x and of the kernel. */
  readonly xs: readonly number[];
  /** Every kernel tap as a multi-index into the kernel's spatial dims. */
  readonly taps: readonly (readonly number[])[];
}

function convGeometry(x: RefTensor, w: RefTensor, a: ConvAttrs): ConvGeometry {
  const nsp = x.shape.length - 2;
  if (nsp < 1 || w.shape.length !== x.shape.length)
    throw new Error(`reference: conv input ${formatShape(x.shape)} / weight ${formatShape(w.shape)}`);
  if (a.strides.length !== nsp || a.dilations.length !== nsp || a.pads.length !== 2 * nsp)
    throw new Error(`reference: conv attrs need ${nsp} strides/dilations and ${2 * nsp} pads`);
  const ks = w.shape.slice(2);
  return { xs: x.shape.slice(2), taps: Array.from({ length: numel(ks) }, (_, t) => unravel(t, ks)) };
}

function checkBias(bias: RefTensor | undefined, channels: number): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== channels))
    throw new Error(`reference: bias ${formatShape(bias.shape)} should be [${channels}]`);
}

/**
 * ONNX Conv (cross-correlation): y[n, m, o] = b[m] + Σ_{c in m's group} Σ_k x[n, c, o·s + k·d − padBegin]·w[m, c', k],
 * with out-of-range input positions reading zero.
 */
export function convReference(inputs: readonly RefTensor[], a: ConvAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const w = input(inputs, 1);
  const bias = inputs[2] ? input(inputs, 2) : undefined;
  const { xs, taps } = convGeometry(x, w, a);
  const nsp = xs.length;
  const [n, c] = x.shape as [number, number];
  const [m, cg] = w.shape as [number, number];
  const G = a.group;
  if (cg * G !== c || m % G !== 0) throw new Error(`reference: Conv channels ${c} → ${m}, group ${G}`);
  checkBias(bias, m);
  const os = xs.map(
    (d, i) =>
      Math.floor(
        (d + a.pads[i]! + a.pads[nsp + i]! - (w.shape[2 + i]! - 1) * a.dilations[i]! - 1) / a.strides[i]!,
      ) + 1,
  );
  if (os.some((o) => o < 1)) throw new Error('reference: Conv output is empty');
  const outShape = [n, m, ...os];
  const xStr = stridesOf(x.shape);
  const wStr = stridesOf(w.shape);
  const y = new Float64Array(numel(outShape));
  const idx: number[] = [];
  for (let f = 0; f < y.length; f++) {
    unravel(f, outShape, idx);
    const [b, oc] = idx as [number, number];
    const firstChannel = Math.floor(oc / (m / G)) * cg;
    let acc = bias ? bias.data[oc]! : 0;
    for (const k of taps) {
      let xOff = b * xStr[0]! + firstChannel * xStr[1]!;
      let inside = true;
      for (let d = 0; d < nsp && inside; d++) {
        const p = idx[2 + d]! * a.strides[d]! + k[d]! * a.dilations[d]! - a.pads[d]!;
        inside = p >= 0 && p < xs[d]!;
        xOff += p * xStr[2 + d]!;
      }
      if (!inside) continue;
      let wOff = oc * wStr[0]!;
      for (let d = 0; d < nsp; d++) wOff += k[d]! * wStr[2 + d]!;
      for (let ci = 0; ci < cg; ci++) acc += x.data[xOff + ci * xStr[1]!]! * w.data[wOff + ci * wStr[1]!]!;
    }
    y[f] = acc;
  }
  return [{ shape: outShape, data: y }];
}

/**
 * ONNX ConvTranspose (group 1), as a scatter: every x[n, c, i] adds x[n, c, i]·w[c, m, k] to y[n, m, o] with
 * o = i·s + k·d − padBegin (dropped when outside the output), plus b[m]. Output length per axis:
 * s·(in − 1) + outputPadding + (k − 1)·d + 1 − padBegin − padEnd.
 */
export function convTransposeReference(inputs: readonly RefTensor[], a: ConvTransposeAttrs): RefTensor[] {
  const x = input(inputs, 0);
  const w = input(inputs, 1);
  const bias = inputs[2] ? input(inputs, 2) : undefined;
  const { xs, taps } = convGeometry(x, w, a);
  const nsp = xs.length;
  if (a.outputPadding.length !== nsp) throw new Error(`reference: outputPadding needs ${nsp} values`);
  const [n, c] = x.shape as [number, number];
  if (w.shape[0] !== c || c % a.group !== 0)
    throw new Error(
      `reference: ConvTranspose weight ${formatShape(w.shape)} for ${c} channels, group ${a.group}`,
    );
  // Grouped: input channel ci feeds only the output channels of its group, weight [C, M/group, k…].
  const mPerGroup = w.shape[1]!;
  const m = mPerGroup * a.group;
  const cPerGroup = c / a.group;
  checkBias(bias, m);
  const os = xs.map(
    (d, i) =>
      a.strides[i]! * (d - 1) +
      a.outputPadding[i]! +
      (w.shape[2 + i]! - 1) * a.dilations[i]! +
      1 -
      a.pads[i]! -
      a.pads[nsp + i]!,
  );
  if (os.some((o) => o < 1)) throw new Error('reference: ConvTranspose output is empty');
  const outShape = [n, m, ...os];
  const yStr = stridesOf(outShape);
  const wStr = stridesOf(w.shape);
  const y = new Float64Array(numel(outShape));
  for (let f = 0; f < y.length; f++) y[f] = bias ? bias.data[Math.floor(f / yStr[1]!) % m]! : 0;
  const idx: number[] = [];
  for (let f = 0; f < x.data.length; f++) {
    unravel(f, x.shape, idx);
    const [b, ci] = idx as [number, number];
    const v = x.data[f]!;
    for (const k of taps) {
      let yOff = b * yStr[0]!;
      let inside = true;
      for (let d = 0; d < nsp && inside; d++) {
        const o = idx[2 + d]! * a.strides[d]! + k[d]! * a.dilations[d]! - a.pads[d]!;
        inside = o >= 0 && o < os[d]!;
        yOff += o * yStr[2 + d]!;
      }
      if (!inside) continue;
      let wOff = ci * wStr[0]!;
      for (let d = 0; d < nsp; d++) wOff += k[d]! * wStr[2 + d]!;
      const firstOut = Math.floor(ci / cPerGroup) * mPerGroup;
      for (let oc = 0; oc < mPerGroup; oc++) {
        y[yOff + (firstOut + oc) * yStr[1]!] += v * w.data[wOff + oc * wStr[1]!]!;
      }
    }
  }
  return [{ shape: outShape, data: y }];
}

// --- Resize ----------------------------------------------------------------------------------------------------

/** out[.., i, ..] = Σ_j W[i, j]·x[.., j, ..] along `axis`, with W [nOut, nIn] row-major. */
function applyAlongAxis(x: RefTensor, axis: number, weights: Float64Array, nOut: number): RefTensor {
  const nIn = x.shape[axis]!;
  const outer = numel(x.shape.slice(0, axis));
  const inner = numel(x.shape.slice(axis + 1));
  const shape = x.shape.map((d, i) => (i === axis ? nOut : d));
  const y = new Float64Array(numel(shape));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < nOut; i++) {
      for (let j = 0; j < nIn; j++) {
        const wij = weights[i * nIn + j]!;
        if (wij === 0) continue;
        for (let r = 0; r < inner; r++)
          y[(o * nOut + i) * inner + r] += wij * x.data[(o * nIn + j) * inner + r]!;
      }
    }
  }
  return { shape, data: y };
}

/** Resize to `sizes`: each axis whose length changes is resampled in turn with resizeMatrix (separable). */
export function resizeReference(inputs: readonly RefTensor[], a: ResizeAttrs): RefTensor[] {
  let y = input(inputs, 0);
  if (a.sizes.length !== y.shape.length || a.sizes.some((s) => !(s >= 1)))
    throw new Error(`reference: Resize sizes [${a.sizes.join(', ')}] for ${formatShape(y.shape)}`);
  for (let axis = 0; axis < a.sizes.length; axis++) {
    const nIn = y.shape[axis]!;
    const nOut = a.sizes[axis]!;
    if (nIn !== nOut) y = applyAlongAxis(y, axis, resizeMatrix(nIn, nOut, a.mode), nOut);
  }
  return [{ shape: [...y.shape], data: Float64Array.from(y.data) }];
}
