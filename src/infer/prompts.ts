// User prompts for a box-prompted model (`masam segment --prompts prompts.json`, the viewer's drawn box):
// voxel boxes and points on the input volume, brought onto each slice's model-input plane (masam-spec §11,
// §4.4–4.5). Browser-safe.
//
// prompts.json, in the input's voxel indices (i, j in-plane as stored, k the slice axis; ranges inclusive):
//   { "box3d":  [i1, j1, k1, i2, j2, k2],                 one box over slices k1..k2
//     "boxes":  [{ "slice": k, "box": [i1, j1, i2, j2] }],  per-slice boxes
//     "points": [{ "voxel": [i, j, k], "label": 1 }] }      1 = foreground, 0 = background
// Any of the three may be given; a slice with points but no box gets the whole image as its box (how the
// model was trained for points alone, data/prompts.ts). Slices without any prompt are background.
//
// Mapping. A voxel column i is plane column nx−1−i and row j is plane row ny−1−j (the official
// orientation, data/slices.ts); a box is rasterised through the same nearest-neighbour zoom to S×S that
// training labels went through, and its tight box taken, so a user box equals the box training derived
// from a label of that extent.
import { MasamError } from '../core/errors.js';
import { hostTensor } from '../core/host_tensor.js';
import type { Box, PromptPoint, PromptSpec, SlicePrompt } from '../data/prompts.js';
import { zoomToShape } from '../data/zoom.js';
import type { Volume } from '../io/volume.js';
import type { ModelInfo } from './model_info.js';
import { type InputDims, checkModality } from './stacks.js';

export interface VolumePromptsJson {
  readonly box3d?: readonly number[];
  readonly boxes?: readonly { readonly slice: number; readonly box: readonly number[] }[];
  readonly points?: readonly { readonly voxel: readonly number[]; readonly label: number }[];
}

/** The model-plane extent [first, last + 1) of plane pixels lo..hi (inclusive) of an axis of n pixels. */
function axisExtent(lo: number, hi: number, n: number, size: number): [number, number] {
  if (n === size) return [lo, hi + 1];
  const row = new Uint8Array(n);
  row.fill(1, lo, hi + 1);
  const zoomed = zoomToShape(hostTensor('uint8', [1, n], row), [1, size], { order: 0 }).data;
  const first = zoomed.indexOf(1);
  if (first < 0) {
    // Narrower than one model pixel: the model pixel nearest the centre of the range.
    const o = Math.round((((lo + hi) / 2) * (size - 1)) / Math.max(n - 1, 1));
    return [o, o + 1];
  }
  return [first, zoomed.lastIndexOf(1) + 1];
}

/**
 * Per-slice prompts on the model plane (null = no prompt) for an input of `dims` and a model of input
 * side `size` taking `spec`.
 * @param source names the prompts file in errors
 * @throws MasamError naming `source` for malformed entries, indices outside the volume, more points on a
 *   slice than the model's slots, or points for a boxes-only model
 */
