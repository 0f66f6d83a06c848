// DICOM pixel formats and compressed transfer syntaxes on synthetic files (test/dicom_synth.ts) and on the
// JPEG-lossless samples that ship with jpeg-lossless-decoder-js, checked against DCMTK and the codecs' encoders.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import dicomParser from 'dicom-parser';
import { Deflate } from 'fflate';
import { fnv1a, TS, words16, writeDicom } from '../../test/dicom_synth.js';
import { concatBytes } from './bytes.js';
import { REPO_ROOT } from '../../test/fixtures.js';
import { FormatError } from '../core/errors.js';
import {
  dicomCodecsReady,
  dicomSeriesToVolume,
  initDicomCodecs,
  parseDicom,
  parseDicomAsync,
} from './dicom.js';
import { decodeJpegDct } from './dicom_jpeg12.js';

function assertFormatError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${e.message}' should mention '${f}'`);
    return true;
  });
}

/** A smooth 8-bit test pattern (JPEG-friendly), row-major [h, w]. */
function pattern8(w: number, h: number): Uint8Array {
  return Uint8Array.from({ length: w * h }, (_, p) => {
    const x = p % w;
    const y = Math.floor(p / w);
    return Math.round(127 + 100 * Math.sin(x / 5) * Math.cos(y / 7) + (x + y) / 4);
  });
}

/**
 * Two small JPEG streams of `pattern8` / `pattern12` (37 × 21), made once with command-line tools since the
 * bundled libjpeg-turbo build cannot encode reliably:
 * - JPEG8: libjpeg-turbo 2.1.5 `cjpeg -grayscale -quality 90 -restart 2B` (baseline, restart every 2 blocks);
 * - JPEG12: DCMTK 3.6.7 `dcmcjpeg +ee +q 90 +sr` (extended, 12-bit); DCMTK `dcmdjpeg` decodes it to JPEG12_FNV.
 */
const JPEG8 = new Uint8Array(
  Buffer.from(
    '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUV' +
      'DA8XGBYUGBIUFRT/wAALCAAVACUBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9' +
      'AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZn' +
      'aGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP0' +
      '9fb3+Pn6/90ABAAC/9oACAEBAAA/APoL4IeIYdL02FXYAhR1ra+LvieDUdKlRGBJU1//0PA/jL4Xm1PVJWRCQWNO+C/hafTdUhZ0IAYd' +
      'q//R+m/hp4ihsvDscbMAcCvmGf4jnwsfK8zZt461/9ItfikfEjCLzd2eOtbtp8Lx4nXzfK3buelf/9Po5vhaPDK+b5W3bz0rOk+JP9ht' +
      '9n8zbjtmv//U8E+OOqz2WpzCNsDce9Z/wZ1i4u9WiWRiRuHev//V+p/gho1veaXCZFydo7VZ+NGi29npUzRqAQp7V//W8V+Jmqz2/iOR' +
      'EYgZPev/2Q==',
    'base64',
  ),
);
const JPEG12 = new Uint8Array(
  Buffer.from(
    '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUV' +
      'DA8XGBYUGBIUFRT/wQALDAAVACUBAREA/8QAGQAAAgMBAAAAAAAAAAAAAAAACwwFCQoN/8QALxAAAAUCBQIEBQUAAAAAAAAAAQIDBAUG' +
      'BwAICQoRCxIMEzFRFBUjQWEWISJiY//aAAgBAQAAPwA/P0hPdH2F0idEu3dtK/qWLiZNnTaDYyTpchDAIIgHoI4Ht+IM82NK7jLLTdmF' +
      'tC5QqFaSZuiJlYGBQRExTe2FL7RJ2B2Zy0O4xirwyFBzKUOSrivBWM0OBe3z+7nnjD7L0GrXItPoN6YVqaIujNMYN9HwrZA6b1UqYgJU' +
      'yh98aVN8juc7FZ+NRWgqzpWpIx8yZxD1Ex0FimABMogIeg/1HCgXuAupJVjtgc2Mrl+hrhuKabxT80eDdN4KQABTdvHHP4xqe2ImrDI7' +
      '8CvaTpOppQ9cEn1UkhIsp5/d3iAffn3wWDuX0XigMruRsc0qNnWrZ0lGfNfiwjgAeezv557cCrt1dvP6k2YuYGctFT1YLUejCOzswRSc' +
      'Cj2gQwl9AEPbEPon9RjrDWny6y915G4LiZVi3KLUFjuxOIeYU4+vP+eF7LrYsxU1ObiK5KENUryLbhVrgATREQAA88fzg1f4UYi1a1ze' +
      'WEJUzxSdIZ+x7iuQ55/kX3EcPyur/l8tm32oT9yhRsek6/Qph84pC88/DevpjnHfiNlaYpLWNvClT025hkS1C64I3/YA+qb2EMU59Mml' +
      'qkmNHy5SsjUjx6qE7G8HU55D6Tr84//Z',
    'base64',
  ),
);
const JPEG12_FNV = '0x3756710b';

