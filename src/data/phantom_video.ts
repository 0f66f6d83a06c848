// Synthetic surgical video with EndoVis'18 labels (masam-spec.md 8.4): textured tissue with a kidney
// region drifting with the camera, and two instruments (shaft, wrist, opening/closing clasper) moving
// smoothly over time. Time plays the role of depth. Deterministic from an Rng.
import type { Rng } from '../core/rng.js';
import { IDENTITY_AFFINE } from '../io/volume.js';
import { ENDOVIS18_LABELS } from './labels.js';
import {
  blobRadius,
  blobSection,
  makeBlob,
  type Phantom,
  type PhantomOptions,
  segmentDistance,
  smoothField,
  unit,
  unitAxis,
} from './phantom_shapes.js';

const SHAFT = ENDOVIS18_LABELS['instrument-shaft']!;
const CLASPER = ENDOVIS18_LABELS['instrument-clasper']!;
const WRIST = ENDOVIS18_LABELS['instrument-wrist']!;
const KIDNEY = ENDOVIS18_LABELS['kidney-parenchyma']!;

/** The labels a video phantom uses (a subset of EndoVis'18, same values). */
export const VIDEO_PHANTOM_LABELS: Readonly<Record<string, number>> = {
  background: 0,
  'instrument-shaft': SHAFT,
  'instrument-clasper': CLASPER,
  'instrument-wrist': WRIST,
  'kidney-parenchyma': KIDNEY,
};

interface Instrument {
  /** Entry point outside the frame and the tip's mean position and motion (x is aspect-scaled). */
  readonly ex: number;
  readonly ey: number;
  readonly tx: number;
  readonly ty: number;
  readonly ax: number;
  readonly ay: number;
  readonly fx: number;
  readonly fy: number;
  readonly px: number;
  readonly py: number;
  readonly grip: number;
  readonly tone: number;
}

function makeInstrument(rng: Rng, side: number): Instrument {
  return {
    ex: side * rng.range(1.2, 1.6),
    ey: rng.range(0.6, 1.4),
    tx: side * rng.range(0.05, 0.3),
    ty: rng.range(-0.3, 0.2),
    ax: rng.range(0.1, 0.25),
    ay: rng.range(0.1, 0.25),
    fx: rng.range(0.5, 1.5),
    fy: rng.range(0.5, 1.5),
    px: rng.range(0, 2 * Math.PI),
    py: rng.range(0, 2 * Math.PI),
    grip: rng.range(1, 3),
    tone: rng.range(40, 70),
  };
}

/** An instrument's segments in one frame: shaft (entry → wrist), wrist (→ jaw pivot), two jaws. */
interface Pose {
  readonly segments: readonly (readonly [number, number, number, number])[];
  readonly tone: number;
}

/** The instrument's pose at time τ ∈ [0, 2π): the tip moves on a Lissajous path, the jaws open and close. */
function instrumentPose(ins: Instrument, tau: number): Pose {
  const tipX = ins.tx + ins.ax * Math.sin(ins.fx * tau + ins.px);
  const tipY = ins.ty + ins.ay * Math.sin(ins.fy * tau + ins.py);
  const len = Math.hypot(tipX - ins.ex, tipY - ins.ey);
  const ux = (tipX - ins.ex) / len;
  const uy = (tipY - ins.ey) / len;
  const wx = tipX - 0.22 * ux;
  const wy = tipY - 0.22 * uy;
  const jx = tipX - 0.1 * ux;
  const jy = tipY - 0.1 * uy;
  const open = 0.15 + 0.25 * (0.5 + 0.5 * Math.sin(ins.grip * tau));
  const jaw = (sign: number) => {
    const c = Math.cos(sign * open);
    const s = Math.sin(sign * open);
    return [jx, jy, jx + 0.13 * (c * ux - s * uy), jy + 0.13 * (s * ux + c * uy)] as const;
  };
  return { segments: [[ins.ex, ins.ey, wx, wy], [wx, wy, jx, jy], jaw(-1), jaw(1)], tone: ins.tone };
}

/** Distance from (x, y) to a segment, or Infinity when the point is outside its box grown by `r`. */
function near(seg: readonly [number, number, number, number], x: number, y: number, r: number): number {
  const [x0, y0, x1, y1] = seg;
  if (
    x < Math.min(x0, x1) - r ||
    x > Math.max(x0, x1) + r ||
    y < Math.min(y0, y1) - r ||
    y > Math.max(y0, y1) + r
  ) {
    return Number.POSITIVE_INFINITY;
  }
  return segmentDistance(x, y, x0, y0, x1, y1);
}

