// Tests for NIfTI-1/2 reading and writing: every file of ../shared/fixtures/nifti against what nibabel 5 read
// from it (cases.json), parse → serialize → parse round trips, hand-made headers and malformed files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { nibabelRead, nibabelSkipReason } from '../../test/nibabel.js';
import { type DType, type TypedArray, allocate, isFloat } from '../core/dtype.js';
import { FormatError } from '../core/errors.js';
import { aff2axcodes, affineMaxDiff, voxelSizes } from './geometry.js';
import { gunzip, gzip } from './gzip.js';
import {
  NIFTI_TRAILING_SLACK,
  niftiDatatypeName,
  niftiHeaderOf,
  parseNifti,
  serializeNifti,
} from './nifti.js';
import { type NiftiHeader, encodeNiftiHeader, parseNiftiHeader } from './nifti_header.js';
import type { Affine, Volume } from './volume.js';

interface NiftiCase {
  file: string;
  nifti_version: 1 | 2;
  shape: number[];
  dtype_on_disk: string;
  scl_slope: number | null;
  scl_inter: number | null;
  affine: number[][];
  sform_code: number;
  qform_code: number;
  zooms: number[];
  sum: number;
  min: number;
  max: number;
  samples: { index: number[]; value: number }[];
}

const CASES: NiftiCase[] = JSON.parse(readFileSync(fixturePath('nifti', 'cases.json'), 'utf8')).cases;
const load = (file: string) => parseNifti(readFileSync(fixturePath('nifti', file)), file);

/** Voxel (i, j, k[, t]) in nibabel's indexing: i fastest in memory. */
function voxel(v: Volume, index: readonly number[]): number {
  let offset = 0;
  for (let a = index.length - 1; a >= 0; a--) offset = offset * v.shape[a]! + index[a]!;
  return Number(v.data[offset]!);
}

function stats(data: TypedArray): { sum: number; min: number; max: number } {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const x = Number(data[i]!);
    sum += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  return { sum, min, max };
}

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);
}

function assertAffineClose(
  actual: Affine,
  expected: readonly (readonly number[])[],
  tol: number,
  what: string,
) {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++)
      assertClose(actual[r]![c]!, expected[r]![c]!, tol, `${what} affine[${r}][${c}]`);
  }
}

function assertSameData(a: Volume, b: Volume, what: string): void {
  assert.equal(b.dtype, a.dtype, `${what}: dtype`);
  assert.deepEqual(b.shape, a.shape, `${what}: shape`);
  assert.equal(b.data.length, a.data.length, `${what}: length`);
  for (let i = 0; i < a.data.length; i++) {
    if (!Object.is(a.data[i], b.data[i]))
      assert.fail(`${what}: element ${i} is ${b.data[i]}, expected ${a.data[i]}`);
  }
}