/** The 12-bit source image of JPEG12. */
function pattern12(w: number, h: number): Uint16Array {
  return Uint16Array.from({ length: w * h }, (_, p) => {
    const x = p % w;
    const y = Math.floor(p / w);
    return Math.round(2048 + 1400 * Math.sin(x / 4) * Math.cos(y / 6) + 8 * (x + y));
  });
}

async function encodeJ2kLossless(
  values: Int16Array | Uint16Array,
  w: number,
  h: number,
): Promise<Uint8Array> {
  const codec = await (await import('@cornerstonejs/codec-openjpeg/wasmjs')).default({ print: () => {} });
  const enc = new codec.J2KEncoder();
  const info = {
    width: w,
    height: h,
    bitsPerSample: 16,
    componentCount: 1,
    isSigned: values instanceof Int16Array,
    isUsingColorTransform: false,
  };
  enc.getDecodedBuffer(info).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  enc.setQuality(true, 0);
  enc.encode();
  const out = enc.getEncodedBuffer().slice();
  enc.delete();
  return out;
}

// Runs first, while this process has not loaded the WASM codecs yet.
describe('compressed data before initDicomCodecs', () => {
  it('parseDicom refuses 8-bit JPEG and JPEG 2000 with a message saying how to fix it', async () => {
    assert.equal(dicomCodecsReady(), false);
    const file = writeDicom({
      rows: 21,
      columns: 37,
      bitsAllocated: 8,
      transferSyntax: TS.jpegBaseline,
      pixelData: [JPEG8],
    });
    assertFormatError(() => parseDicom(file, 'early.dcm'), 'early.dcm', 'JPEG Baseline', 'initDicomCodecs');
    const j2k = writeDicom({ rows: 2, columns: 2, transferSyntax: TS.j2k, pixelData: [new Uint8Array(8)] });
    assertFormatError(() => parseDicom(j2k, 'early.j2k.dcm'), 'JPEG 2000', 'initDicomCodecs');
    assert.equal(dicomCodecsReady(), false);
  });
});

