// Conv and ConvTranspose (1D/2D/3D, stride, padding, dilation, groups). Cross-correlation as
// in PyTorch; weights [M, C/group, k…] and [C, M/group, k…]. VJPs are built from the other conv and one
// shared batch correlation for the weights (batchCorrelation).
import { formatShape } from '../core/shape.js';
import type { TypeInfo, Value } from '../graph/index.js';
import { type OpDef, type OpsApi, RuleError, int, ints } from './def.js';

export interface ConvAttrs {
  readonly strides: readonly number[];
  /** ONNX order: all begins, then all ends. */
  readonly pads: readonly number[];
  readonly dilations: readonly number[];
  readonly group: number;
}

export interface ConvTransposeAttrs extends ConvAttrs {
  readonly outputPadding: readonly number[];
}

function checkConvAttrs(x: TypeInfo, w: TypeInfo, a: ConvAttrs): number {
  const nsp = x.shape.length - 2;
  if (nsp < 1 || nsp > 3)
    throw new RuleError(`input must be [N, C, 1–3 spatial dims], got ${formatShape(x.shape)}`);
  if (w.shape.length !== x.shape.length) throw new RuleError('weight rank differs from input rank');
  if (x.dtype !== w.dtype) throw new RuleError(`dtypes differ (${x.dtype}, ${w.dtype})`);
  if (a.strides.length !== nsp || a.dilations.length !== nsp || a.pads.length !== 2 * nsp) {
    throw new RuleError(`strides/dilations need ${nsp} values and pads ${2 * nsp}`);
  }
  return nsp;
}

function checkBias(bias: TypeInfo | undefined, channels: number, dtype: string): void {
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== channels || bias.dtype !== dtype)) {
    throw new RuleError(`bias must be ${dtype}[${channels}], got ${bias.dtype}${formatShape(bias.shape)}`);
  }
}

function convAttrsOnnx(a: ConvAttrs) {
  return { strides: ints(a.strides), pads: ints(a.pads), dilations: ints(a.dilations), group: int(a.group) };
}

/** Output length of a conv along one axis. */
export function convOutSize(n: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((n + pb + pe - (k - 1) * d - 1) / s) + 1;
}

export const Conv: OpDef<ConvAttrs> = {
  name: 'Conv',
  shape: ([x, w, bias], a) => {
    const nsp = checkConvAttrs(x!, w!, a);
    const [n, c] = x!.shape as [number, number];
    const [m, cg] = w!.shape as [number, number];
    if (c % a.group !== 0 || m % a.group !== 0 || cg * a.group !== c) {
      throw new RuleError(
        `channels ${c} → ${m} do not fit weight ${formatShape(w!.shape)} with group ${a.group}`,
      );
    }
    checkBias(bias, m, x!.dtype);
    const spatial = Array.from({ length: nsp }, (_, i) => {
      const o = convOutSize(
        x!.shape[2 + i]!,
        w!.shape[2 + i]!,
        a.strides[i]!,
        a.dilations[i]!,
        a.pads[i]!,
        a.pads[nsp + i]!,
      );
      if (o < 1) throw new RuleError(`empty output along spatial axis ${i}`);
      return o;
    });
    return [{ dtype: x!.dtype, shape: [n, m, ...spatial] }];
  },
  emit: (e, { inputs, outputs, attrs }) => e.node('Conv', inputs, outputs, convAttrsOnnx(attrs)),
  vjp: ({ cotangents: [g], inputs: [x, w, bias], attrs, needs }, F) => {
    const nsp = x!.shape.length - 2;
    let dx: Value | null = null;
    if (needs[0]) {
      // Input gradient: the transposed conv of g with the same weight; output_padding restores lengths
      // that the forward conv's floor division dropped.
      const outputPadding = Array.from({ length: nsp }, (_, i) => {
        const k = w!.shape[2 + i]!;
        const full = attrs.strides[i]! * (g!.shape[2 + i]! - 1) + (k - 1) * attrs.dilations[i]! + 1;
        return x!.shape[2 + i]! - (full - attrs.pads[i]! - attrs.pads[nsp + i]!);
      });
      dx = F.convTranspose(g!, w!, null, { ...attrs, outputPadding });
    }
    // dW[m, c, k] = Σ_n Σ_o x[n, c, o·s + k·d − p] · g[n, m, o]: stride and dilation swap roles.
    const swapped = {
      strides: attrs.dilations,
      dilations: attrs.strides,
      pads: attrs.pads,
      group: attrs.group,
    };
    const dw = needs[1] ? swapFirstTwo(batchCorrelation(x!, g!, w!.shape.slice(2), swapped, F), F) : null;
    const db = bias && needs[2] ? F.sum(g!, [0, ...Array.from({ length: nsp }, (_, i) => 2 + i)]) : null;
    return [dx, dw, db];
  },
};

