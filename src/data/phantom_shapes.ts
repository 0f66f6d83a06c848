// Shape primitives for the synthetic phantoms: ellipsoid-like blobs whose outline wobbles and drifts
// smoothly from slice to slice, capsules (instrument parts) and smooth random fields for texture and bias.
// Coordinates are normalised: u, v ∈ (−1, 1) across the plane, w ∈ [0, 1] along the slices.
import type { Rng } from '../core/rng.js';
import type { Affine, Volume } from '../io/volume.js';

/** A synthetic case: image, label map and the label names it uses. */
export interface Phantom {
  readonly image: Volume;
  readonly label: Volume<'uint8'>;
  /** Label name → value, background 0 included (nnU-Net v2 form). */
  readonly labels: Readonly<Record<string, number>>;
}

export interface PhantomOptions {
  /** Voxels [nx, ny, nz] (nz = frames for video). Defaults per modality. */
  readonly size?: readonly [number, number, number];
}

/** A scanner-like affine: voxel size `spacing`, i → patient left and j → posterior (LPS-stored, as
 * DICOM-converted NIfTI usually is), centred on the world origin. */
export function phantomAffine(shape: readonly number[], spacing: readonly number[]): Affine {
  const [nx, ny, nz] = shape as [number, number, number];
  const [sx, sy, sz] = spacing as [number, number, number];
  return [
    [-sx, 0, 0, (sx * (nx - 1)) / 2],
    [0, -sy, 0, (sy * (ny - 1)) / 2],
    [0, 0, sz, (-sz * (nz - 1)) / 2],
    [0, 0, 0, 1],
  ];
}

/** A blob's geometry at w = its mid-height; everything else derives from `t` ∈ [−1, 1] along its extent. */
export interface BlobSpec {
  /** Centre and radii in normalised plane units. */
  readonly cu: number;
  readonly cv: number;
  readonly ru: number;
  readonly rv: number;
  /** Extent along the slice axis, w ∈ [w0, w1]. */
  readonly w0: number;
  readonly w1: number;
  /** In-plane rotation (radians); default 0. */
  readonly angle?: number;
  /** 'ellipsoid' shrinks to the ends of the extent; 'tube' keeps its cross-section. Default 'ellipsoid'. */
  readonly profile?: 'ellipsoid' | 'tube';
}

/** A blob with its random variations drawn: jittered centre and size, outline harmonics, drift. */
export interface Blob extends Required<BlobSpec> {
  /** Amplitudes and phases of the 2nd and 3rd outline harmonics. */
  readonly a2: number;
  readonly a3: number;
  readonly p2: number;
  readonly p3: number;
  /** Centre shift (du, dv) from t = −1 to t = 1, and how fast the outline twists. */
  readonly du: number;
  readonly dv: number;
  readonly twist: number;
  /** cos and sin of `angle`, computed once. */
  readonly cosA: number;
  readonly sinA: number;
}

/** Draws a case-specific blob around `spec`; `jitter` scales the centre noise (normalised units). */
export function makeBlob(rng: Rng, spec: BlobSpec, jitter = 0.02): Blob {
  const size = rng.range(0.9, 1.1);
  const angle = spec.angle ?? 0;
  return {
    profile: 'ellipsoid',
    ...spec,
    angle,
    cosA: Math.cos(angle),
    sinA: Math.sin(angle),
    cu: spec.cu + jitter * rng.normal(),
    cv: spec.cv + jitter * rng.normal(),
    ru: spec.ru * size * rng.range(0.95, 1.05),
    rv: spec.rv * size * rng.range(0.95, 1.05),
    a2: rng.range(0.02, 0.07),
    a3: rng.range(0.01, 0.05),
    p2: rng.range(0, 2 * Math.PI),
    p3: rng.range(0, 2 * Math.PI),
    du: 0.25 * spec.ru * rng.range(-1, 1),
    dv: 0.25 * spec.rv * rng.range(-1, 1),
    twist: rng.range(-1, 1),
  };
}

/** Cross-section of a blob at slice position w: centre, radii scale; null outside its extent. */
export interface Section {
  readonly cu: number;
  readonly cv: number;
  readonly scale: number;
  readonly t: number;
}

export function blobSection(b: Blob, w: number): Section | null {
  if (w < b.w0 || w > b.w1) return null;
  const half = (b.w1 - b.w0) / 2;
  const t = half > 0 ? (w - (b.w0 + half)) / half : 0;
  // An ellipsoid's radius scale is √(1 − t²); keep a floor so thin end slices still show the organ.
  const scale = b.profile === 'tube' ? 1 : Math.max(Math.sqrt(Math.max(1 - t * t, 0)), 0.35);
  return { cu: b.cu + (b.du * t) / 2, cv: b.cv + (b.dv * t) / 2, scale, t };
}

