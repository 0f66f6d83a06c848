// Synthetic T2-weighted prostate MRI with MSD Task05 zone labels (PZ 1, TZ 2; masam-spec.md 8.3): pelvis
// with fat, muscles, femoral heads, bladder and rectum, a prostate whose bright peripheral zone wraps a
// darker transition zone, a smooth bias field and Rician-like noise. Deterministic from an Rng.
import type { Rng } from '../core/rng.js';
import { PROSTATE_LABELS } from './labels.js';
import {
  type Blob,
  blobRadius,
  blobSection,
  makeBlob,
  type Phantom,
  type PhantomOptions,
  phantomAffine,
  sectionBox,
  smoothField,
  unit,
  unitAxis,
} from './phantom_shapes.js';

// T2-like signal levels (arbitrary units, as scanners store them in int16).
const FAT = 700;
const MUSCLE = 180;
const MARROW = 480;
const CORTEX = 60;
const URINE = 1100;
const RECTAL_WALL = 220;
const GAS = 20;
const PZ_SIGNAL = 760;
const TZ_SIGNAL = 380;
const PELVIC_SOFT_TISSUE = 300;

/**
 * A prostate-like T2 MRI: int16 image and uint8 labels {background 0, PZ 1, TZ 2}. Default size
 * 96×96×20; the field of view stays about 190×190×72 mm (in-plane fine, slices thick, as in MSD).
 */
export function mriPhantom(rng: Rng, options: PhantomOptions = {}): Phantom {
  const [nx, ny, nz] = options.size ?? [96, 96, 20];
  const spacing = [190 / nx, 190 / ny, 72 / nz];
  const body = makeBlob(rng, { cu: 0, cv: 0.02, ru: 1.02, rv: 0.8, w0: 0, w1: 1, profile: 'tube' }, 0.01);
  const tube = (cu: number, cv: number, ru: number, rv: number, w0 = 0, w1 = 1): Blob =>
    makeBlob(rng, { cu, cv, ru, rv, w0, w1, profile: 'tube' }, 0.01);
  const obturators = [-1, 1].map((s) => tube(0.42 * s, 0.08, 0.12, 0.26));
  const gluteals = [-1, 1].map((s) => tube(0.5 * s, 0.55, 0.3, 0.18));
  const femurs = [-1, 1].map((s) =>
    makeBlob(rng, { cu: 0.7 * s, cv: 0.02, ru: 0.17, rv: 0.17, w0: 0, w1: 0.7 }, 0.01),
  );
  const pubis = makeBlob(rng, { cu: 0, cv: -0.55, ru: 0.16, rv: 0.07, w0: 0, w1: 0.45 }, 0.01);
  const bladder = makeBlob(rng, { cu: 0, cv: -0.3, ru: 0.3, rv: 0.22, w0: 0.55, w1: 1 }, 0.02);
  const rectum = tube(0, 0.42, 0.13, 0.1);
  const prostate = makeBlob(rng, { cu: 0, cv: 0.1, ru: 0.21, rv: 0.16, w0: 0.15, w1: 0.75 }, 0.01);
  const tz = makeBlob(rng, { cu: 0, cv: 0.04, ru: 0.12, rv: 0.09, w0: 0.25, w1: 0.72 }, 0.005);
  const texture = smoothField(rng, 8, 5);
  const bias = smoothField(rng, 4, 0.6);
  const us = unitAxis(nx);
  const vs = unitAxis(ny);
  let tex: Float64Array = new Float64Array(0);

  const n = nx * ny * nz;
  const signal = new Float64Array(n);
  const label = new Uint8Array(n);
  // `within`: paint only over voxels already carrying that label (the TZ stays inside the gland).
  const paint = (
    blob: Blob,
    w: number,
    k: number,
    value: number,
    lab: number | null,
    test = (r: number) => r <= 1,
    within?: number,
  ) => {
    const s = blobSection(blob, w);
    if (!s) return;
    const [i0, i1, j0, j1] = sectionBox(blob, s, nx, ny);
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const u = unit(i, nx);
        const v = unit(j, ny);
        if (!test(blobRadius(blob, s, u, v))) continue;
        const idx = i + nx * (j + ny * k);
        if (within !== undefined && label[idx] !== within) continue;
        signal[idx] = value * (1 + 0.06 * tex[i + nx * j]!);
        if (lab !== null) label[idx] = lab;
      }
    }
  };
  for (let k = 0; k < nz; k++) {
    const w = nz > 1 ? k / (nz - 1) : 0.5;
    tex = texture.grid(us, vs, w);
    const s = blobSection(body, w)!;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const r = blobRadius(body, s, unit(i, nx), unit(j, ny));
        signal[i + nx * (j + ny * k)] = r > 1 ? 0 : r > 0.88 ? FAT : PELVIC_SOFT_TISSUE;
      }
    }
    for (const m of [...obturators, ...gluteals]) paint(m, w, k, MUSCLE, null);
    for (const f of femurs) {
      paint(f, w, k, CORTEX, null);
      paint(f, w, k, MARROW, null, (r) => r <= 0.8);
    }
    paint(pubis, w, k, CORTEX, null);
    paint(bladder, w, k, URINE, null);
    paint(rectum, w, k, RECTAL_WALL, null);
    paint(rectum, w, k, GAS, null, (r) => r <= 0.45);
    paint(prostate, w, k, PZ_SIGNAL, PROSTATE_LABELS['PZ']!);
    paint(tz, w, k, TZ_SIGNAL, PROSTATE_LABELS['TZ']!, undefined, PROSTATE_LABELS['PZ']);
  }
  const image = new Int16Array(n);
  for (let k = 0; k < nz; k++) {
    const w = nz > 1 ? k / (nz - 1) : 0.5;
    const field = bias.grid(us, vs, w);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const idx = i + nx * (j + ny * k);
        // Magnitude images: noise in both quadrature channels, so the background is Rayleigh, not zero.
        const v = signal[idx]! * (1 + 0.2 * field[i + nx * j]!);
        const re = v + 18 * rng.normal();
        const im = 18 * rng.normal();
        image[idx] = Math.min(Math.round(Math.hypot(re, im)), 32767);
      }
    }
  }
  const shape = [nx, ny, nz];
  const affine = phantomAffine(shape, spacing);
  const source = { format: 'phantom', header: { modality: 'mri' } };
  return {
    image: { data: image, dtype: 'int16', shape, spacing, affine, source },
    label: { data: label, dtype: 'uint8', shape, spacing, affine, source },
    labels: PROSTATE_LABELS,
  };
}