describe('native pixel formats', () => {
  const values = [0, 1, 2047, -2048, -1, 1000, -1000, 7];

  it('reads the same image from implicit VR, explicit VR, deflated and big-endian files', () => {
    const attrs = { '00281053': '2', '00281052': '-1024', '00280030': '0.5\\0.25', '00080060': 'CT' };
    for (const [ts, le] of [
      [TS.implicitLE, true],
      [TS.explicitLE, true],
      [TS.deflated, true],
      [TS.explicitBE, false],
    ] as const) {
      const file = writeDicom({
        rows: 2,
        columns: 4,
        pixelRepresentation: 1,
        transferSyntax: ts,
        pixelData: words16(values, le),
        attrs,
      });
      const slice = parseDicom(file, ts);
      assert.deepEqual(Array.from(slice.pixels), values, ts);
      assert.deepEqual([slice.rescaleSlope, slice.rescaleIntercept, slice.modality], [2, -1024, 'CT'], ts);
      assert.deepEqual(slice.pixelSpacing, [0.5, 0.25], ts);
    }
  });

  it('masks BitsStored out of 16-bit words and sign-extends it when PixelRepresentation is 1', () => {
    // 12 stored bits with junk (e.g. overlay bits) above bit 11.
    const words = [0xf800, 0x07ff, 0xafff, 0x1001, 0x0000];
    const signed = parseDicom(
      writeDicom({ rows: 1, columns: 5, bitsStored: 12, pixelRepresentation: 1, pixelData: words16(words) }),
      's',
    );
    assert.deepEqual(Array.from(signed.pixels), [-2048, 2047, -1, 1, 0]);
    const unsigned = parseDicom(
      writeDicom({ rows: 1, columns: 5, bitsStored: 12, pixelData: words16(words) }),
      'u',
    );
    assert.deepEqual(Array.from(unsigned.pixels), [2048, 2047, 4095, 1, 0]);
  });

  it('shifts the stored bits down when HighBit sits above BitsStored − 1', () => {
    const file = writeDicom({
      rows: 1,
      columns: 3,
      bitsStored: 12,
      highBit: 15,
      pixelRepresentation: 1,
      pixelData: words16([0xfff0, 0x7ff0, 0x0010]),
    });
    assert.deepEqual(Array.from(parseDicom(file, 'hb').pixels), [-1, 2047, 1]);
  });

  it('reads 8-bit pixels, unsigned and signed', () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 255, 200]);
    const u = parseDicom(writeDicom({ rows: 2, columns: 3, bitsAllocated: 8, pixelData: bytes }), 'u8');
    assert.deepEqual(Array.from(u.pixels), [0, 1, 127, 128, 255, 200]);
    assert.ok(u.pixels instanceof Uint8Array);
    const s = parseDicom(
      writeDicom({ rows: 2, columns: 3, bitsAllocated: 8, pixelRepresentation: 1, pixelData: bytes }),
      's8',
    );
    assert.deepEqual(Array.from(s.pixels), [0, 1, 127, -128, -1, -56]);
    assert.ok(s.pixels instanceof Int8Array);
  });

  it('keeps MONOCHROME1 values as stored and records the photometric interpretation in the volume', () => {
    const file = writeDicom({
      rows: 1,
      columns: 3,
      photometric: 'MONOCHROME1',
      pixelData: words16([0, 100, 4000]),
    });
    const slice = parseDicom(file, 'm1');
    assert.deepEqual(Array.from(slice.pixels), [0, 100, 4000]);
    const vol = dicomSeriesToVolume([slice], 'm1');
    assert.deepEqual(Array.from(vol.data as Int16Array), [0, 100, 4000]);
    assert.equal(vol.source?.header?.['photometricInterpretation'], 'MONOCHROME1');
  });

  it('reads RLE Lossless 8-bit data with literal and replicate runs', () => {
    // PackBits: 3 literals (header 2), then 5 × 9 (header −4 = 252), then 1 literal.
    const segment = new Uint8Array([2, 10, 20, 30, 252, 9, 0, 42]);
    const header = new Uint8Array(64);
    new DataView(header.buffer).setUint32(0, 1, true);
    new DataView(header.buffer).setUint32(4, 64, true);
    const file = writeDicom({
      rows: 3,
      columns: 3,
      bitsAllocated: 8,
      transferSyntax: TS.rle,
      pixelData: [concatBytes([header, segment])],
    });
    assert.deepEqual(Array.from(parseDicom(file, 'rle8').pixels), [10, 20, 30, 9, 9, 9, 9, 9, 42]);
  });

  it('refuses multi-frame, colour, 32-bit and Pixel-Data-less images with a clear message', () => {
    const px = words16([1, 2, 3, 4]);
    assertFormatError(
      () => parseDicom(writeDicom({ rows: 2, columns: 2, pixelData: px, attrs: { '00280008': '2' } }), 'mf'),
      'multi-frame',
      'NumberOfFrames = 2',
    );
    assertFormatError(
      () =>
        parseDicom(
          writeDicom({ rows: 1, columns: 2, samplesPerPixel: 3, photometric: 'RGB', pixelData: px }),
          'rgb',
        ),
      'grayscale',
      'RGB',
    );
    assertFormatError(
      () => parseDicom(writeDicom({ rows: 1, columns: 1, bitsAllocated: 32, pixelData: px }), '32'),
      'BitsAllocated 32',
    );
    assertFormatError(
      () => parseDicom(writeDicom({ rows: 4, columns: 4, pixelData: px }), 'short'),
      'short',
      'truncated',
    );
  });
});

