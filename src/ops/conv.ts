// Conv (1D/2D/3D, stride, padding, dilation, groups) and ConvTranspose (groups = 1). Cross-correlation as
// in PyTorch; weights [M, C/group, k…] and [C, M, k…]. VJPs are built from the other conv (see convWeightVjp).
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
    const dw = needs[1] ? convWeightVjp(x!, g!, w!.shape, attrs, F) : null;
    const db = bias && needs[2] ? F.sum(g!, [0, ...Array.from({ length: nsp }, (_, i) => 2 + i)]) : null;
    return [dx, dw, db];
  },
};

/**
 * dW[m, c, k] = Σ_n Σ_o x[n, c, o·s + k·d − p] · g[n, m, o], computed as one Conv in which the batch plays
 * the channel role: input x' [C/G, G·N, …], kernel g' [G·M/G, N, …], stride = dilation, dilation = stride.
 */
function convWeightVjp(x: Value, g: Value, wShape: readonly number[], a: ConvAttrs, F: OpsApi): Value {
  const nsp = x.shape.length - 2;
  const [n, c] = x.shape as [number, number];
  const m = g.shape[1]!;
  const G = a.group;
  const sx = x.shape.slice(2);
  const sg = g.shape.slice(2);
  const spatialAxes = Array.from({ length: nsp }, (_, i) => 3 + i);
  // x [N, C, S…] → [N, G, C/G, S…] → [C/G, G, N, S…] → [C/G, G·N, S…]
  const xr = F.reshape(F.transpose(F.reshape(x, [n, G, c / G, ...sx]), [2, 1, 0, ...spatialAxes]), [
    c / G,
    G * n,
    ...sx,
  ]);
  // g [N, M, O…] → [N, G, M/G, O…] → [G, M/G, N, O…] → [M, N, O…]
  const gr = F.reshape(F.transpose(F.reshape(g, [n, G, m / G, ...sg]), [1, 2, 0, ...spatialAxes]), [
    m,
    n,
    ...sg,
  ]);
  const full = F.conv(xr, gr, null, { strides: a.dilations, dilations: a.strides, pads: a.pads, group: G }); // [C/G, M, K'…]
  const k = wShape.slice(2);
  const cropped = F.slice(
    full,
    full.shape.map(() => 0),
    [c / G, m, ...k],
  );
  return F.transpose(cropped, [1, 0, ...Array.from({ length: nsp }, (_, i) => 2 + i)]); // [M, C/G, K…]
}

export const ConvTranspose: OpDef<ConvTransposeAttrs> = {
  name: 'ConvTranspose',
  shape: ([x, w, bias], a) => {
    const nsp = checkConvAttrs(x!, w!, a);
    if (a.group !== 1) throw new RuleError('only group = 1 is supported');
    if (a.outputPadding.length !== nsp) throw new RuleError(`outputPadding needs ${nsp} values`);
    const [n, c] = x!.shape as [number, number];
    if (w!.shape[0] !== c)
      throw new RuleError(`weight ${formatShape(w!.shape)} expects ${w!.shape[0]} input channels, got ${c}`);
    const m = w!.shape[1]!;
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
      group: 1,
    };
    const dx = needs[0] ? F.conv(g!, w!, null, convAttrs) : null;
    let dw: Value | null = null;
    if (needs[1]) {
      // dW[c, m, k] = Σ_n Σ_i x[n, c, i] · g[n, m, i·s + k·d − p]: a Conv of g' [M, N, …] with kernel x' [C, N, …].
      const swap = [1, 0, ...Array.from({ length: nsp }, (_, i) => 2 + i)];
      const full = F.conv(F.transpose(g!, swap), F.transpose(x!, swap), null, {
        strides: attrs.dilations,
        dilations: attrs.strides,
        pads: attrs.pads,
        group: 1,
      }); // [M, C, K'…]
      const cropped = F.slice(
        full,
        full.shape.map(() => 0),
        [w!.shape[1]!, w!.shape[0]!, ...w!.shape.slice(2)],
      );
      dw = F.transpose(cropped, swap);
    }
    const db = bias && needs[2] ? F.sum(g!, [0, ...Array.from({ length: nsp }, (_, i) => 2 + i)]) : null;
    return [dx, dw, db];
  },
};
