// DICOM reader against the shared fixtures (../shared/fixtures/dicom/cases.json, made with pydicom): single files
// voxel for voxel, the shuffled oblique series against its HU volume and LPS affine, and malformed input.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fixturePath } from '../../test/fixtures.js';
import { fnv1a } from '../../test/dicom_synth.js';
import { FormatError } from '../core/errors.js';
import { type DicomSlice, dicomSeriesToVolume, groupDicomSeries, isDicom, parseDicom } from './dicom.js';

interface SingleCase {
  file: string;
  decodable_by_pydicom: boolean;
  transfer_syntax: string;
  rows?: number;
  columns?: number;
  bits_allocated?: number;
  pixel_representation?: number;
  pixel_spacing?: [number, number];
  image_position_patient?: [number, number, number];
  image_orientation_patient?: number[];
  rescale_slope?: number;
  rescale_intercept?: number;
  modality?: string;
  pixels_file?: string;
  raw_sum?: number;
  raw_min?: number;
  raw_max?: number;
}
interface Cases {
  single: SingleCase[];
  series: {
    dir: string;
    slices: number;
    rows: number;
    columns: number;
    hu_file: string;
    affine_lps: number[][];
  };
}

const cases = JSON.parse(readFileSync(fixturePath('dicom', 'cases.json'), 'utf8')) as Cases;
const bytesOf = (...parts: string[]) => new Uint8Array(readFileSync(fixturePath('dicom', ...parts)));
const int32sOf = (...parts: string[]) => {
  const b = readFileSync(fixturePath('dicom', ...parts));
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};

/**
 * Files pydicom cannot decode, checked against DCMTK 3.6.7 `dcmdjpeg` instead (libijg12, islow IDCT):
 * fingerprint of all stored values, their sum/min/max, and two pixels pydicom's GDCM tests also quote.
 */
const OTHER_REFERENCES: Record<string, { fnv: string; sum: number; min: number; max: number; rows: number }> =
  {
    'JPEG-lossy.dcm': { fnv: '0xa7b92f54', sum: 3767007, min: 0, max: 264, rows: 1024 },
  };

function assertFormatError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${e.message}' should mention '${f}'`);
    return true;
  });
}

function stats(values: ArrayLike<number>): { sum: number; min: number; max: number } {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of Array.from(values)) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { sum, min, max };
}

describe('parseDicom on the pydicom fixtures', () => {
  for (const c of cases.single) {
    it(`decodes ${c.file} (${c.transfer_syntax}) like its reference`, () => {
      const slice = parseDicom(bytesOf(c.file), c.file);
      assert.equal(slice.transferSyntaxUID, c.transfer_syntax);
      if (c.pixels_file) {
        assert.ok(c.decodable_by_pydicom);
        assert.equal(slice.rows, c.rows);
        assert.equal(slice.columns, c.columns);
        assert.equal(slice.bitsAllocated, c.bits_allocated);
        assert.equal(slice.pixelRepresentation, c.pixel_representation);
        assert.ok(slice.pixels instanceof (c.pixel_representation === 1 ? Int16Array : Uint16Array));
        assert.deepEqual(slice.pixelSpacing, c.pixel_spacing);
        assert.deepEqual(slice.imagePositionPatient, c.image_position_patient);
        assert.deepEqual(slice.imageOrientationPatient, c.image_orientation_patient);
        assert.equal(slice.rescaleSlope, c.rescale_slope);
        assert.equal(slice.rescaleIntercept, c.rescale_intercept);
        assert.equal(slice.modality, c.modality);
        assert.deepEqual(stats(slice.pixels), { sum: c.raw_sum, min: c.raw_min, max: c.raw_max });
        assert.deepEqual(Int32Array.from(slice.pixels), int32sOf(c.pixels_file));
        return;
      }
      const ref = OTHER_REFERENCES[c.file];
      assert.ok(ref, `no reference for ${c.file}: add one to OTHER_REFERENCES`);
      assert.equal(slice.rows, ref.rows);
      assert.equal(slice.pixels.length, slice.rows * slice.columns);
      assert.deepEqual(stats(slice.pixels), { sum: ref.sum, min: ref.min, max: ref.max });
      assert.equal(fnv1a(Int32Array.from(slice.pixels)), ref.fnv);
    });
  }

  it('decodes the 12-bit JPEG extended file synchronously, with the pixel values pydicom+GDCM report', () => {
    const slice = parseDicom(bytesOf('JPEG-lossy.dcm'), 'JPEG-lossy.dcm');
    assert.deepEqual([slice.rows, slice.columns, slice.bitsStored], [1024, 256, 12]);
    assert.equal(slice.pixels[420 * 256 + 140], 244);
    assert.equal(slice.pixels[230 * 256 + 120], 95);
  });

  it('reads the same pixels from little-endian, big-endian and RLE encodings of MR_small', () => {
    const le = parseDicom(bytesOf('MR_small.dcm'), 'le');
    for (const f of ['MR_small_bigendian.dcm', 'MR_small_RLE.dcm'])
      assert.deepEqual(parseDicom(bytesOf(f), f).pixels, le.pixels);
  });

  it('recognises Part 10 files by the DICM marker', () => {
    assert.ok(isDicom(bytesOf('CT_small.dcm')));
    assert.equal(isDicom(new Uint8Array(200)), false);
    assert.equal(isDicom(new TextEncoder().encode('DICM')), false);
  });
});

