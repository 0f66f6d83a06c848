// Synthetic abdominal CT with BTCV's 13 organ labels (masam-spec.md 8.2): body outline with subcutaneous
// fat and muscle, spine, bowel, and organs with portal-venous-phase HU whose shapes change smoothly from
// slice to slice, plus noise. Deterministic from an Rng; int16 HU like real CT.
import type { Rng } from '../core/rng.js';
import { BTCV_LABELS } from './labels.js';
import {
  type Blob,
  type BlobSpec,
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

/** Organ, mean HU and shape. u < 0 is the patient's right (i → left), v > 0 posterior, w up. */
interface OrganSpec extends BlobSpec {
  readonly label: number;
  readonly hu: number;
}

// Painted in this order, so later (smaller) organs win where shapes touch.
const ORGANS: readonly OrganSpec[] = [
  { label: 6, hu: 110, cu: -0.38, cv: -0.02, ru: 0.34, rv: 0.36, w0: 0.35, w1: 1 }, // liver
  { label: 1, hu: 120, cu: 0.52, cv: 0.2, ru: 0.13, rv: 0.17, w0: 0.5, w1: 0.95 }, // spleen
  { label: 7, hu: 35, cu: 0.3, cv: -0.16, ru: 0.2, rv: 0.15, w0: 0.55, w1: 0.95 }, // stomach
  { label: 2, hu: 180, cu: -0.3, cv: 0.3, ru: 0.11, rv: 0.14, w0: 0.08, w1: 0.55 }, // right kidney
  { label: 3, hu: 180, cu: 0.3, cv: 0.3, ru: 0.11, rv: 0.14, w0: 0.12, w1: 0.6 }, // left kidney
  { label: 4, hu: 15, cu: -0.3, cv: -0.26, ru: 0.07, rv: 0.06, w0: 0.35, w1: 0.6 }, // gallbladder
  { label: 11, hu: 95, cu: 0.12, cv: 0.06, ru: 0.26, rv: 0.055, w0: 0.4, w1: 0.58, angle: -0.25 }, // pancreas
  { label: 10, hu: 165, cu: -0.06, cv: -0.02, ru: 0.14, rv: 0.04, w0: 0.56, w1: 0.7, angle: 0.3 }, // portal/splenic
  { label: 9, hu: 135, cu: -0.11, cv: 0.2, ru: 0.06, rv: 0.045, w0: 0, w1: 0.85, profile: 'tube' }, // IVC
  { label: 8, hu: 200, cu: 0.06, cv: 0.22, ru: 0.05, rv: 0.05, w0: 0, w1: 1, profile: 'tube' }, // aorta
  { label: 5, hu: 45, cu: 0.1, cv: 0.1, ru: 0.04, rv: 0.035, w0: 0.8, w1: 1, profile: 'tube' }, // esophagus
  { label: 12, hu: 40, cu: -0.2, cv: 0.26, ru: 0.045, rv: 0.065, w0: 0.6, w1: 0.82 }, // right adrenal
  { label: 13, hu: 40, cu: 0.18, cv: 0.22, ru: 0.045, rv: 0.065, w0: 0.62, w1: 0.84 }, // left adrenal
];

const AIR = -1000;
const SUBCUTANEOUS_FAT = -100;
const VISCERAL_FAT = -80;
const MUSCLE = 50;
const BOWEL = 30;
const BONE = 700;

/**
 * An abdomen-like CT: int16 HU image and uint8 labels with BTCV values (1 spleen … 13 left adrenal).
 * Default size 128×128×32; voxel size scales so the field of view stays about 400×400×200 mm.
 */
export function ctPhantom(rng: Rng, options: PhantomOptions = {}): Phantom {
  const [nx, ny, nz] = options.size ?? [128, 128, 32];
  const spacing = [400 / nx, 400 / ny, 200 / nz];
  const body = makeBlob(rng, { cu: 0, cv: 0.03, ru: 0.86, rv: 0.62, w0: 0, w1: 1, profile: 'tube' }, 0.01);
  const spine = makeBlob(rng, { cu: 0, cv: 0.42, ru: 0.09, rv: 0.08, w0: 0, w1: 1, profile: 'tube' }, 0.005);
  const muscles = [-1, 1].map((side) =>
    makeBlob(rng, { cu: 0.14 * side, cv: 0.5, ru: 0.1, rv: 0.07, w0: 0, w1: 1, profile: 'tube' }, 0.01),
  );
  const bowel = Array.from({ length: 6 }, () =>
    makeBlob(
      rng,
      {
        cu: rng.range(-0.45, 0.45),
        cv: rng.range(-0.4, 0.05),
        ru: 0.1,
        rv: 0.08,
        w0: rng.range(0, 0.4),
        w1: rng.range(0.5, 0.8),
      },
      0,
    ),
  );
  const organs = ORGANS.map((o) => ({ blob: makeBlob(rng, o), label: o.label, hu: o.hu + 5 * rng.normal() }));
  const texture = smoothField(rng, 8, 6);
  const us = unitAxis(nx);
  const vs = unitAxis(ny);
  let tex: Float64Array = new Float64Array(0);
  const n = nx * ny * nz;
  const hu = new Float64Array(n);
  const label = new Uint8Array(n);
  const paint = (
    blob: Blob,
    w: number,
    k: number,
    value: number,
    lab: number,
    test = (r: number) => r <= 1,
  ) => {
    const s = blobSection(blob, w);
    if (!s) return;
    const [i0, i1, j0, j1] = sectionBox(blob, s, nx, ny);
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        if (!test(blobRadius(blob, s, unit(i, nx), unit(j, ny)))) continue;
        const idx = i + nx * (j + ny * k);
        hu[idx] = value + 8 * tex[i + nx * j]!;
        label[idx] = lab;
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
        // Body wall from outside in: skin-deep fat, then the muscle layer, then visceral fat.
        hu[i + nx * (j + ny * k)] =
          r > 1 ? AIR : r > 0.92 ? SUBCUTANEOUS_FAT : r > 0.87 ? MUSCLE : VISCERAL_FAT;
      }
    }
    for (const b of bowel) paint(b, w, k, BOWEL, 0);
    for (const m of muscles) paint(m, w, k, MUSCLE, 0);
    paint(spine, w, k, BONE, 0);
    paint(spine, w, k, 250, 0, (r) => r <= 0.75); // cancellous bone inside the cortex
    for (const o of organs) paint(o.blob, w, k, o.hu, o.label);
  }
  const image = new Int16Array(n);
  for (let i = 0; i < n; i++)
    image[i] = Math.min(Math.max(Math.round(hu[i]! + 12 * rng.normal()), -1024), 3071);
  const shape = [nx, ny, nz];
  const affine = phantomAffine(shape, spacing);
  const source = { format: 'phantom', header: { modality: 'ct' } };
  return {
    image: { data: image, dtype: 'int16', shape, spacing, affine, source },
    label: { data: label, dtype: 'uint8', shape, spacing, affine, source },
    labels: BTCV_LABELS,
  };
}