describe('JPEG lossless (jpeg-lossless-decoder-js samples, all seven predictors)', () => {
  const dir = join(REPO_ROOT, 'node_modules', 'jpeg-lossless-decoder-js', 'tests', 'data');

  it('decodes every predictor to the image DCMTK dcmdjpeg gives for selection value 1', () => {
    const first = parseDicom(new Uint8Array(readFileSync(join(dir, 'jpeg_lossless_sel1.dcm'))), 'sel1');
    assert.equal(first.transferSyntaxUID, TS.jpegLossless);
    assert.equal(fnv1a(Int32Array.from(first.pixels)), '0xf8b0de30'); // DCMTK 3.6.7 dcmdjpeg, signed 16-bit
    for (let sel = 2; sel <= 7; sel++) {
      const f = `jpeg_lossless_sel${sel}.dcm`;
      assert.deepEqual(parseDicom(new Uint8Array(readFileSync(join(dir, f))), f).pixels, first.pixels, f);
    }
  });
});

describe('JPEG 2000 and 8-bit JPEG through the WASM codecs', () => {
  it('initDicomCodecs loads once and returns the same promise', async () => {
    const a = initDicomCodecs();
    assert.equal(initDicomCodecs(), a);
    await a;
    assert.equal(dicomCodecsReady(), true);
  });

  it('decodes lossless JPEG 2000 of signed 16-bit and unsigned 12-bit data exactly', async () => {
    const [w, h] = [40, 33]; // OpenJPEG's 5 default decomposition levels need ≥ 32 pixels
    const signed = Int16Array.from({ length: w * h }, (_, p) => ((p * 977) % 4096) - 2048);
    const j2k = await encodeJ2kLossless(signed, w, h);
    const a = await parseDicomAsync(
      writeDicom({
        rows: h,
        columns: w,
        pixelRepresentation: 1,
        transferSyntax: TS.j2kLossless,
        pixelData: [j2k],
      }),
      'j2k-s',
    );
    assert.deepEqual(Array.from(a.pixels), Array.from(signed));
    const unsigned = Uint16Array.from({ length: w * h }, (_, p) => (p * 131) % 4096);
    const j2ku = await encodeJ2kLossless(unsigned, w, h);
    const b = parseDicom(
      writeDicom({ rows: h, columns: w, bitsStored: 12, transferSyntax: TS.j2k, pixelData: [j2ku] }),
      'j2k-u',
    );
    assert.deepEqual(Array.from(b.pixels), Array.from(unsigned));
  });

  it('decodes 8-bit JPEG baseline like the islow decoder does, restart markers included, close to the original', async () => {
    const [w, h] = [37, 21]; // not multiples of 8: exercises edge blocks
    const pixelData = [JPEG8.subarray(0, 100), JPEG8.subarray(100)]; // a frame split over two fragments
    const file = writeDicom({
      rows: h,
      columns: w,
      bitsAllocated: 8,
      transferSyntax: TS.jpegBaseline,
      pixelData,
    });
    const slice = await parseDicomAsync(file, 'jpeg8');
    assert.deepEqual(Array.from(slice.pixels), Array.from(decodeJpegDct(JPEG8).data));
    const original = pattern8(w, h);
    const worst = Math.max(...Array.from(slice.pixels, (v, p) => Math.abs(v - original[p]!)));
    assert.ok(worst > 0 && worst <= 12, `quality-90 JPEG error ${worst} grey levels`);
  });

  it('decodes 12-bit JPEG extended synchronously, as DCMTK does', () => {
    const [w, h] = [37, 21];
    const file = writeDicom({
      rows: h,
      columns: w,
      bitsStored: 12,
      transferSyntax: TS.jpegExtended,
      pixelData: [JPEG12],
    });
    const slice = parseDicom(file, 'jpeg12');
    assert.equal(fnv1a(Int32Array.from(slice.pixels)), JPEG12_FNV);
    const original = pattern12(w, h);
    const worst = Math.max(...Array.from(slice.pixels, (v, p) => Math.abs(v - original[p]!)));
    assert.ok(worst > 0 && worst <= 8, `quality-90 12-bit JPEG error ${worst}`);
  });

  it('reports a corrupt JPEG 2000 codestream as a FormatError naming file and transfer syntax', async () => {
    const unsigned = Uint16Array.from({ length: 32 * 32 }, (_, p) => p * 50);
    const j2k = await encodeJ2kLossless(unsigned, 32, 32);
    const broken = j2k.slice(0, 40);
    const file = writeDicom({ rows: 32, columns: 32, transferSyntax: TS.j2kLossless, pixelData: [broken] });
    assertFormatError(
      () => parseDicom(file, 'broken.j2k.dcm'),
      'broken.j2k.dcm',
      'JPEG 2000 Lossless',
      TS.j2kLossless,
    );
  });
});

