// Surface metrics on host label volumes: MedPy borders, an exact anisotropic Euclidean distance transform,
// directed surface distances, HD, HD95, ASSD and NSD. Follows masam-spec §10.4 (MedPy 0.4.0 `hd95`) and
// the definitions in shared/fixtures/metrics/cases.json.
import { MasamError } from '../core/errors.js';
import { type Grid, type LabelVolume, gridOf, pairGrid } from './label_volume.js';

/** Which voxels of a label volume form the mask. */
export interface MaskOptions {
  /** Foreground is `value == label`; when omitted, foreground is `value != 0`. */
  readonly label?: number;
}

/** Internal 3D view: rank-1/2 grids padded with size-1 axes (which never erode, see borderOf). */
interface Box {
  readonly n: readonly [number, number, number];
  readonly s: readonly [number, number, number];
  readonly rank: number;
}

function boxOf(g: Grid): Box {
  const n: [number, number, number] = [1, 1, 1];
  const s: [number, number, number] = [1, 1, 1];
  g.shape.forEach((d, a) => {
    n[a] = d;
    s[a] = g.spacing[a]!;
  });
  return { n, s, rank: g.shape.length };
}

/**
 * Border voxels of the mask, as MedPy computes them: `M AND NOT erode(M)`, the erosion using the
 * face-connectivity cross (6 neighbours in 3D, 4 in 2D; scipy `generate_binary_structure(rank, 1)`),
 * one iteration, voxels outside the grid counting as background. Returns 0/1 per voxel on the same grid.
 */
export function border(mask: LabelVolume, options: MaskOptions = {}): Uint8Array {
  const g = gridOf('border', mask);
  const box = boxOf(g);
  return borderOf(foreground(mask.data, options.label), box);
}

function foreground(data: LabelVolume['data'], label: number | undefined): Uint8Array {
  const out = new Uint8Array(data.length);
  if (label === undefined) for (let p = 0; p < data.length; p++) out[p] = data[p] !== 0 ? 1 : 0;
  else for (let p = 0; p < data.length; p++) out[p] = data[p] === label ? 1 : 0;
  return out;
}

function borderOf(fg: Uint8Array, box: Box): Uint8Array {
  const [n0, n1, n2] = box.n;
  const st1 = n0;
  const st2 = n0 * n1;
  // A padded axis (beyond the rank) is not an axis of the structuring element, so it never erodes.
  const e1 = box.rank >= 2;
  const e2 = box.rank >= 3;
  const out = new Uint8Array(fg.length);
  for (let k = 0, p = 0; k < n2; k++) {
    for (let j = 0; j < n1; j++) {
      for (let i = 0; i < n0; i++, p++) {
        if (fg[p] === 0) continue;
        const interior =
          i > 0 &&
          i < n0 - 1 &&
          fg[p - 1] !== 0 &&
          fg[p + 1] !== 0 &&
          (!e1 || (j > 0 && j < n1 - 1 && fg[p - st1] !== 0 && fg[p + st1] !== 0)) &&
          (!e2 || (k > 0 && k < n2 - 1 && fg[p - st2] !== 0 && fg[p + st2] !== 0));
        if (!interior) out[p] = 1;
      }
    }
  }
  return out;
}

/**
 * Exact Euclidean distance transform with anisotropic spacing: for every voxel, the distance in mm to
 * the nearest voxel where `sites` is non-zero (+∞ when there is none). This is scipy's
 * `distance_transform_edt(sites == 0, sampling=spacing)`, computed by separable passes: a two-sided
 * scan along i, then the lower envelope of parabolas along j and k (Felzenszwalb & Huttenlocher 2012),
 * O(n) per axis. Values are squared distances when `squared` is true.
 */
export function distanceTransform(
  sites: LabelVolume,
  options: { readonly squared?: boolean } = {},
): Float64Array {
  const box = boxOf(gridOf('distanceTransform', sites));
  const s = sites.data;
  const mask = s instanceof Uint8Array ? s : foreground(s, undefined);
  const out = new Float64Array(mask.length);
  edtSquared(mask, box, out);
  if (!options.squared) for (let p = 0; p < out.length; p++) out[p] = Math.sqrt(out[p]!);
  return out;
}

/** Squared EDT (mm²) of the non-zero voxels of `sites` into `out`. */
function edtSquared(sites: Uint8Array, box: Box, out: Float64Array): void {
  const [n0, n1, n2] = box.n;
  const [s0, s1, s2] = box.s;
  // Axis i: the input is binary, so the nearest site along the row comes from two scans.
  for (let base = 0; base < out.length; base += n0) {
    let last = -Infinity;
    for (let i = 0; i < n0; i++) {
      if (sites[base + i] !== 0) last = i;
      out[base + i] = i - last;
    }
    last = Infinity;
    for (let i = n0 - 1; i >= 0; i--) {
      if (sites[base + i] !== 0) last = i;
      const d = Math.min(out[base + i]!, last - i) * s0;
      out[base + i] = d * d;
    }
  }
  const m = Math.max(n1, n2);
  const f = new Float64Array(m);
  const v = new Int32Array(m);
  const z = new Float64Array(m + 1);
  // Axis j: lines at fixed (i, k), stride n0.
  if (n1 > 1) {
    for (let k = 0; k < n2; k++) {
      for (let i = 0; i < n0; i++) envelope(out, i + n0 * n1 * k, n0, n1, s1, f, v, z);
    }
  }
  // Axis k: lines at fixed (i, j), stride n0·n1; neighbouring i share cache lines.
  if (n2 > 1) {
    for (let q = 0; q < n0 * n1; q++) envelope(out, q, n0 * n1, n2, s2, f, v, z);
  }
}