describe('parseNifti on the nibabel fixtures', () => {
  it('the fixture list covers NIfTI-2, big-endian, 4D, qform-only and scaled files', () => {
    const files = CASES.map((c) => c.file);
    assert.ok(files.length >= 8, `only ${files.length} cases`);
    assert.ok(CASES.some((c) => c.nifti_version === 2));
    assert.ok(CASES.some((c) => c.shape.length === 4));
    assert.ok(CASES.some((c) => c.sform_code === 0 && c.qform_code > 0));
    assert.ok(CASES.some((c) => c.scl_slope !== null));
  });

  for (const c of CASES) {
    describe(c.file, () => {
      const v = load(c.file);
      const h = niftiHeaderOf(v)!;

      it('has nibabel’s shape, version and on-disk datatype', () => {
        assert.deepEqual(v.shape, c.shape);
        assert.equal(h.version, c.nifti_version);
        assert.equal(niftiDatatypeName(h.datatype), c.dtype_on_disk);
      });

      it('applies scl_slope/scl_inter the way nibabel does', () => {
        if (c.scl_slope === null) {
          // null = no effective scaling: the file's slope is 0 or NaN, or (slope, inter) = (1, 0) — nibabel
          // moves the header's factors into img.dataobj on load and the fixture reports None for (1, 0).
          const none = h.sclSlope === 0 || !Number.isFinite(h.sclSlope);
          assert.ok(
            none || (h.sclSlope === 1 && h.sclInter === 0),
            `slope ${h.sclSlope}, inter ${h.sclInter}`,
          );
          assert.equal(v.dtype, c.dtype_on_disk === 'uint32' ? 'float64' : c.dtype_on_disk);
        } else {
          assert.equal(h.sclSlope, c.scl_slope);
          assert.equal(h.sclInter, c.scl_inter);
          const identity = c.scl_slope === 1 && c.scl_inter === 0;
          assert.ok(identity || v.dtype === 'float32' || v.dtype === 'float64', `scaled data as ${v.dtype}`);
        }
      });

      it('takes the affine by nibabel’s precedence, with its sform/qform codes', () => {
        assert.equal(h.sformCode, c.sform_code);
        assert.equal(h.qformCode, c.qform_code);
        assertAffineClose(v.affine, c.affine, 1e-9, c.file);
      });

      it('reports pixdim as spacing (nibabel zooms)', () => {
        assert.equal(v.spacing.length, c.zooms.length);
        c.zooms.forEach((z, a) => {
          assertClose(v.spacing[a]!, z, 1e-12, `zoom ${a}`);
        });
      });

      it('gives the scaled data’s sum, min, max and sample voxels', () => {
        const s = stats(v.data);
        assertClose(s.sum, c.sum, 1e-9 * Math.max(1, Math.abs(c.sum)), 'sum');
        assert.equal(s.min, c.min);
        assert.equal(s.max, c.max);
        assert.ok(c.samples.length > 0);
        for (const sample of c.samples) {
          assert.equal(voxel(v, sample.index), sample.value, `voxel [${sample.index.join(', ')}]`);
        }
      });
    });
  }

  it('names the orientation of the oblique fixtures RAS (rotations under 45°)', () => {
    for (const c of CASES) assert.equal(aff2axcodes(load(c.file).affine), 'RAS', c.file);
  });
});

