// Hand-computed cases for the float64 reference kernels (the test oracle), plus resizeMatrix checked against
// the rule written in masam-spec §1, so the oracle does not merely mirror the code under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RefTensor, REFERENCE, erf, refTensor } from './reference.js';
import { PRIMITIVES } from './registry.js';
import { resizeMatrix } from './resize.js';

const t = refTensor;

function assertTensor(
  actual: RefTensor | undefined,
  shape: readonly number[],
  values: readonly number[],
  tol = 1e-12,
) {
  assert.ok(actual, 'missing output');
  assert.deepEqual([...actual.shape], [...shape]);
  assert.equal(actual.data.length, values.length);
  actual.data.forEach((v, i) => {
    assert.ok(Math.abs(v - values[i]!) <= tol, `element ${i}: got ${v}, expected ${values[i]}`);
  });
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('reference table', () => {
  it('has a kernel for every primitive', () => {
    assert.deepEqual(Object.keys(REFERENCE).sort(), Object.keys(PRIMITIVES).sort());
  });
});

describe('reference elementwise', () => {
  it('erf matches known values to 1e-14', () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-2, -0.9953222650189527],
      [3, 0.9999779095030014],
      [0, 0],
      [2.5, 0.999593047982555], // at the series/continued-fraction switch
      [-0.1, -0.1124629160182849],
      [6.5, 1],
    ];
    for (const [x, y] of known)
      assert.ok(Math.abs(erf(x) - y) <= 1e-14, `erf(${x}) = ${erf(x)}, expected ${y}`);
    assert.ok(Number.isNaN(erf(Number.NaN)));
    assertTensor(
      REFERENCE.Erf([t([2], [1, -2])], {})[0],
      [2],
      [0.8427007929497149, -0.9953222650189527],
      1e-15,
    );
  });

  it('binary ops broadcast with numpy rules; comparisons give 0/1', () => {
    const a = t([2, 3], range(6)); // [[0, 1, 2], [3, 4, 5]]
    const b = t([3], [10, 20, 30]);
    assertTensor(REFERENCE.Add([a, b], {})[0], [2, 3], [10, 21, 32, 13, 24, 35]);
    assertTensor(REFERENCE.Sub([b, t([2, 1], [1, 2])], {})[0], [2, 3], [9, 19, 29, 8, 18, 28]);
    assertTensor(REFERENCE.Less([a, t([], [2])], {})[0], [2, 3], [1, 1, 0, 0, 0, 0]);
    assertTensor(REFERENCE.Equal([a, t([2, 1], [1, 4])], {})[0], [2, 3], [0, 1, 0, 0, 1, 0]);
    assertTensor(REFERENCE.Max([a, t([1], [2.5])], {})[0], [2, 3], [2.5, 2.5, 2.5, 3, 4, 5]);
    assert.throws(() => REFERENCE.Add([a, t([2], [1, 2])], {}), /do not broadcast/);
  });

  it('Where broadcasts condition, x and y; Cast truncates toward zero', () => {
    const c = t([2, 1], [1, 0]);
    assertTensor(REFERENCE.Where([c, t([3], [1, 2, 3]), t([], [-1])], {})[0], [2, 3], [1, 2, 3, -1, -1, -1]);
    const x = t([5], [-2.7, -0.5, 0, 1.9, 3]);
    assertTensor(REFERENCE.Cast([x], { to: 'int64' })[0], [5], [-2, 0, 0, 1, 3]);
    assertTensor(REFERENCE.Cast([x], { to: 'bool' })[0], [5], [1, 1, 0, 1, 1]);
    assertTensor(REFERENCE.Cast([x], { to: 'float32' })[0], [5], [-2.7, -0.5, 0, 1.9, 3]);
  });
});

