// The prompts of a MONAI Label `/infer` request as masam's prompts (infer/prompts.ts, the voxel
// convention of `masam segment --prompts`). Two spellings are taken from `params`:
//  - 3D Slicer's MONAILabel module (plugins/slicer/MONAILabel/MONAILabel.py, interactive "deepgrow"
//    models): "foreground" / "background" as lists of [i, j, k] voxel indices (its RAS→IJK of the placed
//    points) and "roi" as [i_min, i_max, j_min, j_max, k_min, k_max] (its RAS→IJK of the ROI's corners, so
//    a pair may come reversed, and may reach one voxel past the volume by rounding);
//  - masam's own "box3d", "boxes" and "points", exactly as in prompts.json.
// Every other key (client_id, label, slice, reset_state, result_extension …) is not a prompt and is ignored.
import type { VolumePromptsJson } from '../infer/prompts.js';
import { ServeError } from './serve_error.js';

const MASAM_KEYS = ['box3d', 'boxes', 'points'] as const;
const SLICER_KEYS = ['foreground', 'background', 'roi'] as const;

/** Whether `params` holds any non-empty prompt. */
export function hasPrompts(params: Readonly<Record<string, unknown>>): boolean {
  return [...MASAM_KEYS, ...SLICER_KEYS].some((k) => {
    const v = params[k];
    return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
  });
}

function voxelList(v: unknown, key: string): number[][] {
  if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 3 && p.every(Number.isInteger))) {
    throw new ServeError(400, `params.${key} must be a list of [i, j, k] voxel indices`);
  }
  return v as number[][];
}

/**
 * masam prompts from `params`, on a volume of `shape` ([nx, ny, nz, …]); the ranges themselves are checked
 * by promptsForVolume.
 * @throws ServeError 400 for malformed Slicer-style entries
 */
export function promptsFromParams(
  params: Readonly<Record<string, unknown>>,
  shape: readonly number[],
): VolumePromptsJson {
  const out: { box3d?: readonly number[]; boxes?: unknown; points?: unknown[] } = {};
  for (const key of MASAM_KEYS)
    if (params[key] !== undefined) (out as Record<string, unknown>)[key] = params[key];
  const roi = params['roi'];
  if (roi !== undefined && !(Array.isArray(roi) && roi.length === 0)) {
    if (out.box3d !== undefined) throw new ServeError(400, 'params: give "roi" or "box3d", not both');
    if (!Array.isArray(roi) || roi.length !== 6 || !roi.every(Number.isInteger)) {
      throw new ServeError(
        400,
        'params.roi must be [i_min, i_max, j_min, j_max, k_min, k_max] voxel indices',
      );
    }
    const r = roi as number[];
    const axis = (a: number): [number, number] => {
      const n = shape[a]!;
      const lo = Math.max(0, Math.min(r[2 * a]!, r[2 * a + 1]!));
      const hi = Math.min(n - 1, Math.max(r[2 * a]!, r[2 * a + 1]!));
      if (lo > hi)
        throw new ServeError(400, `params.roi lies outside the volume on axis ${'ijk'[a]} (0..${n - 1})`);
      return [lo, hi];
    };
    const [[i1, i2], [j1, j2], [k1, k2]] = [axis(0), axis(1), axis(2)];
    out.box3d = [i1, j1, k1, i2, j2, k2];
  }
  const fg = params['foreground'] === undefined ? [] : voxelList(params['foreground'], 'foreground');
  const bg = params['background'] === undefined ? [] : voxelList(params['background'], 'background');
  if (fg.length + bg.length > 0) {
    const listed = out.points === undefined ? [] : out.points;
    if (!Array.isArray(listed)) throw new ServeError(400, 'params.points must be a list');
    out.points = [
      ...listed,
      ...fg.map((voxel) => ({ voxel, label: 1 })),
      ...bg.map((voxel) => ({ voxel, label: 0 })),
    ];
  }
  return out as VolumePromptsJson;
}