/** Grey level and label of an instrument at (x, y), or null where it is absent; jaws over wrist over shaft. */
function instrumentAt(pose: Pose, x: number, y: number): [number, number] | null {
  const [shaft, wrist, jaw0, jaw1] = pose.segments as [
    readonly [number, number, number, number],
    readonly [number, number, number, number],
    readonly [number, number, number, number],
    readonly [number, number, number, number],
  ];
  const d = Math.min(near(jaw0, x, y, 0.025), near(jaw1, x, y, 0.025));
  if (d < 0.025) return [200 - 1500 * d * d, CLASPER];
  const dw = near(wrist, x, y, 0.045);
  if (dw < 0.045) return [150 * (1 - 0.4 * (dw / 0.045) ** 2), WRIST];
  const ds = near(shaft, x, y, 0.065);
  // Cylinder shading: brighter along the axis, darker at the silhouette.
  if (ds < 0.065) return [pose.tone * (1.4 - 0.8 * (ds / 0.065) ** 2), SHAFT];
  return null;
}

/**
 * A surgical-video-like clip: image uint8 [W, H, T, 3] (RGB on the 4th axis, channel-last as a 4D
 * Volume), label uint8 [W, H, T] with EndoVis'18 values (shaft 1, clasper 2, wrist 3, kidney 4).
 * Default 64×64 pixels × 16 frames; spacing 1 (pixels, frames).
 */
export function videoPhantom(rng: Rng, options: PhantomOptions = {}): Phantom {
  const [nx, ny, nz] = options.size ?? [64, 64, 16];
  const aspect = nx / ny;
  const tissue = smoothField(rng, 8, 2);
  const fine = smoothField(rng, 10, 9);
  const kidney = makeBlob(
    rng,
    { cu: rng.range(-0.4, 0.4), cv: rng.range(-0.3, 0.3), ru: 0.45, rv: 0.35, w0: 0, w1: 1, profile: 'tube' },
    0.02,
  );
  const tools = [makeInstrument(rng, -1), makeInstrument(rng, 1)];
  const pan = { ax: rng.range(0.05, 0.12), ay: rng.range(0.05, 0.12), phase: rng.range(0, 2 * Math.PI) };
  const plane = nx * ny;
  const image = new Uint8Array(plane * nz * 3);
  const label = new Uint8Array(plane * nz);
  for (let k = 0; k < nz; k++) {
    const tau = (2 * Math.PI * k) / Math.max(nz, 2);
    // The camera drifts, so the tissue and the kidney move together.
    const camX = pan.ax * Math.sin(tau + pan.phase);
    const camY = pan.ay * Math.cos(tau + pan.phase);
    const s = blobSection(kidney, 0.5)!;
    const poses = tools.map((tool) => instrumentPose(tool, tau));
    const us = unitAxis(nx, camX);
    const vs = unitAxis(ny, camY);
    const coarse = tissue.grid(us, vs, 0);
    const detail = fine.grid(us, vs, 0);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const u = us[i]!;
        const v = vs[j]!;
        const idx = i + nx * j + plane * k;
        const g = coarse[i + nx * j]!;
        const f = detail[i + nx * j]!;
        let rgb: [number, number, number] = [
          175 + 30 * g + 12 * f,
          75 + 20 * g + 10 * f,
          65 + 15 * g + 8 * f,
        ];
        let lab = 0;
        if (blobRadius(kidney, s, u, v) <= 1) {
          rgb = [125 + 20 * g + 10 * f, 50 + 10 * g + 6 * f, 48 + 8 * g + 5 * f];
          lab = KIDNEY;
        }
        const x = unit(i, nx) * aspect;
        const y = unit(j, ny);
        for (const pose of poses) {
          const hit = instrumentAt(pose, x, y);
          if (hit) {
            rgb = [hit[0], hit[0], hit[0] * 1.03];
            lab = hit[1];
            break;
          }
        }
        label[idx] = lab;
        for (let c = 0; c < 3; c++) {
          // Sensor noise: uniform with std ≈ 4 (cheaper than Gaussian; the distribution does not matter here).
          image[idx + plane * nz * c] = Math.min(
            Math.max(Math.round(rgb[c]! + 14 * (rng.uniform() - 0.5)), 0),
            255,
          );
        }
      }
    }
  }
  const shape = [nx, ny, nz];
  const source = { format: 'phantom', header: { modality: 'video' } };
  return {
    image: {
      data: image,
      dtype: 'uint8',
      shape: [nx, ny, nz, 3],
      spacing: [1, 1, 1, 1],
      affine: IDENTITY_AFFINE,
      source,
    },
    label: { data: label, dtype: 'uint8', shape, spacing: [1, 1, 1], affine: IDENTITY_AFFINE, source },
    labels: VIDEO_PHANTOM_LABELS,
  };
}