export function volumePrompts(
  json: unknown,
  dims: InputDims,
  size: number,
  spec: PromptSpec,
  source: string,
): (SlicePrompt | null)[] {
  const fail = (what: string): never => {
    throw new MasamError(`${source}: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail('expected an object with "box3d", "boxes" and/or "points"');
  const p = json as VolumePromptsJson;
  const unknown = Object.keys(p).filter((k) => !['box3d', 'boxes', 'points'].includes(k));
  if (unknown.length > 0) fail(`unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const { nx, ny, nz } = dims;
  const index = (v: unknown, n: number, what: string): number => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= n)
      fail(`${what} ${JSON.stringify(v)} is not a voxel index in 0..${n - 1}`);
    return v as number;
  };
  const numbers = (v: unknown, count: number, what: string): readonly unknown[] => {
    if (!Array.isArray(v) || v.length !== count) fail(`${what} must be an array of ${count} voxel indices`);
    return v as unknown[];
  };
  const boxes = new Map<number, Box>();
  const setBox = (k: number, i1: number, j1: number, i2: number, j2: number, what: string): void => {
    if (i1 > i2 || j1 > j2) fail(`${what}: lower corner after upper corner`);
    if (boxes.has(k)) fail(`${what}: slice ${k} already has a box`);
    // Plane columns nx−1−i2 … nx−1−i1, rows ny−1−j2 … ny−1−j1.
    const [x1, x2] = axisExtent(nx - 1 - i2, nx - 1 - i1, nx, size);
    const [y1, y2] = axisExtent(ny - 1 - j2, ny - 1 - j1, ny, size);
    boxes.set(k, [x1, y1, x2, y2]);
  };
  if (p.box3d !== undefined) {
    const b = numbers(p.box3d, 6, '"box3d"');
    const [i1, j1, k1, i2, j2, k2] = [
      index(b[0], nx, 'box3d i1'),
      index(b[1], ny, 'box3d j1'),
      index(b[2], nz, 'box3d k1'),
      index(b[3], nx, 'box3d i2'),
      index(b[4], ny, 'box3d j2'),
      index(b[5], nz, 'box3d k2'),
    ];
    if (k1 > k2) fail('"box3d": k1 after k2');
    for (let k = k1; k <= k2; k++) setBox(k, i1, j1, i2, j2, '"box3d"');
  }
  if (p.boxes !== undefined) {
    if (!Array.isArray(p.boxes)) fail('"boxes" must be an array of { "slice", "box" }');
    p.boxes.forEach((e, n) => {
      const what = `boxes[${n}]`;
      const k = index(e?.slice, nz, `${what}.slice`);
      const b = numbers(e?.box, 4, `${what}.box`);
      setBox(
        k,
        index(b[0], nx, `${what} i1`),
        index(b[1], ny, `${what} j1`),
        index(b[2], nx, `${what} i2`),
        index(b[3], ny, `${what} j2`),
        what,
      );
    });
  }
  const points = new Map<number, PromptPoint[]>();
  if (p.points !== undefined) {
    if (!Array.isArray(p.points)) fail('"points" must be an array of { "voxel", "label" }');
    if (p.points.length > 0 && spec.points === 0)
      fail('the model was trained with boxes only: it takes no points');
    p.points.forEach((e, n) => {
      const what = `points[${n}]`;
      const v = numbers(e?.voxel, 3, `${what}.voxel`);
      const [i, j, k] = [
        index(v[0], nx, `${what} i`),
        index(v[1], ny, `${what} j`),
        index(v[2], nz, `${what} k`),
      ];
      if (e.label !== 0 && e.label !== 1) fail(`${what}.label must be 1 (foreground) or 0 (background)`);
      const [x1, x2] = axisExtent(nx - 1 - i, nx - 1 - i, nx, size);
      const [y1, y2] = axisExtent(ny - 1 - j, ny - 1 - j, ny, size);
      const list = points.get(k) ?? [];
      list.push({ x: Math.floor((x1 + x2 - 1) / 2), y: Math.floor((y1 + y2 - 1) / 2), label: e.label });
      if (list.length > spec.points)
        fail(`slice ${k} has ${list.length} points, but the model takes at most ${spec.points} per slice`);
      points.set(k, list);
    });
  }
  if (boxes.size === 0 && points.size === 0) fail('no prompts: give "box3d", "boxes" or "points"');
  return Array.from({ length: nz }, (_, k) => {
    const box = boxes.get(k);
    const pts = points.get(k) ?? [];
    if (!box && pts.length === 0) return null;
    return { box: box ?? [0, 0, size, size], points: pts };
  });
}

/**
 * volumePrompts for `volume` under an exported model's `info` (what `masam segment --prompts` and the
 * viewer both do): the volume's dims, checked against the model's modality, and the model's point slots.
 * @param promptsSource names the prompts in errors; `volumeSource` names the volume
 */
export function promptsForVolume(
  json: unknown,
  volume: Pick<Volume, 'shape'>,
  info: ModelInfo,
  promptsSource: string,
  volumeSource: string,
): (SlicePrompt | null)[] {
  return volumePrompts(
    json,
    checkModality(volume, info.preprocessing.modality, volumeSource),
    info.imageSize,
    info.prompts ?? { points: 0 },
    promptsSource,
  );
}