describe('serializeNifti round trips', () => {
  for (const c of CASES) {
    it(`${c.file}: parse → serialize → parse keeps data, dtype, geometry and codes`, () => {
      const v = load(c.file);
      const h = niftiHeaderOf(v)!;
      const gz = c.file.endsWith('.gz');
      const back = parseNifti(serializeNifti(v, { gzip: gz }), `${c.file} rewritten`);
      const h2 = niftiHeaderOf(back)!;
      assertSameData(v, back, c.file);
      assert.equal(affineMaxDiff(back.affine, v.affine), 0, 'affine');
      assert.deepEqual(back.spacing, v.spacing);
      assert.equal(h2.version, h.version);
      assert.equal(h2.sformCode, h.sformCode);
      assert.equal(h2.qformCode, h.qformCode);
      // Scaled integer data go back into their datatype with the same scaling, not into float.
      assert.equal(h2.datatype, h.datatype);
      assert.equal(h2.sclSlope === 0 || !Number.isFinite(h2.sclSlope) ? 1 : h2.sclSlope, c.scl_slope ?? 1);
    });
  }

  it('the qform written for a qform-only file reproduces its affine', () => {
    const v = load('qform_only_float64.nii.gz');
    const h2 = niftiHeaderOf(parseNifti(serializeNifti(v), 'rewritten'))!;
    assert.equal(h2.sformCode, 0);
    const header = niftiHeaderOf(v)!;
    header.quatern.forEach((q, k) => {
      assert.equal(h2.quatern[k], q, `quatern ${k}`);
    });
    assert.equal(h2.pixdim[0], header.pixdim[0]);
  });

  it('writes NIfTI-2 and big-endian files that read back the same', () => {
    const v = load('ct_int16_slope.nii.gz');
    for (const options of [
      { version: 2 as const },
      { littleEndian: false },
      { version: 2 as const, littleEndian: false },
    ]) {
      const bytes = serializeNifti(v, options);
      const back = parseNifti(bytes, 'rewritten');
      const h = niftiHeaderOf(back)!;
      assert.equal(h.version, options.version ?? 1);
      assert.equal(h.littleEndian, options.littleEndian ?? true);
      assertSameData(v, back, JSON.stringify(options));
      assert.equal(affineMaxDiff(back.affine, v.affine), 0);
    }
  });

  const DTYPES: DType[] = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'int64', 'float32', 'float64'];
  for (const dtype of DTYPES) {
    it(`round-trips a synthetic ${dtype} 4D volume in both byte orders and versions`, () => {
      const shape = [5, 4, 3, 2];
      const n = 5 * 4 * 3 * 2;
      const values = Array.from({ length: n }, (_, i) => ((i * 37) % 23) - (dtype.startsWith('u') ? 0 : 11));
      const data = allocate(dtype, n);
      for (let i = 0; i < n; i++) {
        if (data instanceof BigInt64Array)
          data[i] = BigInt(values[i]!) * 10_000_000_000n; // beyond 2^53
        else data[i] = isFloat(dtype) ? values[i]! / 7 : values[i]!;
      }
      const affine: Affine = [
        [0, 0, -2.5, 10],
        [-0.75, 0, 0, 20],
        [0, 1.25, 0, -30],
        [0, 0, 0, 1],
      ];
      const v: Volume = { data, dtype, shape, spacing: [0.75, 1.25, 2.5, 3], affine };
      for (const version of [1, 2] as const) {
        for (const littleEndian of [true, false]) {
          const back = parseNifti(serializeNifti(v, { version, littleEndian, gzip: true }), 'synthetic');
          assertSameData(v, back, `${dtype} v${version} ${littleEndian ? 'LE' : 'BE'}`);
          assert.deepEqual(back.affine, affine);
          assert.deepEqual(back.spacing, [0.75, 1.25, 2.5, 3]);
          assert.equal(aff2axcodes(back.affine), 'PSL');
          const h = niftiHeaderOf(back)!;
          // Without a source header both codes are scanner-anatomical, and the time unit is seconds.
          assert.deepEqual([h.sformCode, h.qformCode, h.xyztUnits], [1, 1, 2 | 8]);
        }
      }
    });
  }

  it('stores bool volumes as uint8 0/1', () => {
    const v: Volume = {
      data: Uint8Array.from([0, 1, 1, 0]),
      dtype: 'bool',
      shape: [2, 2, 1],
      spacing: [1, 1, 1],
      affine: AFF,
    };
    const back = parseNifti(serializeNifti(v), 'bool');
    assert.equal(back.dtype, 'uint8');
    assert.deepEqual([...back.data], [0, 1, 1, 0]);
  });

  it('keeps a left-handed oblique affine in the qform alone (qfac = −1)', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const affine: Affine = [
      [0.8 * c, -0.9 * s, 0, 1],
      [0.8 * s, 0.9 * c, 0, 2],
      [0, 0, -2, 3],
      [0, 0, 0, 1],
    ];
    const v: Volume = {
      data: new Float32Array(24),
      dtype: 'float32',
      shape: [2, 3, 4],
      spacing: [0.8, 0.9, 2],
      affine,
    };
    const back = parseNifti(serializeNifti(v, { sformCode: 0, qformCode: 1 }), 'qform only');
    const h = niftiHeaderOf(back)!;
    assert.equal(h.pixdim[0], -1);
    assert.equal(h.sformCode, 0);
    assert.ok(affineMaxDiff(back.affine, affine) < 1e-6, `qform error ${affineMaxDiff(back.affine, affine)}`);
    assert.equal(aff2axcodes(back.affine), 'RAI');
  });

  it('raises the sform code when the source codes would lose a sheared affine', () => {
    const sheared: Affine = [
      [1, 0.25, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 1],
    ];
    const qformOnly = parseNifti(serializeNifti(load('qform_only_float64.nii.gz')), 'q');
    const moved: Volume = { ...qformOnly, affine: sheared };
    const h = niftiHeaderOf(parseNifti(serializeNifti(moved), 'moved'))!;
    assert.deepEqual([h.sformCode, h.qformCode], [1, 1]);
    assert.deepEqual(parseNifti(serializeNifti(moved), 'moved').affine, sheared);
    // A slight shear far from the origin is still caught: offsets do not loosen the 3×3 comparison.
    const slight: Affine = [
      [1, 0.001, 0, -200],
      [0, 1, 0, 150],
      [0, 0, 2, 300],
      [0, 0, 0, 1],
    ];
    const back = parseNifti(serializeNifti({ ...qformOnly, affine: slight }), 'slight');
    assert.equal(niftiHeaderOf(back)!.sformCode, 1);
    assert.ok(affineMaxDiff(back.affine, slight) < 1e-5);
    // Without shear the qform alone is enough and the sform code stays 0.
    const rigid: Affine = [
      [1, 0, 0, -200],
      [0, 1, 0, 150],
      [0, 0, 2, 300],
      [0, 0, 0, 1],
    ];
    assert.equal(
      niftiHeaderOf(parseNifti(serializeNifti({ ...qformOnly, affine: rigid }), 'rigid'))!.sformCode,
      0,
    );
  });

  it('keeps both codes 0 when the pixdim fall-back affine reproduces the affine', () => {
    const header = niftiHeaderOf(load('mr_float32.nii'))!;
    const bytes = withHeader({ ...header, sformCode: 0, qformCode: 0 }, new Float32Array(40 * 40 * 12));
    const v = parseNifti(bytes, 'no xform');
    // nibabel's get_base_affine: x flipped, origin at the centre.
    assertAffineClose(
      v.affine,
      [
        [-0.6000000238418579, 0, 0, 11.700000464916229],
        [0, 0.6000000238418579, 0, -11.700000464916229],
        [0, 0, 3, -16.5],
        [0, 0, 0, 1],
      ],
      1e-12,
      'base',
    );
    const h = niftiHeaderOf(parseNifti(serializeNifti(v), 'rewritten'))!;
    assert.deepEqual([h.sformCode, h.qformCode], [0, 0]);
  });

  it('writes descrip from the options and truncates it to 79 characters', () => {
    const v = load('labels_uint8.nii.gz');
    const h = niftiHeaderOf(parseNifti(serializeNifti(v, { description: 'x'.repeat(100) }), 'd'))!;
    assert.equal(h.descrip, 'x'.repeat(79));
  });
});

