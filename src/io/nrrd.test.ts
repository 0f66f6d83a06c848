// Tests for NRRD reading and writing: serialize → parse round trips, what nrrd-js (the parser OHIF's MONAI
// Label extension uses) reads from our files, nrrd-js's own example files, hand-written headers of the
// variants Slicer and teem write, and every refusal with its message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import nrrdJs from 'nrrd-js';
import { FormatError, MasamError } from '../core/errors.js';
import { affineMaxDiff, voxelSizes } from './geometry.js';
import { gzip } from './gzip.js';
import { NRRD_TRAILING_SLACK, parseNrrd, serializeNrrd } from './nrrd.js';
import type { Affine, Volume } from './volume.js';

const nrrdJsDir = createRequire(import.meta.url)
  .resolve('nrrd-js')
  .replace(/nrrd\.js$/, '');
const example = (name: string) => new Uint8Array(readFileSync(`${nrrdJsDir}${name}`));

/** An oblique geometry: rotated about z, anisotropic voxels, an offset origin (RAS+). */
const c = Math.cos(0.3);
const s = Math.sin(0.3);
const OBLIQUE: Affine = [
  [0.8 * c, -0.9 * s, 0, 12.5],
  [0.8 * s, 0.9 * c, 0.1, -40.25],
  [0, 0, 2.5, 7],
  [0, 0, 0, 1],
];

const SHAPE = [5, 4, 3];

function labels(dtype: 'uint8' | 'uint16', top: number): Volume {
  const n = SHAPE[0]! * SHAPE[1]! * SHAPE[2]!;
  const values = Array.from({ length: n }, (_, i) => (i * 37) % (top + 1));
  const data = dtype === 'uint8' ? Uint8Array.from(values) : Uint16Array.from(values);
  return { data, dtype, shape: SHAPE, spacing: voxelSizes(OBLIQUE), affine: OBLIQUE } as Volume;
}

