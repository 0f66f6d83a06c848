import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  BTCV_MEAN,
  countNonFinite,
  replaceNonFiniteInPlace,
  BTCV_STD,
  minMaxNormalize,
  normalizeCtStack,
  normalizeMriVolume,
  normalizeStack,
  normalizeVideo,
  percentile,
} from './intensity.js';

// Recorded by testdata/make_scipy_fixture.py.
const fixture = JSON.parse(
  readFileSync(new URL('./testdata/scipy_fixture.json', import.meta.url), 'utf8'),
) as {
  percentile: { data: number[]; p: number[]; expected: number[] }[];
  ctReader: { data: number[]; expected: number[] };
};
const f32 = Math.fround;

describe('CT reader normalisation (spec 8.2)', () => {
  it('clips to [−200, 250] and min-maxes the whole stack to [0, 1]', () => {
    const out = normalizeCtStack([-1000, -200, 25, 250, 3000]);
    assert.equal(out[0], 0);
    assert.equal(out[1], 0);
    assert.equal(out[3], 1);
    assert.equal(out[4], 1);
    assert.ok(Math.abs(out[2]! - 0.5) < 1e-6);
  });

  it('follows the float32 steps exactly (hand-computed)', () => {
    // HU 0 → 0 + 200 = 200 / 450 · 255 = 113.333… → float32, then z-score and min-max against −200 and 250.
    const z = (hu: number) => f32(f32(f32(((hu + 200) / 450) * 255) - f32(BTCV_MEAN)) / f32(BTCV_STD));
    const lo = z(-200);
    const hi = z(250);
    const want = f32(f32(z(0) - lo) / f32(f32(hi - lo) + 1e-8));
    assert.equal(normalizeCtStack([-200, 0, 250])[1], want);
  });

  it('matches the reader run with NumPy on a random stack', () => {
    const out = normalizeCtStack(fixture.ctReader.data);
    assert.deepEqual(Array.from(out), fixture.ctReader.expected);
  });

  it('gives zeros for a constant stack (the 1e−8 keeps it finite)', () => {
    assert.deepEqual(Array.from(normalizeCtStack([40, 40, 40])), [0, 0, 0]);
  });

  it('normalises MRI stacks with the same reader and video frames by /255', () => {
    assert.deepEqual(
      Array.from(normalizeStack([0.2, 0.6, 1], 'mri')),
      Array.from(normalizeCtStack([0.2, 0.6, 1])),
    );
    assert.deepEqual(Array.from(normalizeStack([0, 51, 255], 'video')), [0, f32(0.2), 1]);
  });
});

describe('MRI volume normalisation (spec 8.3)', () => {
  it('percentile matches NumPy linear interpolation', () => {
    for (const c of fixture.percentile) {
      c.p.forEach((p, i) => {
        const got = percentile(c.data, p);
        assert.ok(
          Math.abs(got - c.expected[i]!) <= 1e-12 * (1 + Math.abs(c.expected[i]!)),
          `n=${c.data.length} p=${p}`,
        );
      });
    }
  });

  it('clips above the 99th percentile only and scales from the minimum', () => {
    // 101 values 0..100: the 99th percentile is 99, the minimum 0.
    const values = Array.from({ length: 101 }, (_, i) => i);
    const out = normalizeMriVolume(values);
    assert.equal(out[0], 0);
    assert.equal(out[50], f32(50 / 99));
    assert.equal(out[99], 1);
    assert.equal(out[100], 1);
  });

  it('uses the minimum, not a low percentile, and maps a constant volume to zeros', () => {
    const out = normalizeMriVolume([-5, 0, 5, 5, 5]);
    assert.equal(out[0], 0);
    assert.equal(out[1], 0.5);
    assert.deepEqual(Array.from(normalizeMriVolume([3, 3])), [0, 0]);
  });
});

describe('generic min-max and video scaling', () => {
  it('min-max maps the range onto [0, 1]', () => {
    assert.deepEqual(Array.from(minMaxNormalize([2, 4, 6])), [0, 0.5, 1]);
  });

  it('video divides by 255', () => {
    assert.deepEqual(Array.from(normalizeVideo(Uint8Array.from([0, 255]))), [0, 1]);
  });
});

describe('non-finite intensities (issue 10)', () => {
  it('CT: NaN and −Inf take the window minimum (0), +Inf the maximum (1); the rest of the stack is kept', () => {
    const hu = Float32Array.from([
      -1000,
      25,
      Number.NaN,
      1000,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    const out = Array.from(normalizeCtStack(hu));
    assert.ok(out.every(Number.isFinite), `${out}`);
    const expected = Array.from(normalizeCtStack(Float32Array.from([-200, 25, -200, 250, 250, -200])));
    assert.deepEqual(out, expected);
  });

  it('MRI: NaN and −Inf take the finite minimum, +Inf the finite maximum, before the percentile', () => {
    const values = Float32Array.from({ length: 200 }, (_, i) => i);
    const dirty = values.slice();
    dirty[10] = Number.NaN;
    dirty[20] = Number.NEGATIVE_INFINITY;
    dirty[199] = Number.POSITIVE_INFINITY;
    const same = values.slice();
    same[10] = 0;
    same[20] = 0;
    assert.deepEqual(Array.from(normalizeMriVolume(dirty)), Array.from(normalizeMriVolume(same)));
  });

  it('counts and replaces in place, integer arrays having none', () => {
    const v = Float64Array.from([Number.NaN, 3, Number.POSITIVE_INFINITY, -2]);
    assert.equal(countNonFinite(v), 2);
    assert.equal(countNonFinite(Int16Array.from([1, 2])), 0);
    assert.equal(replaceNonFiniteInPlace(v, 'ct', [-5, 5]), 2);
    assert.deepEqual(Array.from(v), [-5, 3, 5, -2]);
    const none = Float32Array.from([Number.NaN]);
    replaceNonFiniteInPlace(none, 'mri');
    assert.deepEqual(Array.from(none), [0]);
  });
});