describe('reference reductions and matmul', () => {
  it('reduces over axes with and without keepdims', () => {
    const x = t([2, 3, 2], range(12));
    assertTensor(REFERENCE.ReduceSum([x], { axes: [1], keepdims: true })[0], [2, 1, 2], [6, 9, 24, 27]);
    assertTensor(REFERENCE.ReduceMean([x], { axes: [0, 2], keepdims: false })[0], [3], [3.5, 5.5, 7.5]);
    assertTensor(REFERENCE.ReduceMax([x], { axes: [1, 2], keepdims: false })[0], [2], [5, 11]);
  });

  it('MatMul broadcasts batch dimensions', () => {
    const a = t([2, 1, 2], [1, 2, 3, 4]); // two 1×2 rows
    const b = t([2, 2], [1, 0, 0, 10]);
    assertTensor(REFERENCE.MatMul([a, b], {})[0], [2, 1, 2], [1, 20, 3, 40]);
    const c = t([1, 2, 2], [1, 1, 1, 1]);
    const d = t([3, 2, 1], [1, 2, 3, 4, 5, 6]);
    assertTensor(REFERENCE.MatMul([c, d], {})[0], [3, 2, 1], [3, 3, 7, 7, 11, 11]);
  });
});

describe('reference movement', () => {
  it('Gather on axis 1', () => {
    const data = t([2, 3], [1, 2, 3, 4, 5, 6]);
    const indices = t([2, 2], [2, 0, 1, 1]);
    assertTensor(REFERENCE.Gather([data, indices], { axis: 1 })[0], [2, 2, 2], [3, 1, 2, 2, 6, 4, 5, 5]);
    assertTensor(REFERENCE.Gather([data, t([1], [-1])], { axis: 1 })[0], [2, 1], [3, 6]);
    assert.throws(() => REFERENCE.Gather([data, t([1], [3])], { axis: 1 }), /out of range/);
  });

  it('Slice with step 2', () => {
    const x = t([2, 5], range(10));
    assertTensor(
      REFERENCE.Slice([x], { starts: [0, 1], ends: [2, 5], steps: [1, 2] })[0],
      [2, 2],
      [1, 3, 6, 8],
    );
    assertTensor(REFERENCE.Slice([x], { starts: [1, 0], ends: [2, 5], steps: [2, 2] })[0], [1, 3], [5, 7, 9]);
  });

  it('Pad with ONNX pads order (all begins, then all ends) and a constant', () => {
    const x = t([2, 2], [1, 2, 3, 4]);
    assertTensor(
      REFERENCE.Pad([x], { pads: [1, 0, 0, 2], value: 9 })[0],
      [3, 4],
      [9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9],
    );
  });

  it('Expand broadcasts to the target shape', () => {
    assertTensor(
      REFERENCE.Expand([t([3, 1], [1, 2, 3])], { shape: [2, 3, 2] })[0],
      [2, 3, 2],
      [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3],
    );
    assertTensor(REFERENCE.Expand([t([], [7])], { shape: [2] })[0], [2], [7, 7]);
    assert.throws(() => REFERENCE.Expand([t([2], [1, 2])], { shape: [3] }), /cannot expand/);
  });

  it('Transpose, Reshape, Concat and Split', () => {
    const x = t([2, 3], range(6));
    assertTensor(REFERENCE.Transpose([x], { perm: [1, 0] })[0], [3, 2], [0, 3, 1, 4, 2, 5]);
    assertTensor(REFERENCE.Reshape([x], { shape: [3, 2] })[0], [3, 2], range(6));
    const y = t([2, 1], [10, 11]);
    const cat = REFERENCE.Concat([x, y], { axis: 1 })[0]!;
    assertTensor(cat, [2, 4], [0, 1, 2, 10, 3, 4, 5, 11]);
    const [p, q] = REFERENCE.Split([cat], { axis: 1, sizes: [3, 1] });
    assertTensor(p, [2, 3], range(6));
    assertTensor(q, [2, 1], [10, 11]);
  });
});