/**
 * Weight gradients of Conv and ConvTranspose share one computation, a correlation over the batch:
 * out[a, b, k] = Σ_n Σ_o input[n, g·A/G + a, k·d + o·s − p] · kernel[n, b, o] for b in group g, done as
 * one Conv in which the batch plays the channel role: input' [A/G, G·N, …], kernel' [B, N, …].
 * Returns [A/G, B, K…] cropped to `k`.
 */
function batchCorrelation(input: Value, kernel: Value, k: readonly number[], a: ConvAttrs, F: OpsApi): Value {
  const nsp = input.rank - 2;
  const n = input.shape[0]!;
  const [A, B, G] = [input.shape[1]!, kernel.shape[1]!, a.group];
  const spatial = Array.from({ length: nsp }, (_, i) => 3 + i);
  // input [N, A, S…] → [N, G, A/G, S…] → [A/G, G, N, S…] → [A/G, G·N, S…]
  const inputR = F.reshape(
    F.transpose(F.reshape(input, [n, G, A / G, ...input.shape.slice(2)]), [2, 1, 0, ...spatial]),
    [A / G, G * n, ...input.shape.slice(2)],
  );
  // kernel [N, B, O…] → [N, G, B/G, O…] → [G, B/G, N, O…] → [B, N, O…]
  const kernelR = F.reshape(
    F.transpose(F.reshape(kernel, [n, G, B / G, ...kernel.shape.slice(2)]), [1, 2, 0, ...spatial]),
    [B, n, ...kernel.shape.slice(2)],
  );
  const full = F.conv(inputR, kernelR, null, a); // [A/G, B, K'…]
  return F.slice(
    full,
    full.shape.map(() => 0),
    [A / G, B, ...k],
  );
}

/** [P, Q, …] → [Q, P, …] */
function swapFirstTwo(x: Value, F: OpsApi): Value {
  return F.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => 2 + i)]);
}

export const ConvTranspose: OpDef<ConvTransposeAttrs> = {
  name: 'ConvTranspose',
  shape: ([x, w, bias], a) => {
    const nsp = checkConvAttrs(x!, w!, a);
    if (a.outputPadding.length !== nsp) throw new RuleError(`outputPadding needs ${nsp} values`);
    const [n, c] = x!.shape as [number, number];
    if (w!.shape[0] !== c || c % a.group !== 0) {
      throw new RuleError(
        `weight ${formatShape(w!.shape)} does not fit ${c} input channels with group ${a.group}`,
      );
    }
    const m = w!.shape[1]! * a.group;
    checkBias(bias, m, x!.dtype);
    const spatial = Array.from({ length: nsp }, (_, i) => {
      const op = a.outputPadding[i]!;
      if (op < 0 || (op >= a.strides[i]! && op >= a.dilations[i]!))
        throw new RuleError(`output padding ${op} out of range`);
      const k = w!.shape[2 + i]!;
      return (
        a.strides[i]! * (x!.shape[2 + i]! - 1) +
        op +
        (k - 1) * a.dilations[i]! +
        1 -
        a.pads[i]! -
        a.pads[nsp + i]!
      );
    });
    return [{ dtype: x!.dtype, shape: [n, m, ...spatial] }];
  },
  emit: (e, { inputs, outputs, attrs }) =>
    e.node('ConvTranspose', inputs, outputs, {
      ...convAttrsOnnx(attrs),
      output_padding: ints(attrs.outputPadding),
    }),
  vjp: ({ cotangents: [g], inputs: [x, w, bias], attrs, needs }, F) => {
    const nsp = x!.shape.length - 2;
    const convAttrs: ConvAttrs = {
      strides: attrs.strides,
      pads: attrs.pads,
      dilations: attrs.dilations,
      group: attrs.group,
    };
    const dx = needs[0] ? F.conv(g!, w!, null, convAttrs) : null;
    // dW[c, m, k] = Σ_n Σ_i x[n, c, i] · g[n, m, i·s + k·d − p]: the correlation with g as input.
    const swapped = {
      strides: attrs.dilations,
      dilations: attrs.strides,
      pads: attrs.pads,
      group: attrs.group,
    };
    const dw = needs[1] ? swapFirstTwo(batchCorrelation(g!, x!, w!.shape.slice(2), swapped, F), F) : null;
    const db = bias && needs[2] ? F.sum(g!, [0, ...Array.from({ length: nsp }, (_, i) => 2 + i)]) : null;
    return [dx, dw, db];
  },
};