const AFF: Affine = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

/** A single-file image of `header` (written little-endian at vox_offset 352/544) followed by `data`'s bytes. */
function withHeader(header: NiftiHeader, data: ArrayBufferView): Uint8Array {
  const head = encodeNiftiHeader({
    ...header,
    littleEndian: true,
    voxOffset: header.version === 1 ? 352 : 544,
  });
  const out = new Uint8Array(head.length + data.byteLength);
  out.set(head);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), head.length);
  return out;
}

const BASE = niftiHeaderOf(
  parseNifti(
    serializeNifti({
      data: new Uint8Array(6),
      dtype: 'uint8',
      shape: [3, 2, 1],
      spacing: [1, 1, 1],
      affine: AFF,
    }),
    'b',
  ),
)!;

describe('parseNifti datatypes and scaling on hand-made headers', () => {
  it('reads uint32 as float64, exactly up to 2³²−1', () => {
    const raw = Uint32Array.from([0, 1, 2 ** 31, 2 ** 32 - 1, 7, 8]);
    const v = parseNifti(withHeader({ ...BASE, datatype: 768, bitpix: 32 }, raw), 'u32');
    assert.equal(v.dtype, 'float64');
    assert.deepEqual([...v.data], [...raw]);
  });

  it('reads uint64 as int64 and rejects values above 2⁶³−1', () => {
    const raw = BigUint64Array.from([0n, 1n, 2n ** 63n - 1n, 4n, 5n, 6n]);
    const v = parseNifti(withHeader({ ...BASE, datatype: 1280, bitpix: 64 }, raw), 'u64');
    assert.equal(v.dtype, 'int64');
    assert.deepEqual([...v.data], [...raw]);
    raw[2] = 2n ** 63n;
    assert.throws(
      () => parseNifti(withHeader({ ...BASE, datatype: 1280, bitpix: 64 }, raw), 'u64'),
      /does not fit int64/,
    );
  });

  it('scales to float64 when float32 cannot hold raw·slope + inter exactly, as get_fdata does', () => {
    const raw = Int16Array.from([0, 1, 2, 3, -4, 1000]);
    const v = parseNifti(
      withHeader({ ...BASE, datatype: 4, bitpix: 16, sclSlope: 0.1, sclInter: 5 }, raw),
      'tenth',
    );
    assert.equal(v.dtype, 'float64');
    // The header holds slope 0.1 as float32; nibabel multiplies in float64 with that float32 value.
    const slope = Math.fround(0.1);
    assert.deepEqual(
      [...v.data],
      [...raw].map((x) => x * slope + 5),
    );
  });

  it('treats slope 0, NaN and (1, 0) as no scaling and rejects a NaN intercept with a real slope', () => {
    const raw = Int16Array.from([1, 2, 3, 4, 5, 6]);
    for (const [sclSlope, sclInter] of [
      [0, 7],
      [Number.NaN, 7],
      [1, 0],
    ] as const) {
      const v = parseNifti(
        withHeader({ ...BASE, datatype: 4, bitpix: 16, sclSlope, sclInter }, raw),
        'unscaled',
      );
      assert.equal(v.dtype, 'int16', `slope ${sclSlope}`);
      assert.deepEqual([...v.data], [...raw]);
    }
    const bad = withHeader({ ...BASE, datatype: 4, bitpix: 16, sclSlope: 2, sclInter: Number.NaN }, raw);
    assert.throws(
      () => parseNifti(bad, 'bad-inter.nii'),
      /bad-inter\.nii: valid scl_slope 2 but invalid scl_inter NaN/,
    );
  });

  it('pads 2D images to 3D and drops trailing singleton axes past the fourth', () => {
    const flat = parseNifti(withHeader({ ...BASE, dims: [3, 2] }, new Uint8Array(6)), '2d');
    assert.deepEqual(flat.shape, [3, 2, 1]);
    assert.deepEqual(flat.spacing, [1, 1, 1]);
    const five = parseNifti(withHeader({ ...BASE, dims: [3, 2, 1, 1, 1] }, new Uint8Array(6)), '5d');
    assert.deepEqual(five.shape, [3, 2, 1, 1]);
  });
});