describe('reference conv', () => {
  it('1-D conv with stride 2, pad 1, dilation 2 and a bias', () => {
    // positions read by output o: 2o + 2k − 1 for k = 0, 1, 2 (x has 7 elements; outside reads zero)
    // o=0: x[1]·2 + x[3]·3 = 4 + 12; o=1: x[1]·1 + x[3]·2 + x[5]·3 = 2 + 8 + 18; o=2: x[3]·1 + x[5]·2 = 4 + 12
    const x = t([1, 1, 7], [1, 2, 3, 4, 5, 6, 7]);
    const w = t([1, 1, 3], [1, 2, 3]);
    const y = REFERENCE.Conv([x, w, t([1], [0.5])], { strides: [2], pads: [1, 1], dilations: [2], group: 1 });
    assertTensor(y[0], [1, 1, 3], [16.5, 28.5, 16.5]);
  });

  it('grouped 2-D conv sees only its group of channels', () => {
    const x = t([1, 4, 2, 2], range(16, 1)); // channel c holds 4c+1 … 4c+4
    // group 0 (channels 0, 1) → out 0: x[0,0,0] + x[1,1,1] = 1 + 8; group 1 (channels 2, 3) → out 1: x[2,0,1] + x[3,1,0] = 10 + 15
    const w = t([2, 2, 2, 2], [1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0]);
    const y = REFERENCE.Conv([x, w], { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 2 });
    assertTensor(y[0], [1, 2, 1, 1], [9, 25]);
    // pad 1, 3×3 output: out 0 at (i, j) = x[0, i−1, j−1] + x[1, i, j]; out 1 = x[2, i−1, j] + x[3, i, j−1]
    const padded = REFERENCE.Conv([x, w], {
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      dilations: [1, 1],
      group: 2,
    });
    assertTensor(padded[0], [1, 2, 3, 3], [5, 6, 0, 7, 9, 2, 0, 3, 4, 0, 13, 14, 9, 25, 16, 11, 12, 0]);
  });

  it('grouped conv equals the per-group convs concatenated (2 output channels per group)', () => {
    const x = t(
      [2, 4, 5, 4],
      range(160).map((i) => Math.cos(i)),
    );
    const w = t(
      [4, 2, 3, 2],
      range(48).map((i) => Math.sin(i)),
    );
    const a = { strides: [2, 1], pads: [1, 0, 1, 1], dilations: [1, 2], group: 2 };
    const grouped = REFERENCE.Conv([x, w, t([4], [1, 2, 3, 4])], a)[0]!;
    const [x0, x1] = REFERENCE.Split([x], { axis: 1, sizes: [2, 2] });
    const [w0, w1] = REFERENCE.Split([w], { axis: 0, sizes: [2, 2] });
    const y0 = REFERENCE.Conv([x0!, w0!, t([2], [1, 2])], { ...a, group: 1 })[0]!;
    const y1 = REFERENCE.Conv([x1!, w1!, t([2], [3, 4])], { ...a, group: 1 })[0]!;
    const expected = REFERENCE.Concat([y0, y1], { axis: 1 })[0]!;
    assertTensor(grouped, expected.shape, [...expected.data], 0);
  });

  it('ConvTranspose 2×2 stride 2 places one kernel copy per input pixel', () => {
    const x = t([1, 1, 2, 2], [1, 2, 3, 4]);
    const w = t([1, 1, 2, 2], [1, 10, 100, 1000]);
    const a = { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, outputPadding: [0, 0] };
    assertTensor(
      REFERENCE.ConvTranspose([x, w], a)[0],
      [1, 1, 4, 4],
      [1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000],
    );
  });

  it('ConvTranspose sums overlaps, crops pads, honours outputPadding and adds a bias', () => {
    const x = t([1, 1, 2], [1, 2]);
    const w = t([1, 1, 2], [1, 1]);
    const a = { strides: [1], pads: [0, 0], dilations: [1], group: 1, outputPadding: [0] };
    assertTensor(REFERENCE.ConvTranspose([x, w], a)[0], [1, 1, 3], [1, 3, 2]);
    assertTensor(REFERENCE.ConvTranspose([x, w], { ...a, pads: [1, 1] })[0], [1, 1, 1], [3]);
    const b = { ...a, strides: [2], outputPadding: [1] };
    assertTensor(REFERENCE.ConvTranspose([x, w, t([1], [0.5])], b)[0], [1, 1, 5], [1.5, 1.5, 2.5, 2.5, 0.5]);
  });

  it('ConvTranspose is the adjoint of Conv: <conv(x), g> = <x, convT(g)>', () => {
    const rand = (n: number, seed: number) => range(n).map((i) => Math.sin(seed * 12.9898 + i * 78.233));
    const attrs = { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2], group: 1 };
    const x = t([2, 3, 7, 6], rand(252, 1));
    const w = t([4, 3, 3, 2], rand(72, 2));
    const y = REFERENCE.Conv([x, w], attrs)[0]!;
    assert.deepEqual([...y.shape], [2, 4, 4, 5]);
    const g = t(y.shape, rand(y.data.length, 3));
    // output lengths: 2·3 + op + 2 + 1 − 3 = 6 + op = 7 → op = 1; 1·4 + op + 2 + 1 − 1 = 6 + op = 6 → op = 0
    const xg = REFERENCE.ConvTranspose([g, w], { ...attrs, outputPadding: [1, 0] })[0]!;
    assert.deepEqual([...xg.shape], x.shape);
    const dot = (p: RefTensor, q: RefTensor) => p.data.reduce((s, v, i) => s + v * q.data[i]!, 0);
    assert.ok(Math.abs(dot(y, g) - dot(x, xg)) < 1e-9);
  });

  it('3-D conv of the largest test size runs', () => {
    const x = t(
      [2, 8, 6, 6, 6],
      range(3456).map((i) => (i % 7) - 3),
    );
    const w = t(
      [8, 8, 3, 3, 3],
      range(1728).map((i) => (i % 5) - 2),
    );
    const a = { strides: [1, 1, 1], pads: [1, 1, 1, 1, 1, 1], dilations: [1, 1, 1], group: 1 };
    const y = REFERENCE.Conv([x, w], a)[0]!;
    assert.deepEqual([...y.shape], [2, 8, 6, 6, 6]);
    // the centre voxel sees the full kernel: Σ_c Σ_k x·w, computed directly
    let expected = 0;
    for (let c = 0; c < 8; c++)
      for (let k = 0; k < 27; k++) {
        const [kd, kh, kw] = [Math.floor(k / 9), Math.floor(k / 3) % 3, k % 3];
        expected += x.data[c * 216 + (2 + kd) * 36 + (2 + kh) * 6 + (2 + kw)]! * w.data[c * 27 + k]!;
      }
    assert.equal(y.data[3 * 36 + 3 * 6 + 3], expected); // output (0, 0, 3, 3, 3)
  });
});