/**
 * One line of the squared EDT: d[q] ← min over r of ((q − r)·h)² + d[r], by the lower envelope of the
 * parabolas rooted at the finite d[r]. Infinite entries are no sites, so they are skipped rather than
 * fed to the intersection formula (∞ − ∞ would give NaN).
 */
function envelope(
  d: Float64Array,
  base: number,
  stride: number,
  n: number,
  h: number,
  f: Float64Array,
  v: Int32Array,
  z: Float64Array,
): void {
  let any = false;
  for (let q = 0, p = base; q < n; q++, p += stride) {
    const x = d[p]!;
    f[q] = x;
    if (x !== Infinity) any = true;
  }
  if (!any) return;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    const xq = q * h;
    let sx: number;
    for (;;) {
      // Abscissa (mm) where the parabola of q overtakes the one of v[k]; z[0] = −∞ stops the loop.
      const r = v[k]!;
      const xr = r * h;
      sx = (fq + xq * xq - (f[r]! + xr * xr)) / (2 * (xq - xr));
      if (sx > z[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = sx;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0, p = base; q < n; q++, p += stride) {
    const xq = q * h;
    while (z[k + 1]! < xq) k++;
    const r = v[k]!;
    // (q − r)·h rather than q·h − r·h: the integer offset SciPy scales, one rounding fewer.
    const dx = (q - r) * h;
    d[p] = dx * dx + f[r]!;
  }
}

/**
 * Directed surface distances in both directions (mm). `predToGt[m]` is, for the m-th border voxel of
 * pred in ascending voxel index, the distance to the nearest border voxel of gt (MedPy
 * `__surface_distances`); `gtToPred` the same the other way round. An empty mask has no border voxels,
 * so its own array is empty and the other one is all +∞ (no border to reach).
 */
export interface SurfaceDistances {
  readonly predToGt: Float64Array;
  readonly gtToPred: Float64Array;
}

/**
 * Border-to-border distances between `pred` and `gt` (same grid; spacing in mm from either volume).
 * Work is limited to the bounding box of both foregrounds: every border voxel and every site lies in
 * it, and outside it is background either way, so the result equals the full-grid computation.
 */
export function surfaceDistances(
  pred: LabelVolume,
  gt: LabelVolume,
  options: MaskOptions = {},
): SurfaceDistances {
  const box = boxOf(pairGrid('surfaceDistances', pred, gt));
  const lab = options.label;
  const bounds = unionBounds(pred.data, gt.data, box, lab);
  if (bounds === null) return { predToGt: new Float64Array(0), gtToPred: new Float64Array(0) };
  const crop = cropBox(box, bounds);
  const bp = borderOf(cropMask(pred.data, box, bounds, lab), crop);
  const bg = borderOf(cropMask(gt.data, box, bounds, lab), crop);
  const d2 = new Float64Array(bp.length);
  edtSquared(bg, crop, d2);
  const predToGt = sample(d2, bp);
  edtSquared(bp, crop, d2);
  const gtToPred = sample(d2, bg);
  return { predToGt, gtToPred };
}

/**
 * Distances (mm) from each border voxel of `from` to the nearest border voxel of `to`, in ascending
 * voxel index: MedPy's directed `__surface_distances(from, to)`, except that an empty `to` gives +∞
 * instead of an error.
 */
export function directedSurfaceDistances(
  from: LabelVolume,
  to: LabelVolume,
  options: MaskOptions = {},
): Float64Array {
  return surfaceDistances(from, to, options).predToGt;
}

type Bounds = { lo: [number, number, number]; hi: [number, number, number] };

/** Inclusive bounding box of the union of both foregrounds, or null when both are empty. */
function unionBounds(a: LabelVolume['data'], b: LabelVolume['data'], box: Box, lab?: number): Bounds | null {
  const [n0, n1, n2] = box.n;
  const lo: [number, number, number] = [n0, n1, n2];
  const hi: [number, number, number] = [-1, -1, -1];
  const any = lab === undefined;
  const L = lab ?? 0;
  for (let k = 0, p = 0; k < n2; k++) {
    for (let j = 0; j < n1; j++) {
      for (let i = 0; i < n0; i++, p++) {
        const on = any ? a[p] !== 0 || b[p] !== 0 : a[p] === L || b[p] === L;
        if (!on) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        hi[2] = k;
      }
    }
  }
  return hi[0] < 0 ? null : { lo, hi };
}

function cropBox(box: Box, b: Bounds): Box {
  const n: [number, number, number] = [b.hi[0] - b.lo[0] + 1, b.hi[1] - b.lo[1] + 1, b.hi[2] - b.lo[2] + 1];
  return { n, s: box.s, rank: box.rank };
}

/** The 0/1 foreground of `data` inside the bounds, as a dense crop (i fastest). */
function cropMask(data: LabelVolume['data'], box: Box, b: Bounds, lab?: number): Uint8Array {
  const [n0, n1] = box.n;
  const w = b.hi[0] - b.lo[0] + 1;
  const out = new Uint8Array(w * (b.hi[1] - b.lo[1] + 1) * (b.hi[2] - b.lo[2] + 1));
  const any = lab === undefined;
  const L = lab ?? 0;
  let o = 0;
  for (let k = b.lo[2]; k <= b.hi[2]; k++) {
    for (let j = b.lo[1]; j <= b.hi[1]; j++) {
      const row = b.lo[0] + n0 * (j + n1 * k);
      for (let i = 0; i < w; i++, o++) {
        const x = data[row + i];
        out[o] = (any ? x !== 0 : x === L) ? 1 : 0;
      }
    }
  }
  return out;
}

/** sqrt(d2) at the voxels where `at` is set, in ascending index. */
function sample(d2: Float64Array, at: Uint8Array): Float64Array {
  let count = 0;
  for (let p = 0; p < at.length; p++) count += at[p]!;
  const out = new Float64Array(count);
  for (let p = 0, m = 0; p < at.length; p++) if (at[p] !== 0) out[m++] = Math.sqrt(d2[p]!);
  return out;
}

function concat(d: SurfaceDistances): Float64Array | null {
  // Either mask empty: HD-type metrics are undefined (MedPy raises), reported as NaN.
  if (d.predToGt.length === 0 || d.gtToPred.length === 0) return null;
  const all = new Float64Array(d.predToGt.length + d.gtToPred.length);
  all.set(d.predToGt);
  all.set(d.gtToPred, d.predToGt.length);
  return all;
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) with NumPy's default 'linear' method, including its index and
 * interpolation arithmetic, so results match `np.percentile` to the last bit. NaN for no values.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new MasamError(`percentile: p = ${p} is outside [0, 100]`);
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  // numpy 'linear': virtual index (n − 1)·q, neighbours clamped to the last element.
  const virt = (n - 1) * (p / 100);
  const below = Math.min(Math.floor(virt), n - 1);
  const above = Math.min(below + 1, n - 1);
  const t = virt - below;
  const a = sorted[below]!;
  const b = sorted[above]!;
  const diff = b - a;
  // numpy _lerp: from the nearer end, for monotonicity.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Hausdorff distance (mm): the maximum of both directed surface distances.
 * NaN when either mask is empty (undefined; MedPy raises).
 */
export function hausdorff(d: SurfaceDistances): number {
  const all = concat(d);
  if (all === null) return Number.NaN;
  let max = 0;
  for (let m = 0; m < all.length; m++) if (all[m]! > max) max = all[m]!;
  return max;
}

/**
 * HD95 (mm), MedPy 0.4.0 `hd95` (masam-spec §10.4): the 95th percentile (NumPy 'linear') of the
 * concatenation `[predToGt, gtToPred]` of directed border distances.
 * NaN when either mask is empty (undefined; MedPy raises).
 */
export function hd95(d: SurfaceDistances): number {
  const all = concat(d);
  return all === null ? Number.NaN : percentile(all, 95);
}

/**
 * Average symmetric surface distance (mm): the mean of the concatenation `[predToGt, gtToPred]`, as
 * cases.json defines it. (MedPy's `assd` averages the two directed means instead, which differs when
 * the borders differ in size.) NaN when either mask is empty.
 */
export function assd(d: SurfaceDistances): number {
  const all = concat(d);
  if (all === null) return Number.NaN;
  let sum = 0;
  for (let m = 0; m < all.length; m++) sum += all[m]!;
  return sum / all.length;
}

/**
 * Normalised surface distance (surface Dice) at `toleranceMm`, on border voxels (cases.json's
 * definition, not the surface-element-area variant of DeepMind's library):
 * `(#{predToGt ≤ τ} + #{gtToPred ≤ τ}) / (|border pred| + |border gt|)`.
 *
 * Empty masks, by the same convention as official Dice (masam-spec §10.3): both empty → 1; exactly one
 * empty → 0 (no border voxel has the other border within reach). Never NaN.
 */
export function nsd(d: SurfaceDistances, toleranceMm: number): number {
  const total = d.predToGt.length + d.gtToPred.length;
  if (total === 0) return 1;
  let within = 0;
  for (const arr of [d.predToGt, d.gtToPred]) {
    for (let m = 0; m < arr.length; m++) if (arr[m]! <= toleranceMm) within++;
  }
  return within / total;
}
