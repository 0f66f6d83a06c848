// Softmax, LogSoftmax (one axis) and LayerNormalization (over the trailing axes from `axis`). Kept as
// primitives because ORT fuses them; composites in composite.ts tie each to its definition in the tests.
import { type OpDef, RuleError, float, int, ints } from './def.js';
import type { AxisAttrs } from './movement.js';

export const Softmax: OpDef<AxisAttrs> = {
  name: 'Softmax',
  shape: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  emit: (e, { inputs, outputs, attrs }) => e.node('Softmax', inputs, outputs, { axis: int(attrs.axis) }),
  // dx = y ⊙ (g − Σ_axis g ⊙ y)
  vjp: ({ cotangents: [g], outputs: [y], attrs }, F) => [
    F.mul(y!, F.sub(g!, F.sum(F.mul(g!, y!), [attrs.axis], true))),
  ],
};

export const LogSoftmax: OpDef<AxisAttrs> = {
  name: 'LogSoftmax',
  shape: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  emit: (e, { inputs, outputs, attrs }) => e.node('LogSoftmax', inputs, outputs, { axis: int(attrs.axis) }),
  // dx = g − softmax ⊙ Σ_axis g
  vjp: ({ cotangents: [g], outputs: [y], attrs }, F) => [
    F.sub(g!, F.mul(F.exp(y!), F.sum(g!, [attrs.axis], true))),
  ],
};

export interface LayerNormAttrs {
  /** First normalised axis (non-negative); scale and bias have shape x.shape[axis:]. */
  readonly axis: number;
  readonly epsilon: number;
}

export const LayerNormalization: OpDef<LayerNormAttrs> = {
  name: 'LayerNormalization',
  shape: ([x, scale, bias], { axis }) => {
    const tail = x!.shape.slice(axis);
    for (const p of [scale, bias]) {
      if (
        p &&
        (p.shape.length !== tail.length || p.shape.some((d, i) => d !== tail[i]) || p.dtype !== x!.dtype)
      ) {
        throw new RuleError(`scale/bias must be ${x!.dtype}[${tail.join(', ')}]`);
      }
    }
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
  // ORT's CPU kernel computes the variance in one pass (E[x²] − E[x]²), which loses float32 precision
  // where |mean| ≫ std (SAM's 4- and 8-channel LayerNorm2d); centring first restores PyTorch's accuracy.
  emit: (e, { inputs, outputs, attrs, inputTypes }) => {
    const rank = inputTypes[0]!.shape.length;
    const axes = Array.from({ length: rank - attrs.axis }, (_, i) => attrs.axis + i);
    const [mean, centred] = [e.temp(), e.temp()];
    e.node('ReduceMean', [inputs[0]!], [mean], { axes: ints(axes), keepdims: int(1) });
    e.node('Sub', [inputs[0]!, mean], [centred]);
    e.node('LayerNormalization', [centred, ...inputs.slice(1)], outputs, {
      axis: int(attrs.axis),
      epsilon: float(attrs.epsilon),
    });
  },
  vjp: ({ cotangents: [g], inputs: [x, scale, bias], attrs, needs }, F) => {
    // Recompute the normalised input (cheap next to the matmuls around it) instead of saving it.
    const axes = Array.from({ length: x!.rank - attrs.axis }, (_, i) => attrs.axis + i);
    const xc = F.sub(x!, F.mean(x!, axes, true));
    const rstd = F.div(1, F.sqrt(F.add(F.mean(F.mul(xc, xc), axes, true), attrs.epsilon)));
    const xhat = F.mul(xc, rstd);
    let dx = null;
    if (needs[0]) {
      const gh = F.mul(g!, scale!);
      dx = F.mul(
        rstd,
        F.sub(F.sub(gh, F.mean(gh, axes, true)), F.mul(xhat, F.mean(F.mul(gh, xhat), axes, true))),
      );
    }
    // dγ, dβ keep x's shape here; the engine sums them over the leading axes.
    return [dx, needs[1] ? F.mul(g!, xhat) : null, bias && needs[2] ? g! : null];
  },
};