describe('parseNifti on malformed files', () => {
  const good = serializeNifti({
    data: new Int16Array(60),
    dtype: 'int16',
    shape: [5, 4, 3],
    spacing: [1, 1, 1],
    affine: AFF,
  });

  function fails(bytes: Uint8Array, pattern: RegExp): void {
    assert.throws(
      () => parseNifti(bytes, 'bad.nii'),
      (err: unknown) => err instanceof FormatError && err.source === 'bad.nii' && pattern.test(err.message),
    );
  }
  function patched(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
    const bytes = good.slice();
    edit(new DataView(bytes.buffer), bytes);
    return bytes;
  }

  it('names a file cut inside the voxel data as truncated', () =>
    fails(good.subarray(0, good.length - 1), /truncated.*need 120 data bytes/));
  it('names a file cut inside the header as truncated', () =>
    fails(good.subarray(0, 200), /truncated: the NIfTI-1 header needs 348/));
  it('rejects an empty file', () => fails(new Uint8Array(0), /truncated/));
  it('rejects a wrong magic', () =>
    fails(
      patched((_, b) => b.set([0x78, 0x78, 0x78], 344)),
      /wrong magic 'xxx'/,
    ));
  it('rejects the header of a .hdr/.img pair', () =>
    fails(
      patched((_, b) => b.set([0x6e, 0x69, 0x31], 344)),
      /'ni1'.*pair/,
    ));
  it('rejects a wrong sizeof_hdr next to a NIfTI magic', () =>
    fails(
      patched((v) => v.setInt32(0, 350, true)),
      /sizeof_hdr is 350, expected 348/,
    ));
  it('rejects bytes that are not NIfTI at all', () =>
    fails(new TextEncoder().encode('x'.repeat(400)), /not a NIfTI file/));
  it('rejects dim[0] outside 1..7', () =>
    fails(
      patched((v) => v.setInt16(40, 9, true)),
      /inconsistent dims: dim\[0\] is 9/,
    ));
  it('rejects a zero or negative dim', () =>
    fails(
      patched((v) => v.setInt16(44, -4, true)),
      /inconsistent dims: \[5, -4, 3\]/,
    ));
  it('rejects an unsupported datatype by name', () =>
    fails(
      patched((v) => v.setInt16(70, 128, true)),
      /unsupported datatype 128 \(rgb24\)/,
    ));
  it('rejects an unknown datatype code', () =>
    fails(
      patched((v) => v.setInt16(70, 3, true)),
      /unsupported datatype 3 \(code 3\)/,
    ));
  it('rejects a vox_offset beyond the end of the file', () =>
    fails(
      patched((v) => v.setFloat32(108, 100000, true)),
      /vox_offset 100000 is beyond the end/,
    ));
  it('rejects 5D images with more than four non-singleton axes', () => {
    fails(
      patched((v) => {
        for (const [k, d] of [5, 5, 4, 3, 1, 2].entries()) v.setInt16(40 + 2 * k, d, true);
      }),
      /only 3D and 4D/,
    );
  });
  it('rejects a NIfTI-2 magic with a damaged tail', () => {
    const v2 = serializeNifti(
      { data: new Int16Array(60), dtype: 'int16', shape: [5, 4, 3], spacing: [1, 1, 1], affine: AFF },
      { version: 2 },
    );
    const b = v2.slice();
    b[9] = 0x0d; // \r\n → \r\r, as a text-mode transfer does
    fails(b, /end-of-line conversion/);
  });
  it('rejects a corrupt gzip stream', () => {
    const gz = gzip(good);
    fails(gz.subarray(0, gz.length - 20), /corrupt or truncated gzip/);
  });
  it('reads the header of a valid file with parseNiftiHeader alone', () => {
    const h = parseNiftiHeader(good, 'good.nii');
    assert.deepEqual([h.version, h.datatype, h.bitpix, h.voxOffset], [1, 4, 16, 352]);
    assert.deepEqual(gunzip(gzip(good)), good);
  });
});