describe('dicomSeriesToVolume on the oblique series fixture', () => {
  const s = cases.series;
  const files = readdirSync(fixturePath('dicom', s.dir)).sort();
  const slices = files.map((f) => parseDicom(bytesOf(s.dir, f), `${s.dir}/${f}`));

  it('orders slices by position along the normal and matches the HU volume voxel for voxel', () => {
    assert.equal(slices.length, s.slices);
    const vol = dicomSeriesToVolume(slices, s.dir);
    assert.deepEqual(vol.shape, [s.columns, s.rows, s.slices]);
    assert.equal(vol.dtype, 'int16');
    assert.deepEqual(Array.from(vol.data as Int16Array), Array.from(int32sOf(`${s.dir}.hu.i32`)));
  });

  it('gives the fixture LPS affine once x and y are negated back from RAS', () => {
    const vol = dicomSeriesToVolume(slices, s.dir);
    const flip = [-1, -1, 1, 1];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        const ras = vol.affine[r]![c]!;
        const expectRas = flip[r]! * s.affine_lps[r]![c]! + 0; // + 0 turns -0 into 0
        assert.ok(Math.abs(ras - expectRas) < 1e-9, `affine[${r}][${c}] = ${ras}, expected ${expectRas}`);
        assert.ok(Math.abs(flip[r]! * ras - s.affine_lps[r]![c]!) < 1e-9);
      }
    }
    assert.deepEqual(
      vol.spacing.map((v) => +v.toFixed(9)),
      [0.8, 0.7, 2.5],
    );
  });

  it('ignores instance numbers (reversed in the fixture) and the order files arrive in', () => {
    const vol = dicomSeriesToVolume(slices, s.dir);
    const shuffled = [...slices].reverse();
    shuffled.push(shuffled.shift()!);
    assert.deepEqual(dicomSeriesToVolume(shuffled, s.dir).data, vol.data);
    const bySop = new Map(slices.map((x) => [x.sopInstanceUID, x]));
    const sopUids = vol.source?.header?.['sopInstanceUIDs'] as string[];
    const instances = sopUids.map((u) => bySop.get(u)!.instanceNumber!);
    assert.deepEqual(
      instances,
      [...instances].sort((a, b) => b - a),
      'instance numbers run backwards in space',
    );
    const z = sopUids.map((u) => bySop.get(u)!.imagePositionPatient![2]);
    assert.deepEqual(
      z,
      [...z].sort((a, b) => a - b),
    );
  });

  it('keeps the UIDs a DICOM-SEG writer needs, and no patient data', () => {
    const header = dicomSeriesToVolume(slices, s.dir).source?.header ?? {};
    const ref = slices[0]!;
    assert.equal(header['seriesInstanceUID'], ref.seriesInstanceUID);
    assert.equal(header['studyInstanceUID'], ref.studyInstanceUID);
    assert.equal(header['frameOfReferenceUID'], ref.frameOfReferenceUID);
    assert.equal(header['modality'], 'CT');
    assert.equal((header['sopInstanceUIDs'] as string[]).length, s.slices);
    assert.ok(!Object.keys(header).some((k) => /patient/i.test(k)));
  });

  it('refuses slices whose grid differs, naming the offending file', () => {
    const bad = (patch: Partial<DicomSlice>) => slices.map((x, i) => (i === 5 ? { ...x, ...patch } : x));
    const name = slices[5]!.source;
    assertFormatError(() => dicomSeriesToVolume(bad({ columns: 41 }), s.dir), name, 'rows × columns');
    assertFormatError(
      () => dicomSeriesToVolume(bad({ imageOrientationPatient: [1, 0, 0, 0, 1, 0] }), s.dir),
      name,
      'ImageOrientationPatient',
    );
    assertFormatError(
      () => dicomSeriesToVolume(bad({ pixelSpacing: [0.7, 0.9] }), s.dir),
      name,
      'PixelSpacing',
    );
  });

  it('refuses a gap (missing slice) and two slices at one position', () => {
    assertFormatError(
      () =>
        dicomSeriesToVolume(
          slices.filter((_, i) => i !== 4),
          s.dir,
        ),
      'not uniform',
    );
    assertFormatError(() => dicomSeriesToVolume([...slices, { ...slices[3]! }], s.dir), 'same position');
  });

  it('refuses a folder that mixes series; groupDicomSeries puts the largest first', () => {
    const ct = parseDicom(bytesOf('CT_small.dcm'), 'CT_small.dcm');
    assertFormatError(() => dicomSeriesToVolume([...slices, ct], s.dir), 'holds 2 series', 'CT_small.dcm');
    const groups = groupDicomSeries([ct, ...slices]);
    assert.deepEqual(
      groups.map((g) => g.slices.length),
      [s.slices, 1],
    );
  });

  it('stores float32 when a rescale slope is fractional', () => {
    const halved = slices.map((x) => ({ ...x, rescaleSlope: 0.5 }));
    const vol = dicomSeriesToVolume(halved, s.dir);
    assert.equal(vol.dtype, 'float32');
    const hu = int32sOf(`${s.dir}.hu.i32`);
    // stored = HU + 1024 (intercept −1024), so 0.5·stored − 1024 = (HU + 1024) / 2 − 1024
    for (let p = 0; p < hu.length; p += 97) assert.equal(vol.data[p], (hu[p]! + 1024) / 2 - 1024);
  });
});