/** A file of header lines, the blank line, then `data`. */
function nrrdFile(lines: readonly string[], data: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const head = new TextEncoder().encode(`${lines.join('\n')}\n\n`);
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The header lines of a valid 2×2×2 uint8 raw file, with `extra` lines appended. */
const base = (...extra: string[]) => [
  'NRRD0004',
  'type: uint8',
  'dimension: 3',
  'sizes: 2 2 2',
  'encoding: raw',
  ...extra,
];
const EIGHT = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

/** The LPS column `c` of an RAS affine (x and y negated), as NRRD's space directions hold it. */
const lpsColumn = (a: Affine, col: number) => [-a[0][col] + 0, -a[1][col] + 0, a[2][col]];

describe('NRRD', () => {
  for (const dtype of ['uint8', 'uint16'] as const) {
    for (const encoding of ['raw', 'gzip'] as const) {
      it(`round-trips ${dtype} labels, ${encoding}: values, shape and the RAS affine`, () => {
        const volume = labels(dtype, dtype === 'uint8' ? 9 : 1000);
        const back = parseNrrd(serializeNrrd(volume, { encoding }), 'labels.nrrd');
        assert.equal(back.dtype, dtype);
        assert.deepEqual(back.shape, SHAPE);
        assert.deepEqual(back.data, volume.data);
        assert.ok(affineMaxDiff(back.affine, OBLIQUE) < 1e-6, JSON.stringify(back.affine));
        assert.deepEqual(back.spacing, voxelSizes(back.affine));
        assert.equal(back.source?.format, 'nrrd');
      });
    }
  }

  it('writes the affine as LPS directions and origin (RAS with x and y negated)', () => {
    const affine: Affine = [
      [0.8, 0, 0, 10],
      [0, 0.9, 0, -20],
      [0, 0, 2.5, 30],
      [0, 0, 0, 1],
    ];
    const volume: Volume = { ...labels('uint8', 3), affine, spacing: [0.8, 0.9, 2.5] };
    const text = new TextDecoder('latin1').decode(serializeNrrd(volume));
    assert.match(text, /^NRRD0004\n/);
    assert.match(text, /\nspace: left-posterior-superior\n/);
    assert.match(text, /\nspace directions: \(-0\.8,0,0\) \(0,-0\.9,0\) \(0,0,2\.5\)\n/);
    assert.match(text, /\nspace origin: \(-10,20,30\)\n\n/);
    assert.match(text, /\nkinds: domain domain domain\n/);
    assert.doesNotMatch(text, /endian/, 'no endian line for a 1-byte type');
  });

  it('converts to the requested type when every value fits (uint8 labels as uint16, float64 as float)', () => {
    const volume = labels('uint8', 9);
    const wide = parseNrrd(serializeNrrd(volume, { type: 'uint16' }), 'wide.nrrd');
    assert.equal(wide.dtype, 'uint16');
    assert.deepEqual(Array.from(wide.data as Uint16Array), Array.from(volume.data as Uint8Array));
    const halves = Float64Array.from({ length: 60 }, (_, i) => i / 2 - 7);
    const float = parseNrrd(
      serializeNrrd({ ...volume, dtype: 'float64', data: halves }, { type: 'float', encoding: 'gzip' }),
      'float.nrrd',
    );
    assert.equal(float.dtype, 'float32');
    assert.deepEqual(Array.from(float.data as Float32Array), Array.from(halves));
  });

  for (const dtype of ['uint8', 'uint16'] as const) {
    it(`writes raw ${dtype} that nrrd-js (OHIF's parser) reads: type, sizes, voxels in x-fastest order, LPS geometry`, () => {
      const volume = labels(dtype, dtype === 'uint8' ? 9 : 1000);
      const parsed = nrrdJs.parse(serializeNrrd(volume));
      assert.equal(parsed.type, dtype);
      assert.equal(parsed.encoding, 'raw');
      assert.equal(parsed.dimension, 3);
      assert.deepEqual(parsed.sizes, SHAPE);
      assert.equal(parsed.space, 'left-posterior-superior');
      assert.deepEqual(parsed.data, volume.data);
      // OHIF takes the voxels as `new Uint8Array(parsed.buffer)` (uint8) or a typed view of it.
      const view = dtype === 'uint8' ? new Uint8Array(parsed.buffer) : new Uint16Array(parsed.buffer);
      assert.deepEqual(view, volume.data);
      assert.deepEqual(
        parsed.spaceDirections,
        [0, 1, 2].map((col) => lpsColumn(OBLIQUE, col)),
      );
      assert.deepEqual(parsed.spaceOrigin, lpsColumn(OBLIQUE, 3));
    });
  }

  it("reads nrrd-js's example1.nrrd (3×512×512 uint8, no space) with the values nrrd-js gives", () => {
    const bytes = example('example1.nrrd');
    const ours = parseNrrd(bytes, 'example1.nrrd');
    const theirs = nrrdJs.parse(bytes);
    assert.deepEqual(ours.shape, theirs.sizes);
    assert.deepEqual(ours.shape, [3, 512, 512]);
    assert.equal(ours.dtype, 'uint8');
    assert.equal(theirs.type, 'uint8');
    assert.deepEqual(ours.data, theirs.data);
    assert.ok((ours.data as Uint8Array).some((v) => v !== 0));
    // No space: voxel axes along L, P, S at 1 mm, as ITK (and so Slicer) reads such a file.
    assert.deepEqual(ours.affine, [
      [-1, 0, 0, 0],
      [0, -1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
  });

  it("refuses nrrd-js's 2D example2.nrrd and 4D example4.nrrd by their dimension", () => {
    assert.throws(() => parseNrrd(example('example2.nrrd'), 'example2.nrrd'), {
      name: 'FormatError',
      message: 'example2.nrrd: dimension 2: only 3D volumes are read',
    });
    assert.throws(
      () => parseNrrd(example('example4.nrrd'), 'example4.nrrd'),
      /example4\.nrrd: dimension 4: only 3D/,
    );
  });

  it('reads big-endian int16 in RAS space, and agrees with nrrd-js on the values', () => {
    const values = [-300, -1, 0, 1, 2, 255, 256, 32767];
    const data = new Uint8Array(16);
    const view = new DataView(data.buffer);
    for (const [i, v] of values.entries()) view.setInt16(2 * i, v, false);
    const bytes = nrrdFile(
      [
        'NRRD0005',
        '# teem-style comment',
        'type: signed short',
        'dimension: 3',
        'space: RAS',
        'sizes: 2 2 2',
        'space directions: (0,0,1.5) (0,2,0) (0.5,0,0)',
        'endian: big',
        'encoding: raw',
        'space origin: (1,2,3)',
        'Segment0_Name:=liver',
      ],
      data,
    );
    const v = parseNrrd(bytes, 'be.nrrd');
    assert.equal(v.dtype, 'int16');
    assert.deepEqual(Array.from(v.data as Int16Array), values);
    assert.deepEqual(Array.from(nrrdJs.parse(bytes).data ?? []), values);
    assert.deepEqual(v.affine, [
      [0, 0, 0.5, 1],
      [0, 2, 0, 2],
      [1.5, 0, 0, 3],
      [0, 0, 0, 1],
    ]);
    assert.deepEqual(v.spacing, [1.5, 2, 0.5]);
    assert.deepEqual((v.source?.header?.['keys'] as Record<string, string>)['Segment0_Name'], 'liver');
  });

  it("reads 'space dimension: 3' as LPS, 'spacings' without a space as L, P, S axes, and LAS", () => {
    const dim = parseNrrd(
      nrrdFile(
        base('space dimension: 3', 'space directions: (2, 0, 0) (0,3,0)  ( 0,0,4 )', 'space origin: (5,6,7)'),
        EIGHT,
      ),
      'dim.nrrd',
    );
    assert.deepEqual(dim.affine, [
      [-2, 0, 0, -5],
      [0, -3, 0, -6],
      [0, 0, 4, 7],
      [0, 0, 0, 1],
    ]);
    const spaced = parseNrrd(nrrdFile(base('spacings: 0.5 nan 3'), EIGHT), 'spaced.nrrd');
    assert.deepEqual(spaced.spacing, [0.5, 1, 3]);
    assert.equal(spaced.affine[0][0], -0.5);
    assert.equal(spaced.affine[1][1], -1);
    assert.equal(spaced.affine[2][2], 3);
    const las = parseNrrd(
      nrrdFile(
        base(
          'space: left-anterior-superior',
          'space directions: (2,0,0) (0,3,0) (0,0,4)',
          'space origin: (5,6,7)',
        ),
        EIGHT,
      ),
      'las.nrrd',
    );
    assert.deepEqual(las.affine.slice(0, 3), [
      [-2, 0, 0, -5],
      [0, 3, 0, 6],
      [0, 0, 4, 7],
    ]);
  });

  it('reads ascii (text) values, nan and inf included, and CRLF headers', () => {
    const lines = ['NRRD0004', 'type: float', 'dimension: 3', 'sizes: 2 2 2', 'encoding: text'];
    const head = `${lines.join('\r\n')}\r\n\r\n`;
    const v = parseNrrd(new TextEncoder().encode(`${head}1 -2.5 3e2\n.5 nan INF -inf 7\n`), 'text.nrrd');
    assert.equal(v.dtype, 'float32');
    assert.deepEqual(Array.from(v.data as Float32Array), [
      1,
      -2.5,
      300,
      0.5,
      Number.NaN,
      Infinity,
      -Infinity,
      7,
    ]);
  });

  it('reads uint32 as float64 (every uint32 exactly)', () => {
    const data = new Uint8Array(32);
    new DataView(data.buffer).setUint32(0, 4294967295, true);
    const v = parseNrrd(
      nrrdFile(
        ['NRRD0004', 'type: unsigned int', 'dimension: 3', 'sizes: 2 2 2', 'endian: little', 'encoding: raw'],
        data,
      ),
      'u32.nrrd',
    );
    assert.equal(v.dtype, 'float64');
    assert.equal(v.data[0], 4294967295);
    const back = parseNrrd(serializeNrrd(v, { type: 'uint32' }), 'u32-again.nrrd');
    assert.deepEqual(back.data, v.data);
    assert.match(
      new TextDecoder().decode(serializeNrrd(v, { type: 'uint32' }).subarray(0, 40)),
      /type: uint32/,
    );
  });

  describe('refuses', () => {
    const refuses = (bytes: Uint8Array, message: RegExp, options = {}) =>
      assert.throws(
        () => parseNrrd(bytes, 'bad.nrrd', options),
        (err: unknown) => {
          assert.ok(err instanceof FormatError, String(err));
          assert.match(err.message, /^bad\.nrrd: /);
          assert.match(err.message, message);
          return true;
        },
      );

    it('a wrong magic', () => {
      refuses(
        new TextEncoder().encode('P5\n2 2\n255\n'),
        /not an NRRD file \(starts with "P5\\n2 2\\n2", not NRRD000X\)/,
      );
      refuses(nrrdFile(['NRRD0009', ...base().slice(1)], EIGHT), /NRRD version NRRD0009 is not read/);
    });

    it('a detached header (data file:)', () => {
      const nhdr = new TextEncoder().encode(`${base('data file: labels.raw').join('\n')}\n`);
      refuses(
        nhdr,
        /detached header \(data file: labels\.raw\): only \.nrrd files with the data attached are read/,
      );
      refuses(nrrdFile(base('datafile: LIST'), EIGHT), /detached header/);
    });

    it('truncated data: raw, gzip and ascii, and a header without the blank line', () => {
      refuses(
        nrrdFile(base(), EIGHT.subarray(0, 7)),
        /truncated: sizes \[2, 2, 2\] of uint8 need 8 bytes of raw data, the file has 7/,
      );
      const gz = nrrdFile(
        base().map((l) => (l === 'encoding: raw' ? 'encoding: gzip' : l)),
        gzip(EIGHT.subarray(0, 5)),
      );
      refuses(gz, /truncated: .* need 8 bytes of gzip data, the file has 5/);
      const cut = nrrdFile(
        base().map((l) => (l === 'encoding: raw' ? 'encoding: gzip' : l)),
        gzip(EIGHT).subarray(0, 12),
      );
      refuses(cut, /corrupt or truncated gzip data/);
      refuses(
        nrrdFile(
          base().map((l) => (l === 'encoding: raw' ? 'encoding: ascii' : l)),
          '1 2 3 4 5 6 7    ',
        ),
        /truncated: 7 ascii values where the sizes need 8/,
      );
      refuses(
        new TextEncoder().encode(base().join('\n')),
        /no blank line ends the header: the file has no attached data/,
      );
    });

    it('gzip data that decompresses far past the sizes (a bomb)', () => {
      const bomb = nrrdFile(
        base().map((l) => (l === 'encoding: raw' ? 'encoding: gzip' : l)),
        gzip(new Uint8Array(1 << 20)),
      );
      refuses(
        bomb,
        new RegExp(
          `decompresses past the 8 bytes the sizes declare \\(more than ${NRRD_TRAILING_SLACK} extra\\)`,
        ),
      );
    });

    it('a dimension other than 3, a non-spatial axis or a direction of none', () => {
      refuses(
        nrrdFile(['NRRD0004', 'type: uint8', 'dimension: 2', 'sizes: 4 2', 'encoding: raw'], EIGHT),
        /dimension 2: only 3D volumes are read/,
      );
      refuses(
        nrrdFile(base('kinds: RGB-color domain domain'), EIGHT),
        /axis 0 has kind 'RGB-color': only scalar 3D volumes are read/,
      );
      refuses(
        nrrdFile(base('space: LPS', 'space directions: none (1,0,0) (0,1,0)'), EIGHT),
        /space direction of axis 0 is 'none'/,
      );
    });

    it('sizes declaring more than maxBytes, or past any safe size, before allocating', () => {
      const huge = nrrdFile(
        [
          'NRRD0004',
          'type: uint16',
          'dimension: 3',
          'sizes: 1000 1000 1000',
          'endian: little',
          'encoding: raw',
        ],
        EIGHT,
      );
      refuses(
        huge,
        /sizes \[1000, 1000, 1000\] of uint16 declare 2000000000 bytes, more than the 1000000-byte limit \(maxBytes\)/,
        {
          maxBytes: 1e6,
        },
      );
      const absurd = nrrdFile(
        [
          'NRRD0004',
          'type: double',
          'dimension: 3',
          'sizes: 99999999 99999999 99999999',
          'endian: little',
          'encoding: gzip',
        ],
        EIGHT,
      );
      refuses(absurd, /more than the \d+-byte limit \(maxBytes\)/);
    });

    it('unsupported types, encodings, spaces and skips', () => {
      refuses(
        nrrdFile(
          base().map((l) => (l === 'type: uint8' ? 'type: long long' : l)),
          EIGHT,
        ),
        /type 'long long' is not read/,
      );
      refuses(
        nrrdFile(
          base().map((l) => (l === 'encoding: raw' ? 'encoding: bzip2' : l)),
          EIGHT,
        ),
        /encoding 'bzip2' is not read \(only raw, gzip and ascii\)/,
      );
      refuses(nrrdFile(base('space: scanner-xyz'), EIGHT), /space 'scanner-xyz' is not read/);
      refuses(nrrdFile(base('byte skip: -1'), EIGHT), /byte skip -1 is not read \(only 0/);
      refuses(nrrdFile(base('line skip: 2'), EIGHT), /line skip 2 is not read/);
    });

    it('a megabyte header line, quickly and with the quoted text cut short', () => {
      const t0 = performance.now();
      const line = `spacings: ${'1'.repeat(1 << 20)}x 1 1`;
      assert.throws(
        () => parseNrrd(nrrdFile(base(line), EIGHT), 'bad.nrrd'),
        (err: unknown) => {
          assert.match((err as Error).message, /^bad\.nrrd: spacing '1{64}…' is not a number$/);
          return true;
        },
      );
      assert.ok(performance.now() - t0 < 2000, 'no backtracking blow-up');
    });

    it('malformed headers: unknown or repeated fields, bad numbers, missing fields, impossible geometry', () => {
      refuses(nrrdFile(base('colour: red'), EIGHT), /unknown header field 'colour' \(line 6\)/);
      refuses(nrrdFile(base('sizes: 2 2 2'), EIGHT), /header field 'sizes' is given twice/);
      refuses(
        nrrdFile(base('no colon here'), EIGHT),
        /header line 6 is neither "field: value" nor "key:=value"/,
      );
      refuses(
        nrrdFile(['NRRD0004', 'type: uint8', 'dimension: 3', 'sizes: 2 x 2', 'encoding: raw'], EIGHT),
        /size 'x' is not an integer/,
      );
      refuses(
        nrrdFile(['NRRD0004', 'type: uint8', 'dimension: 3', 'sizes: 2 2', 'encoding: raw'], EIGHT),
        /'sizes: 2 2' does not give one item for each of the 3 axes/,
      );
      refuses(
        nrrdFile(['NRRD0004', 'type: uint8', 'dimension: 3', 'sizes: 2 2 2'], EIGHT),
        /the header has no 'encoding' field/,
      );
      refuses(
        nrrdFile(['NRRD0004', 'type: short', 'dimension: 3', 'sizes: 2 2 2', 'encoding: raw'], EIGHT),
        /no 'endian' field, needed for int16 raw data/,
      );
      refuses(
        nrrdFile(base('space: LPS', 'space directions: (1,0,0) (2,0,0) (0,0,1)'), EIGHT),
        /space directions is singular/,
      );
      refuses(
        nrrdFile(base('space: LPS', 'space origin: (1,2)'), EIGHT),
        /space origin '\(1,2\)' is not a vector of 3 numbers/,
      );
      refuses(
        nrrdFile(base('space directions: (1,0,0) (0,1,0) (0,0,1)'), EIGHT),
        /'space directions' without 'space' or 'space dimension'/,
      );
      refuses(
        nrrdFile(
          ['NRRD0004', 'type: uint8', 'dimension: 3', 'sizes: 2 2 2', 'encoding: ascii'],
          '1 2 3 4 5 6 7 300',
        ),
        /ascii value 7 '300' is not a uint8 \(integers 0\.\.255\)/,
      );
    });
  });

  describe('serializeNrrd refuses', () => {
    const refuses = (volume: Volume, options: Parameters<typeof serializeNrrd>[1], message: RegExp) =>
      assert.throws(
        () => serializeNrrd(volume, options),
        (err: unknown) => {
          assert.ok(err instanceof MasamError, String(err));
          assert.match(err.message, message);
          return true;
        },
      );
    const with16 = (values: number[]) => {
      const v = labels('uint16', 1);
      const data = new Uint16Array(v.data.length);
      values.forEach((x, i) => {
        data[i] = x;
      });
      return { ...v, data } as Volume;
    };

    it('a type that cannot hold the values, naming the value and its voxel', () => {
      refuses(
        with16([0, 0, 0, 0, 0, 0, 300]),
        { type: 'uint8' },
        /value 300 at voxel \(1, 1, 0\) cannot be stored as uint8 \(integers 0\.\.255\)/,
      );
      const negative = {
        ...labels('uint8', 1),
        dtype: 'int16',
        data: Int16Array.of(-1, ...new Array(59).fill(0)),
      } as Volume;
      refuses(negative, { type: 'uint8' }, /value -1 at voxel \(0, 0, 0\) cannot be stored as uint8/);
      const tenth = {
        ...labels('uint8', 1),
        dtype: 'float64',
        data: new Float64Array(60).fill(0.1),
      } as Volume;
      refuses(tenth, { type: 'float' }, /value 0\.1 at voxel \(0, 0, 0\) cannot be stored as float/);
      refuses(
        { ...tenth, data: new Float64Array(60).fill(70000) },
        { type: 'uint16' },
        /value 70000 .* cannot be stored as uint16 \(integers 0\.\.65535\)/,
      );
    });

    it('a volume that is not 3D, or an impossible affine', () => {
      refuses({ ...labels('uint8', 1), shape: [5, 4, 3, 1] }, {}, /shape \[5, 4, 3, 1\] is not a 3D volume/);
      const broken: Affine = [[Number.NaN, 0, 0, 0], OBLIQUE[1], OBLIQUE[2], OBLIQUE[3]];
      refuses({ ...labels('uint8', 1), affine: broken }, {}, /affine has a non-finite entry/);
    });

    it('int64 values without a type', () => {
      const big = { ...labels('uint8', 1), dtype: 'int64', data: new BigInt64Array(60) } as Volume;
      refuses(big, {}, /no NRRD type for int64 values \(pass options\.type/);
      assert.deepEqual(parseNrrd(serializeNrrd(big, { type: 'int16' }), 'big.nrrd').data, new Int16Array(60));
    });
  });
});
