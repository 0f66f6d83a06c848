// Tests for frame sequences: PNG/JPEG decoding, the [W, H, T, 3] layout and its geometry, and PNG masks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FormatError } from '../core/errors.js';
import {
  FRAMES_AFFINE,
  type Frame,
  decodeFrame,
  decodeJpeg,
  decodePng,
  frameRgb,
  framesToVolume,
  labelSlice,
  maskToPng,
} from './frames.js';
import { aff2axcodes, applyAffine } from './geometry.js';
import { parseNifti, serializeNifti } from './nifti.js';

/** A W×H RGBA frame whose pixel (x, y) is (x + 10·t, y + 10·t, 7·t, 255): every value says where it came from. */
function synthetic(w: number, h: number, t: number): Frame {
  const rgba = new Uint8Array(4 * w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rgba.set([x + 10 * t, y + 10 * t, 7 * t, 255], 4 * (x + w * y));
  }
  return { width: w, height: h, rgba, source: `frame${t}` };
}

function pngOf(f: Frame): Uint8Array {
  const png = new PNG({ width: f.width, height: f.height });
  png.data = Buffer.from(f.rgba);
  return new Uint8Array(PNG.sync.write(png));
}

describe('decodeFrame', () => {
  it('decodes a PNG written by pngjs back to the same RGBA pixels', () => {
    const f = synthetic(5, 3, 2);
    const back = decodeFrame(pngOf(f), 'a.png');
    assert.deepEqual([back.width, back.height, back.source], [5, 3, 'a.png']);
    assert.deepEqual(back.rgba, f.rgba);
  });

  it('decodes a JPEG to RGBA within JPEG’s loss', () => {
    const f = synthetic(16, 16, 1);
    const bytes = new Uint8Array(jpeg.encode({ width: 16, height: 16, data: f.rgba }, 95).data);
    const back = decodeJpeg(bytes, 'a.jpg');
    assert.deepEqual([back.width, back.height], [16, 16]);
    let worst = 0;
    for (let i = 0; i < f.rgba.length; i++) worst = Math.max(worst, Math.abs(back.rgba[i]! - f.rgba[i]!));
    assert.ok(worst <= 12, `max error ${worst}`);
    assert.deepEqual(decodeFrame(bytes, 'a.jpg').rgba, back.rgba);
  });

  it('reports damaged or unknown images as FormatError naming the file', () => {
    const png = pngOf(synthetic(4, 4, 0));
    assert.throws(
      () => decodePng(png.subarray(0, 40), 'cut.png'),
      (e: unknown) => e instanceof FormatError && /cut\.png: cannot decode PNG/.test(e.message),
    );
    assert.throws(
      () => decodeJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2]), 'bad.jpg'),
      /bad\.jpg: cannot decode JPEG/,
    );
    assert.throws(() => decodeFrame(new Uint8Array(16), 'x.bin'), /x\.bin: not a PNG or JPEG/);
  });
});

describe('framesToVolume', () => {
  const frames = [0, 1, 2].map((t) => synthetic(4, 3, t));

  it('stacks T frames of W×H into shape [W, H, T, 3] with x fastest, then y, frame, channel', () => {
    const v = framesToVolume(frames);
    assert.deepEqual(v.shape, [4, 3, 3, 3]);
    assert.equal(v.dtype, 'uint8');
    const at = (x: number, y: number, t: number, c: number) => v.data[x + 4 * (y + 3 * (t + 3 * c))];
    for (let t = 0; t < 3; t++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 4; x++) {
          assert.deepEqual([at(x, y, t, 0), at(x, y, t, 1), at(x, y, t, 2)], [x + 10 * t, y + 10 * t, 7 * t]);
        }
      }
    }
  });

  it('places frames like an axial DICOM slice: LPS, 1 mm, row 0 at the top', () => {
    const v = framesToVolume(frames);
    assert.equal(aff2axcodes(v.affine), 'LPS');
    assert.deepEqual(v.spacing, [1, 1, 1, 1]);
    // Column x grows to the patient's left, row y to posterior: viewers draw (0, 0) top-left.
    assert.deepEqual(applyAffine(v.affine, [3, 2, 1]), [-3, -2, 1]);
    assert.deepEqual(v.affine, FRAMES_AFFINE);
  });

  it('makes a [W, H, T] grey volume with Rec. 601 luma', () => {
    const v = framesToVolume(frames, { channels: 'gray' });
    assert.deepEqual(v.shape, [4, 3, 3]);
    const [r, g, b] = [2 + 10, 1 + 10, 7];
    assert.equal(v.data[2 + 4 * (1 + 3 * 1)], Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  });

  it('rejects frames of different sizes, naming the odd one', () => {
    assert.throws(
      () => framesToVolume([frames[0]!, synthetic(5, 3, 1)]),
      /frame1: frame is 5×3, the first frame is 4×3/,
    );
    assert.throws(() => framesToVolume([]), /no frames/);
  });

  it('frameRgb gives back each frame’s interleaved RGB and survives a NIfTI round trip', () => {
    const v = parseNifti(serializeNifti(framesToVolume(frames)), 'frames.nii');
    for (let t = 0; t < 3; t++) {
      const rgb = frameRgb(v, t);
      for (let p = 0; p < 12; p++)
        assert.deepEqual(
          [...rgb.subarray(3 * p, 3 * p + 3)],
          [...frames[t]!.rgba.subarray(4 * p, 4 * p + 3)],
        );
    }
  });
});

describe('maskToPng', () => {
  it('writes an 8-bit grey PNG holding the label values of one frame', () => {
    const labels = Uint8Array.from({ length: 4 * 3 * 2 }, (_, i) => i % 5);
    const mask = {
      data: labels,
      dtype: 'uint8' as const,
      shape: [4, 3, 2],
      spacing: [1, 1, 1],
      affine: FRAMES_AFFINE,
    };
    const png = maskToPng(labelSlice(mask, 1));
    const meta = PNG.sync.read(Buffer.from(png));
    assert.deepEqual([meta.width, meta.height, meta.colorType, meta.depth], [4, 3, 0, 8]);
    const back = decodePng(png, 'mask.png');
    for (let p = 0; p < 12; p++) assert.equal(back.rgba[4 * p], labels[12 + p]);
  });

  it('rejects values that are not labels 0..255', () => {
    assert.throws(() => maskToPng({ width: 2, height: 1, data: [0, 256] }), /value 256 at \(1, 0\)/);
    assert.throws(() => maskToPng({ width: 2, height: 1, data: [0.5, 1] }), /value 0\.5/);
    assert.throws(() => maskToPng({ width: 2, height: 2, data: [0, 1] }), /2 values do not fill 2×2/);
  });
});