describe('parseNifti on impossible geometry (geometry.ts rules)', () => {
  // An oblique, anisotropic image written with both codes 1: sform = qform = AFFINE_OBLIQUE.
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const OBLIQUE: Affine = [
    [2 * c, -3 * s, 0, 10],
    [2 * s, 3 * c, 0, -20],
    [0, 0, 4, 30],
    [0, 0, 0, 1],
  ];
  const good = serializeNifti({
    data: new Int16Array(60),
    dtype: 'int16',
    shape: [5, 4, 3],
    spacing: [2, 3, 4],
    affine: OBLIQUE,
  });
  const patched = (edit: (v: DataView) => void): Uint8Array => {
    const bytes = good.slice();
    edit(new DataView(bytes.buffer));
    return bytes;
  };
  const PIXDIM = (d: number) => 76 + 4 * d;
  const SROW_X = 280;
  const QFORM_CODE = 252;
  const SFORM_CODE = 254;
  const QUATERN_B = 256;
  const read = (bytes: Uint8Array) => parseNifti(bytes, 'odd.nii');
  const finiteNonsingular = (a: Affine) =>
    a.every((row) => row.every(Number.isFinite)) && Math.abs(a[0][0] * a[1][1] - a[0][1] * a[1][0]) > 0;

  it('reads the well-formed file without warnings', () => {
    const v = read(good);
    assert.equal(v.source?.warnings, undefined);
    assert.ok(affineMaxDiff(v.affine, OBLIQUE) < 1e-5);
  });

  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses a ${bad} voxel size, naming the file`, () => {
      assert.throws(
        () => read(patched((v) => v.setFloat32(PIXDIM(2), bad, true))),
        (e: unknown) =>
          e instanceof FormatError &&
          e.source === 'odd.nii' &&
          /pixdim\[2\] \(a voxel size\) is (NaN|Infinity)/.test(e.message),
      );
    });
  }

  it('reads a zero voxel size as 1 and a negative one as its absolute value, with warnings (nibabel)', () => {
    const noForms = (v: DataView) => {
      v.setInt16(QFORM_CODE, 0, true);
      v.setInt16(SFORM_CODE, 0, true);
    };
    const zero = read(
      patched((v) => {
        noForms(v);
        v.setFloat32(PIXDIM(1), 0, true);
      }),
    );
    assert.deepEqual(zero.spacing, [1, 3, 4]);
    assert.deepEqual(voxelSizes(zero.affine), [1, 3, 4]);
    assert.deepEqual(zero.source?.warnings, [
      'odd.nii: pixdim[1] is 0; read as 1 (nibabel sets 0 voxel sizes to 1)',
    ]);
    // qform only, pixdim[3] = −4 with qfac −1: |−4| = 4, then qfac flips k, as nibabel's get_qform after its fix.
    const flipped = read(
      patched((v) => {
        v.setInt16(SFORM_CODE, 0, true);
        v.setFloat32(PIXDIM(0), -1, true);
        v.setFloat32(PIXDIM(3), -4, true);
      }),
    );
    assert.deepEqual(flipped.spacing, [2, 3, 4]);
    assert.ok(Math.abs(flipped.affine[2][2] - -4) < 1e-5, `k column ${flipped.affine[2][2]}`);
    assert.match(flipped.source!.warnings![0]!, /pixdim\[3\] is -4; read as 4/);
  });

  it('falls back from an unusable sform to the qform, and from both to the voxel sizes, with warnings', () => {
    const nanSform = read(patched((v) => v.setFloat32(SROW_X + 4, Number.NaN, true)));
    assert.ok(affineMaxDiff(nanSform.affine, OBLIQUE) < 1e-5, 'the qform holds the same geometry');
    assert.match(
      nanSform.source!.warnings![0]!,
      /the sform \(sform_code 1\) has a non-finite entry.*using the qform/,
    );
    const singular = read(
      patched((v) => {
        for (let r = 0; r < 3; r++) v.setFloat32(SROW_X + 16 * r, 0, true); // first column zero
      }),
    );
    assert.ok(affineMaxDiff(singular.affine, OBLIQUE) < 1e-5);
    assert.match(singular.source!.warnings![0]!, /zero voxel axis/);
    const dependent = read(
      patched((v) => {
        for (let r = 0; r < 3; r++)
          v.setFloat32(SROW_X + 16 * r + 4, v.getFloat32(SROW_X + 16 * r, true), true);
      }),
    );
    assert.match(dependent.source!.warnings![0]!, /is singular/);
    const neither = read(
      patched((v) => {
        v.setFloat32(SROW_X, Number.POSITIVE_INFINITY, true);
        v.setFloat32(QUATERN_B, Number.NaN, true);
      }),
    );
    assert.ok(finiteNonsingular(neither.affine));
    assert.deepEqual(voxelSizes(neither.affine), [2, 3, 4]);
    assert.equal(aff2axcodes(neither.affine), 'LAS'); // the pixdim fall-back flips x
    assert.match(neither.source!.warnings![0]!, /sform.*non-finite.*and the qform.*non-finite.*voxel sizes/);
  });

  it('names no orientation for a NaN affine, and serializeNifti refuses to write one', () => {
    const nan: Affine = [
      [Number.NaN, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    assert.equal(aff2axcodes(nan), '???');
    const volume = { data: new Int16Array(8), dtype: 'int16' as const, shape: [2, 2, 2], spacing: [1, 1, 1] };
    assert.throws(() => serializeNifti({ ...volume, affine: nan }), /non-finite entry.*not written/);
    const flat: Affine = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 1],
    ];
    assert.throws(() => serializeNifti({ ...volume, affine: flat }), /zero voxel axis.*not written/);
  });
});

describe('parseNifti decompression bounds', () => {
  const small = serializeNifti({
    data: Int16Array.from({ length: 10 }, (_, i) => i),
    dtype: 'int16',
    shape: [1, 1, 10],
    spacing: [1, 1, 1],
    affine: AFF,
  });
  /** gzip members of 1 MiB of zeros each: a multi-member stream inflating to `mib` MiB past `head`. */
  function bomb(head: Uint8Array, mib: number): Uint8Array {
    const member = gzip(new Uint8Array(1 << 20), 9);
    const first = gzip(head);
    const out = new Uint8Array(first.length + mib * member.length);
    out.set(first);
    for (let m = 0; m < mib; m++) out.set(member, first.length + m * member.length);
    return out;
  }

  it('refuses a .nii.gz whose 1×1×10 header hides 200 MiB of zeros, quickly and in bounded memory', () => {
    const gz = bomb(small, 200);
    assert.ok(gz.length < 1 << 20, `the bomb is ${gz.length} bytes compressed`);
    const before = process.memoryUsage();
    const t0 = performance.now();
    assert.throws(
      () => parseNifti(gz, 'bomb.nii.gz'),
      (err: unknown) =>
        err instanceof FormatError &&
        err.source === 'bomb.nii.gz' &&
        /decompresses past the 372 bytes its header declares/.test(err.message),
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = process.memoryUsage();
    assert.ok(seconds < 1, `took ${seconds.toFixed(3)} s`);
    // Whatever was inflated is still unreclaimed garbage here, so it shows in the growth.
    const grownMiB = (after.arrayBuffers - before.arrayBuffers) / 2 ** 20;
    assert.ok(grownMiB < 16, `array buffers grew by ${grownMiB.toFixed(1)} MiB`);
  });

  it('reads a .nii.gz with a little trailing padding (up to NIFTI_TRAILING_SLACK) as nibabel does', () => {
    const padded = new Uint8Array(small.length + NIFTI_TRAILING_SLACK);
    padded.set(small);
    const v = parseNifti(gzip(padded), 'padded.nii.gz');
    assert.deepEqual(Array.from(v.data as Int16Array), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.throws(() => parseNifti(bomb(small, 1), 'more.nii.gz'), /more\.nii\.gz: decompresses past/);
  });

  it('refuses a header declaring more than maxBytes before inflating the data', () => {
    const big = serializeNifti({
      data: new Float32Array(64 * 64 * 64),
      dtype: 'float32',
      shape: [64, 64, 64],
      spacing: [1, 1, 1],
      affine: AFF,
    });
    const gz = gzip(big);
    assert.equal(parseNifti(gz, 'ok.nii.gz').data.length, 64 ** 3);
    assert.throws(
      () => parseNifti(gz, 'big.nii.gz', { maxBytes: 1 << 20 }),
      /big\.nii\.gz: .*declare 1048928 bytes, more than the 1048576-byte limit/,
    );
  });
});

describe('cross-check with nibabel', () => {
  const reason = nibabelSkipReason();
  const dir = mkdtempSync(join(tmpdir(), 'masam-nifti-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`nibabel reads our rewrite of ${c.file} as it read the original`, { skip: reason }, () => {
      const v = load(c.file);
      const path = join(dir, c.file.replace(/\.nii(\.gz)?$/, '.out.nii.gz'));
      writeFileSync(path, serializeNifti(v, { gzip: true }));
      const nib = nibabelRead(path);
      assert.deepEqual(nib.shape, c.shape);
      assert.equal(nib.dtypeOnDisk, c.dtype_on_disk === 'uint32' ? 'float64' : c.dtype_on_disk);
      assertAffineClose(nib.affine, c.affine, 1e-9, 'nibabel affine');
      assertAffineClose(nib.qformAffine, c.affine, 1e-5, 'nibabel qform');
      assert.deepEqual([nib.sformCode, nib.qformCode], [c.sform_code, c.qform_code]);
      c.zooms.forEach((z, a) => {
        assertClose(nib.zooms[a]!, z, 1e-6, `zoom ${a}`);
      });
      assert.equal(nib.fdata.length, v.data.length);
      for (let i = 0; i < v.data.length; i++) {
        if (nib.fdata[i] !== Number(v.data[i]))
          assert.fail(`voxel ${i}: nibabel ${nib.fdata[i]}, ours ${v.data[i]}`);
      }
    });
  }
});