describe('resize', () => {
  /** masam-spec §1, written out independently: s = max((i + 0.5)·nIn/nOut − 0.5, 0), i0 = ⌊s⌋,
   * i1 = min(i0 + 1, nIn − 1), λ = s − i0, out[i] = (1 − λ)·in[i0] + λ·in[i1]. */
  function specBilinear(input: readonly number[], nOut: number): number[] {
    const nIn = input.length;
    if (nIn === nOut) return [...input];
    return range(nOut).map((i) => {
      const s = Math.max((i + 0.5) * (nIn / nOut) - 0.5, 0);
      const i0 = Math.floor(s);
      const i1 = Math.min(i0 + 1, nIn - 1);
      const lambda = s - i0;
      return (1 - lambda) * input[i0]! + lambda * input[i1]!;
    });
  }
  const applyMatrix = (m: Float64Array, input: readonly number[], nOut: number) =>
    range(nOut).map((i) => input.reduce((s, v, j) => s + m[i * input.length + j]! * v, 0));

  it('resizeMatrix follows the spec on hand-computed examples', () => {
    // 4 → 8: s = 0 (clamped), 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25 (i1 clamps to 3)
    const up = applyMatrix(resizeMatrix(4, 8, 'linear'), [0, 4, 8, 16], 8);
    assert.deepEqual(up, [0, 1, 3, 5, 7, 10, 14, 16]);
    // 5 → 2: s = 0.75 → 0.25·0 + 0.75·4; s = 3.25 → 0.75·16 + 0.25·32
    assert.deepEqual(applyMatrix(resizeMatrix(5, 2, 'linear'), [0, 4, 8, 16, 32], 2), [3, 20]);
    // nearest (PyTorch): in[⌊i·nIn/nOut⌋]
    assert.deepEqual(applyMatrix(resizeMatrix(2, 4, 'nearest'), [5, 7], 4), [5, 5, 7, 7]);
    assert.deepEqual(applyMatrix(resizeMatrix(3, 2, 'nearest'), [5, 7, 9], 2), [5, 7]);
  });

  it('resizeMatrix agrees with the spec formula for many sizes', () => {
    for (let nIn = 1; nIn <= 9; nIn++) {
      for (let nOut = 1; nOut <= 13; nOut++) {
        const input = range(nIn).map((i) => (i * 7) % 5);
        const got = applyMatrix(resizeMatrix(nIn, nOut, 'linear'), input, nOut);
        specBilinear(input, nOut).forEach((v, i) => {
          assert.ok(Math.abs(got[i]! - v) < 1e-12, `${nIn}→${nOut} at ${i}: ${got[i]} vs ${v}`);
        });
      }
    }
  });

  it('Resize resamples every changed axis separably', () => {
    const x = t([2, 2], [0, 4, 8, 12]);
    // axis 0: rows r0, .75r0+.25r1, .25r0+.75r1, r1; axis 1 likewise on each row
    assertTensor(
      REFERENCE.Resize([x], { mode: 'linear', sizes: [4, 4] })[0],
      [4, 4],
      [0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12],
    );
    assertTensor(
      REFERENCE.Resize([x], { mode: 'nearest', sizes: [2, 4] })[0],
      [2, 4],
      [0, 0, 4, 4, 8, 8, 12, 12],
    );
  });
});