/**
 * Normalised radius of (u, v) in blob `b` at section `s`: ≤ 1 inside, 1 on the outline (which wobbles
 * with twisting 2nd and 3rd harmonics), growing outwards. Cheap rejection returns Infinity far outside.
 */
export function blobRadius(b: Blob, s: Section, u: number, v: number): number {
  const x = ((u - s.cu) * b.cosA + (v - s.cv) * b.sinA) / (b.ru * s.scale);
  const y = (-(u - s.cu) * b.sinA + (v - s.cv) * b.cosA) / (b.rv * s.scale);
  const r2 = x * x + y * y;
  const limit = 1 + b.a2 + b.a3;
  if (r2 > 4 * limit * limit) return Number.POSITIVE_INFINITY;
  const theta = Math.atan2(y, x);
  const edge =
    1 + b.a2 * Math.sin(2 * theta + b.p2 + b.twist * s.t) + b.a3 * Math.cos(3 * theta + b.p3 - b.twist * s.t);
  return Math.sqrt(r2) / edge;
}

/** Whether (u, v) lies inside blob `b` at section `s`. */
export function insideBlob(b: Blob, s: Section, u: number, v: number): boolean {
  return blobRadius(b, s, u, v) <= 1;
}

/** Bounding box [iMin, iMax] × [jMin, jMax] of a section on an nx × ny grid (inclusive, clamped). */
export function sectionBox(b: Blob, s: Section, nx: number, ny: number): [number, number, number, number] {
  const reach = Math.max(b.ru, b.rv) * s.scale * (1 + b.a2 + b.a3);
  const toI = (u: number, n: number) => ((u + 1) / 2) * n - 0.5;
  const i0 = Math.max(0, Math.floor(toI(s.cu - reach, nx)));
  const i1 = Math.min(nx - 1, Math.ceil(toI(s.cu + reach, nx)));
  const j0 = Math.max(0, Math.floor(toI(s.cv - reach, ny)));
  const j1 = Math.min(ny - 1, Math.ceil(toI(s.cv + reach, ny)));
  return [i0, i1, j0, j1];
}

/** Normalised coordinate of voxel index i on an axis of n voxels (pixel centres). */
export function unit(i: number, n: number): number {
  return ((i + 0.5) / n) * 2 - 1;
}

/** A smooth random field: a few random plane waves, values roughly in [−1, 1]. */
export interface SmoothField {
  /** The field at one point. */
  at(u: number, v: number, w: number): number;
  /** The field on the grid us × vs at slice position w, u fastest; cos(a + b) is split into per-column
   * and per-row factors, so a plane costs multiply-adds only. */
  grid(us: Float64Array, vs: Float64Array, w: number): Float64Array;
}

export function smoothField(rng: Rng, waves = 6, maxFrequency = 3): SmoothField {
  const ks = Array.from({ length: waves }, () => ({
    ku: rng.range(-maxFrequency, maxFrequency) * Math.PI,
    kv: rng.range(-maxFrequency, maxFrequency) * Math.PI,
    kw: rng.range(-1, 1) * Math.PI,
    phase: rng.range(0, 2 * Math.PI),
  }));
  const norm = Math.sqrt(2 / waves);
  return {
    at: (u, v, w) => {
      let s = 0;
      for (const k of ks) s += Math.cos(k.ku * u + k.kv * v + k.kw * w + k.phase);
      return s * norm;
    },
    grid: (us, vs, w) => {
      const nx = us.length;
      const out = new Float64Array(nx * vs.length);
      for (const k of ks) {
        const cu = us.map((u) => Math.cos(k.ku * u));
        const su = us.map((u) => Math.sin(k.ku * u));
        for (let j = 0; j < vs.length; j++) {
          const b = k.kv * vs[j]! + k.kw * w + k.phase;
          const cb = Math.cos(b) * norm;
          const sb = Math.sin(b) * norm;
          for (let i = 0; i < nx; i++) out[i + nx * j]! += cu[i]! * cb - su[i]! * sb;
        }
      }
      return out;
    },
  };
}

/** Pixel-centre coordinates unit(0..n−1, n), optionally shifted. */
export function unitAxis(n: number, shift = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => unit(i, n) + shift);
}

/** Distance from (x, y) to the segment from (x0, y0) to (x1, y1). */
export function segmentDistance(
  x: number,
  y: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(Math.max(((x - x0) * dx + (y - y0) * dy) / len2, 0), 1) : 0;
  const ex = x - (x0 + t * dx);
  const ey = y - (y0 + t * dy);
  return Math.sqrt(ex * ex + ey * ey);
}