describe('Rows × Columns against the pixel data (issue 10)', () => {
  it('refuses native pixel data that holds more than Rows × Columns samples, naming the file', () => {
    const px = words16([1, 2, 3, 4, 5, 6, 7, 8, 9]); // a 3×3 image
    assertFormatError(
      () => parseDicom(writeDicom({ rows: 2, columns: 2, pixelData: px }), 'scrambled.dcm'),
      'scrambled.dcm',
      'pixel data holds 18 bytes',
      '(2 × 2 × 1 × 2) is 8',
      'disagree',
    );
    // The pad byte that makes an odd length even is not a mismatch.
    const odd = writeDicom({ rows: 1, columns: 3, bitsAllocated: 8, pixelData: new Uint8Array([7, 8, 9]) });
    assert.deepEqual(Array.from(parseDicom(odd, 'odd').pixels), [7, 8, 9]);
  });

  it('refuses an RLE segment holding more samples than Rows × Columns', () => {
    const header = new Uint8Array(64);
    new DataView(header.buffer).setUint32(0, 1, true);
    new DataView(header.buffer).setUint32(4, 64, true);
    const segment = new Uint8Array([252, 9, 252, 9]); // 10 samples for a 2×2 image
    const file = writeDicom({
      rows: 2,
      columns: 2,
      bitsAllocated: 8,
      transferSyntax: TS.rle,
      pixelData: [concatBytes([header, segment])],
    });
    assertFormatError(() => parseDicom(file, 'rle.dcm'), 'rle.dcm', 'more than Rows × Columns (4)');
  });

  it('refuses a JPEG lossless codestream whose size is not Columns × Rows', () => {
    const dir = join(REPO_ROOT, 'node_modules', 'jpeg-lossless-decoder-js', 'tests', 'data');
    const sample = new Uint8Array(readFileSync(join(dir, 'jpeg_lossless_sel1.dcm')));
    const { rows, columns } = parseDicom(sample, 'sel1');
    const ds = dicomParser.parseDicom(sample);
    const el = ds.elements['x7fe00010']!;
    const frame = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments!.length);
    const file = writeDicom({
      rows: rows / 2,
      columns: columns * 2,
      pixelRepresentation: 1,
      transferSyntax: TS.jpegLossless,
      pixelData: [frame],
    });
    assertFormatError(
      () => parseDicom(file, 'halved.dcm'),
      'halved.dcm',
      `codestream is ${columns}×${rows}, but Columns×Rows is ${columns * 2}×${rows / 2}`,
    );
  });

  it('refuses a deflated data set that inflates past its declared pixel data, quickly (a bomb)', () => {
    const image = { rows: 1, columns: 10, bitsAllocated: 8, pixelData: new Uint8Array(10) };
    const small = writeDicom({ ...image, transferSyntax: TS.deflated });
    const explicit = writeDicom({ ...image, transferSyntax: TS.explicitLE });
    const metaEnd = (file: Uint8Array) =>
      144 + new DataView(file.buffer, file.byteOffset).getUint32(140, true);
    assert.equal(parseDicom(small, 'small.dcm').pixels.length, 10);
    // The same data set followed by 200 MiB of zeros, deflated as one stream.
    const parts: Uint8Array[] = [small.subarray(0, metaEnd(small))];
    const deflate = new Deflate({ level: 1 }, (chunk) => parts.push(chunk));
    deflate.push(explicit.subarray(metaEnd(explicit)));
    const zeros = new Uint8Array(1 << 20);
    for (let m = 0; m < 200; m++) deflate.push(zeros);
    deflate.push(new Uint8Array(0), true);
    const bomb = concatBytes(parts);
    assert.ok(bomb.length < 2 << 20, `the bomb is ${bomb.length} bytes`);
    const t0 = performance.now();
    assertFormatError(
      () => parseDicom(bomb, 'bomb.dcm'),
      'bomb.dcm',
      'decompresses past the',
      'Rows, Columns, SamplesPerPixel, BitsAllocated and NumberOfFrames declare',
    );
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
    assertFormatError(() => parseDicom(bomb, 'capped.dcm', { maxBytes: 1000 }), 'capped.dcm', 'maxBytes');
  });
});