describe('reference normalisation', () => {
  it('Softmax and LogSoftmax are stable and agree', () => {
    const x = t([2, 3], [1000, 1001, 1002, 0, 0, Math.log(2)]);
    const s = REFERENCE.Softmax([x], { axis: 1 })[0]!;
    const z = 1 + Math.E + Math.E * Math.E;
    assertTensor(s, [2, 3], [1 / z, Math.E / z, (Math.E * Math.E) / z, 0.25, 0.25, 0.5], 1e-15);
    const l = REFERENCE.LogSoftmax([x], { axis: 1 })[0]!;
    assertTensor(l, [2, 3], [...s.data].map(Math.log), 1e-13);
    assertTensor(
      REFERENCE.Softmax([t([2, 1], [3, 5])], { axis: 0 })[0],
      [2, 1],
      [1 / (1 + Math.exp(2)), 1 / (1 + Math.exp(-2))],
    );
  });

  it('LayerNormalization normalises the trailing axes with the biased variance', () => {
    const x = t([2, 2], [1, 3, 10, 14]); // rows: μ = 2, σ² = 1 and μ = 12, σ² = 4
    const scale = t([2], [2, 1]);
    const bias = t([2], [0, 0.5]);
    const y = REFERENCE.LayerNormalization([x, scale, bias], { axis: 1, epsilon: 0 })[0];
    assertTensor(y, [2, 2], [-2, 1.5, -2, 1.5]);
    const eps = REFERENCE.LayerNormalization([x, scale, bias], { axis: 1, epsilon: 3 })[0];
    assertTensor(eps, [2, 2], [-1, 1, -4 / Math.sqrt(7), 2 / Math.sqrt(7) + 0.5]);
    const all = REFERENCE.LayerNormalization([t([1, 2, 2], [1, 3, 1, 3]), t([2, 2], [1, 1, 1, 1])], {
      axis: 1,
      epsilon: 0,
    })[0];
    assertTensor(all, [1, 2, 2], [-1, 1, -1, 1]);
  });
});
