import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { allocate, type DType } from '../core/dtype.js';
import { float64, type HostTensor, hostTensor } from '../core/host_tensor.js';
import { IDENTITY_AFFINE, type Volume } from '../io/volume.js';
import { zoom, zoomOutputShape, zoomToShape, zoomVolume } from './zoom.js';

interface ZoomCase {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  readonly data: number[];
  readonly factors: number[];
  readonly order: 0 | 1 | 3;
  readonly outShape: number[];
  readonly expected: number[];
}

// Recorded by testdata/make_scipy_fixture.py.
const fixture = JSON.parse(
  readFileSync(new URL('./testdata/scipy_fixture.json', import.meta.url), 'utf8'),
) as {
  zoom: ZoomCase[];
};

function tensorOf(dtype: string, shape: number[], values: number[]): HostTensor {
  const data = allocate(dtype as Exclude<DType, 'int64'>, values.length);
  data.set(values);
  return hostTensor(dtype as DType, shape, data);
}

describe('zoom (SciPy ndimage.zoom semantics)', () => {
  for (const c of fixture.zoom) {
    it(`matches recorded SciPy output: ${c.name}`, () => {
      const out = zoom(tensorOf(c.dtype, c.shape, c.data), c.factors, { order: c.order });
      assert.deepEqual(out.shape, c.outShape);
      assert.equal(out.dtype, c.dtype);
      const got = Array.from(out.data as ArrayLike<number>);
      const exact = c.order === 0 || c.dtype !== 'float64';
      for (let i = 0; i < got.length; i++) {
        if (exact && c.dtype !== 'float32') assert.equal(got[i], c.expected[i], `${c.name} [${i}]`);
        else {
          const tol = c.dtype === 'float32' ? 1e-6 : 1e-12;
          assert.ok(
            Math.abs(got[i]! - c.expected[i]!) <= tol * (1 + Math.abs(c.expected[i]!)),
            `${c.name} [${i}]`,
          );
        }
      }
    });
  }

  it('sizes the output with Python rounding (half to even)', () => {
    assert.deepEqual(zoomOutputShape([5, 7, 3], [0.5, 0.5, 1]), [2, 4, 3]);
    assert.deepEqual(zoomOutputShape([320, 320, 20], [512 / 320, 512 / 320, 1]), [512, 512, 20]);
  });

  it('keeps a constant array constant at every order', () => {
    const x = float64([4, 6], new Array(24).fill(7.25));
    for (const order of [0, 1, 3] as const) {
      const y = zoom(x, [1.7, 0.6], { order });
      for (const v of y.data) assert.ok(Math.abs(v - 7.25) < 1e-12);
    }
  });

  it('reproduces a linear ramp exactly at order 1, and interpolates the samples at order 3', () => {
    const x = float64([9], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Corner-aligned: output o samples o·8/12.
    zoom(x, [13 / 9], { order: 1 }).data.forEach((v, o) => {
      assert.ok(Math.abs(v - (o * 8) / 12) < 1e-12);
    });
    // 9 → 17 samples o/2; the even outputs hit input samples, which a prefiltered spline reproduces.
    const y = zoom(x, [17 / 9], { order: 3 }).data;
    for (let o = 0; o < 17; o += 2) assert.ok(Math.abs(y[o]! - o / 2) < 1e-12);
    // The mirror boundary bends the spline near the ends, so only mid-interval values near the centre
    // are linear to within the prefilter's geometric decay (pole 2 − √3).
    assert.ok(Math.abs(y[7]! - 3.5) < 1e-2);
  });

  it('order 0 picks input index floor(o·(n−1)/(m−1) + 0.5)', () => {
    const x = hostTensor('uint8', [5], Uint8Array.from([10, 20, 30, 40, 50]));
    assert.deepEqual(Array.from(zoom(x, [1.6], { order: 0 }).data), [10, 20, 20, 30, 30, 40, 40, 50]);
  });

  it('leaves an axis with factor 1 untouched', () => {
    const x = float64(
      [2, 3, 4],
      Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    );
    const y = zoom(x, [1, 1, 1]);
    assert.deepEqual(Array.from(y.data), Array.from(x.data));
    assert.notEqual(y.data, x.data);
  });

  it('zoomToShape reaches the requested shape', () => {
    const y = zoomToShape(float64([3, 4], new Array(12).fill(1)), [8, 5], { order: 1 });
    assert.deepEqual(y.shape, [8, 5]);
  });

  it('rejects a non-positive factor or a wrong factor count', () => {
    assert.throws(() => zoom(float64([2], [1, 2]), [0]), /factor 0/);
    assert.throws(() => zoom(float64([2], [1, 2]), [1, 2]), /2 factors/);
  });
});

describe('zoomVolume', () => {
  it('zooms along voxel axes and scales spacing and affine columns, keeping the origin', () => {
    const nx = 4;
    const ny = 3;
    const nz = 2;
    const data = new Float32Array(nx * ny * nz);
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = i;
    const vol: Volume<'float32'> = {
      data,
      dtype: 'float32',
      shape: [nx, ny, nz],
      spacing: [2, 1, 3],
      affine: [
        [-2, 0, 0, 10],
        [0, 1, 0, 20],
        [0, 0, 3, 30],
        [0, 0, 0, 1],
      ],
    };
    const out = zoomVolume(vol, [7 / 4, 1, 1], { order: 1 });
    assert.deepEqual(out.shape, [7, 3, 2]);
    // Voxel o samples i = o·3/6 = o/2, and the data is i along axis i.
    for (let o = 0; o < 7; o++) assert.ok(Math.abs(out.data[o]! - o / 2) < 1e-6);
    assert.deepEqual(out.spacing, [1, 1, 3]);
    assert.deepEqual(out.affine[0], [-1, 0, 0, 10]);
    assert.deepEqual(out.affine[2], [0, 0, 3, 30]);
  });

  it('treats data as index-i-fastest (a zoom along k only repeats whole slices)', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const vol: Volume<'uint8'> = {
      data,
      dtype: 'uint8',
      shape: [3, 1, 2],
      spacing: [1, 1, 1],
      affine: IDENTITY_AFFINE,
    };
    const out = zoomVolume(vol, [1, 1, 1.5], { order: 0 });
    assert.deepEqual(out.shape, [3, 1, 3]);
    assert.deepEqual(Array.from(out.data), [1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });
});
