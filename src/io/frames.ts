// Frame sequences (surgical video) ↔ Volume: PNG (pngjs) and JPEG (jpeg-js) frames in, 8-bit PNG masks out.
//
// Layout: a sequence of T frames of W×H pixels becomes a Volume of shape [W, H, T, 3] (RGB) or [W, H, T]
// (grey), i fastest as every Volume: element (x, y, t, c) sits at x + W·(y + H·(t + T·c)), x the column
// and y the row counted from the top. This is the C-order [3, T, H, W] array (channel planes of frame
// stacks), so frame t of channel c is one contiguous W·H plane, and frames play the role of slices (D in
// MA-SAM), as the frame axis k. The affine is diag(−1, −1, 1) (orientation 'LPS'), the geometry of an
// axial DICOM slice: viewers then show frame t upright, row 0 at the top and column 0 on the left, just
// as the frame itself. Masks use the same [W, H, T] layout, so label k of a mask is frame k of its video.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FormatError, MasamError } from '../core/errors.js';
import type { Affine, Volume } from './volume.js';

/** One decoded frame: RGBA bytes, row-major, top row first (4·width·height values). */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
  /** Where it came from (file name), for error messages. */
  readonly source: string;
}

/** Affine of frame volumes: one mm per pixel and per frame, oriented like an axial DICOM slice (LPS). */
export const FRAMES_AFFINE: Affine = [
  [-1, 0, 0, 0],
  [0, -1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` start with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** JPEG files start with an SOI marker followed by another marker (FF D8 FF). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Decodes a PNG (any colour type and bit depth; 16-bit is rescaled to 8-bit, grey and palette expanded to
 * RGBA by pngjs). Uses Node's Buffer and zlib through pngjs.
 */
export function decodePng(bytes: Uint8Array, source: string): Frame {
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data), source };
  } catch (err) {
    throw new FormatError(source, `cannot decode PNG: ${(err as Error).message ?? String(err)}`);
  }
}

/** Decodes a baseline or progressive JPEG (jpeg-js; CMYK/YCCK converted to RGB) to RGBA. */
export function decodeJpeg(bytes: Uint8Array, source: string): Frame {
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgba: img.data, source };
  } catch (err) {
    // jpeg-js throws strings as well as Errors.
    throw new FormatError(source, `cannot decode JPEG: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Decodes PNG or JPEG bytes, told apart by their signatures. */
export function decodeFrame(bytes: Uint8Array, source: string): Frame {
  if (isPng(bytes)) return decodePng(bytes, source);
  if (isJpeg(bytes)) return decodeJpeg(bytes, source);
  throw new FormatError(source, 'not a PNG or JPEG image (unknown signature)');
}

/** Options of framesToVolume. */
export interface FramesToVolumeOptions {
  /** 'rgb' (default): shape [W, H, T, 3]; 'gray': shape [W, H, T] of Rec. 601 luma, rounded. */
  readonly channels?: 'rgb' | 'gray';
}

/**
 * Stacks frames (in the given order) into a uint8 Volume, layout as in this file's header; alpha is dropped.
 * @throws FormatError naming the first frame whose size differs from the first frame's.
 */
export function framesToVolume(
  frames: readonly Frame[],
  options: FramesToVolumeOptions = {},
): Volume<'uint8'> {
  if (frames.length === 0) throw new MasamError('framesToVolume: no frames');
  const { width: w, height: h } = frames[0]!;
  const odd = frames.find((f) => f.width !== w || f.height !== h);
  if (odd !== undefined) {
    throw new FormatError(odd.source, `frame is ${odd.width}×${odd.height}, the first frame is ${w}×${h}`);
  }
  const t = frames.length;
  const plane = w * h;
  const gray = options.channels === 'gray';
  const data = new Uint8Array(plane * t * (gray ? 1 : 3));
  frames.forEach((f, k) => {
    const px = f.rgba;
    if (gray) {
      for (let p = 0; p < plane; p++) {
        // ITU-R BT.601 luma, the weights of PIL's convert('L') and OpenCV's RGB2GRAY.
        data[k * plane + p] = Math.round(
          0.299 * px[4 * p]! + 0.587 * px[4 * p + 1]! + 0.114 * px[4 * p + 2]!,
        );
      }
    } else {
      for (let c = 0; c < 3; c++) {
        const base = (c * t + k) * plane; // channel c's stack, frame k
        for (let p = 0; p < plane; p++) data[base + p] = px[4 * p + c]!;
      }
    }
  });
  return {
    data,
    dtype: 'uint8',
    shape: gray ? [w, h, t] : [w, h, t, 3],
    spacing: gray ? [1, 1, 1] : [1, 1, 1, 1],
    affine: FRAMES_AFFINE,
    source: {
      format: 'frames',
      header: { names: frames.map((f) => f.source), channels: gray ? 'gray' : 'rgb' },
    },
  };
}

/** One 2D label image: `data[x + width·y]`, row 0 at the top. */
export interface LabelSlice {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

/** Frame `t` of a [W, H, T] (or [W, H, T, 1]) label volume as a LabelSlice (a view, no copy). */
export function labelSlice(volume: Volume, t: number): LabelSlice {
  const [w = 1, h = 1, n = 1, c = 1] = volume.shape;
  if (volume.shape.length > 4 || c !== 1) {
    throw new MasamError(`labelSlice: a label volume has shape [W, H, T], got [${volume.shape.join(', ')}]`);
  }
  if (!(Number.isInteger(t) && t >= 0 && t < n))
    throw new MasamError(`labelSlice: frame ${t} is outside 0..${n - 1}`);
  if (volume.data instanceof BigInt64Array) {
    return {
      width: w,
      height: h,
      data: Array.from(volume.data.subarray(t * w * h, (t + 1) * w * h), Number),
    };
  }
  return { width: w, height: h, data: volume.data.subarray(t * w * h, (t + 1) * w * h) };
}

/**
 * Encodes a label slice as an 8-bit greyscale PNG holding the label values themselves (0, 1, 2, …), the
 * usual mask format of surgical video datasets.
 * @throws MasamError when a value is not an integer in 0..255.
 */
export function maskToPng(mask: LabelSlice): Uint8Array {
  const { width, height, data } = mask;
  if (data.length !== width * height) {
    throw new MasamError(`maskToPng: ${data.length} values do not fill ${width}×${height}`);
  }
  const gray = Buffer.alloc(width * height);
  for (let p = 0; p < gray.length; p++) {
    const v = data[p]!;
    if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
      throw new MasamError(
        `maskToPng: value ${v} at (${p % width}, ${Math.floor(p / width)}) is not a label in 0..255`,
      );
    }
    gray[p] = v;
  }
  const png = new PNG({ width: 1, height: 1 }); // sized below; avoids allocating a full RGBA buffer
  png.width = width;
  png.height = height;
  png.data = gray;
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8 }));
}

/**
 * Frame `t` of a uint8 frame volume ([W, H, T, 3] RGB or [W, H, T] grey) as interleaved RGB bytes,
 * row-major (3·W·H values): the inverse of framesToVolume, e.g. to feed a video encoder.
 */
export function frameRgb(volume: Volume, t: number): Uint8Array {
  const [w = 1, h = 1, n = 1, c = 1] = volume.shape;
  if (!(volume.data instanceof Uint8Array) || volume.shape.length > 4 || (c !== 1 && c !== 3)) {
    throw new MasamError(
      `frameRgb: expects a uint8 volume [W, H, T] or [W, H, T, 3], got ${volume.dtype} [${volume.shape.join(', ')}]`,
    );
  }
  if (!(Number.isInteger(t) && t >= 0 && t < n))
    throw new MasamError(`frameRgb: frame ${t} is outside 0..${n - 1}`);
  const plane = w * h;
  const out = new Uint8Array(3 * plane);
  for (let ch = 0; ch < 3; ch++) {
    const base = ((c === 3 ? ch : 0) * n + t) * plane;
    for (let p = 0; p < plane; p++) out[3 * p + ch] = volume.data[base + p]!;
  }
  return out;
}