describe('dicomSeriesToVolume on a single file', () => {
  it('turns CT_small into HU with the slice thickness as k step and its position as origin', () => {
    const slice = parseDicom(bytesOf('CT_small.dcm'), 'CT_small.dcm');
    const vol = dicomSeriesToVolume([slice], 'CT_small.dcm');
    assert.deepEqual(vol.shape, [128, 128, 1]);
    assert.equal(vol.dtype, 'int16');
    assert.deepEqual(vol.spacing, [0.661468, 0.661468, 5]);
    assert.deepEqual(vol.affine, [
      [-0.661468, 0, 0, 158.135803],
      [0, -0.661468, 0, 179.035797],
      [0, 0, 5, -75.699997],
      [0, 0, 0, 1],
    ]);
    const raw = int32sOf('CT_small.dcm.pixels.i32');
    assert.deepEqual(
      Array.from(vol.data as Int16Array),
      Array.from(raw, (v) => v - 1024),
    );
  });
});

describe('parseDicom on bad input', () => {
  it('rejects bytes that are not DICOM', () => {
    assertFormatError(
      () => parseDicom(new TextEncoder().encode('hello, world'), 'hello.txt'),
      'hello.txt',
      'DICM',
    );
    assertFormatError(() => dicomSeriesToVolume([], 'empty/'), 'empty/', 'no DICOM slices');
  });

  it('rejects truncated files, in the header and in the pixel data', () => {
    const full = bytesOf('CT_small.dcm');
    for (const cut of [140, 600, full.length - 1000]) {
      assertFormatError(() => parseDicom(full.subarray(0, cut), 'CT_small.dcm'), 'CT_small.dcm', 'truncated');
    }
  });

  it('rejects an unsupported transfer syntax, naming the file and the UID', () => {
    const bytes = bytesOf('JPEG-lossy.dcm').slice();
    const text = new TextDecoder('latin1').decode(bytes);
    const at = text.indexOf('1.2.840.10008.1.2.4.51');
    assert.ok(at > 128 && at < 400, 'transfer syntax UID sits in the meta group');
    bytes.set(new TextEncoder().encode('1.2.840.10008.1.2.4.80'), at); // same length: JPEG-LS Lossless
    assertFormatError(
      () => parseDicom(bytes, 'patched.dcm'),
      'patched.dcm',
      '1.2.840.10008.1.2.4.80',
      'JPEG-LS',
    );
  });

  it('reports a codec failure as a FormatError naming the file and the transfer syntax', () => {
    const bytes = bytesOf('JPEG-lossy.dcm').slice();
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc1);
    bytes[sof + 1] = 0xc3; // turn the SOF1 (extended DCT) marker into SOF3 (lossless)
    assertFormatError(
      () => parseDicom(bytes, 'broken.dcm'),
      'broken.dcm',
      '1.2.840.10008.1.2.4.51',
      'JPEG Extended',
    );
  });
});
