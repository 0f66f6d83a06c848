// A quick-look montage of a segmentation: a few slices of the input with the labels coloured over the
// grey (or RGB) image, as RGBA pixels. Pure pixel math, browser-safe; the CLI encodes it as PNG.
// Slices are cut along the third voxel axis k, as inference stacks them (stacks.ts, masam-spec.md 8.1).
// Display convention: radiological, as clinical viewers and the browser viewer's default (patient's right
// on the screen's left, anterior at the top), marked by orientation letters on each tile; each tile names
// its slice (voxel index k from 0, as --prompts and the viewer count) and a legend names the classes shown.
import { MasamError } from '../core/errors.js';
import { GLYPH_H, drawText, textWidth } from './bitmap_font.js';
import { CT_WINDOW, type Modality, percentile } from '../data/intensity.js';
import { ioOrientation } from '../io/geometry.js';
import type { Affine, Volume } from '../io/volume.js';

/** An RGBA image, row-major, top row first (4·width·height bytes). */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

export interface OverlayOptions {
  /** How intensities are shown: 'ct' through the HU window, 'mri' from the minimum to the 99th percentile,
   * 'video' as RGB. Default: 'video' for [W, H, T, 3] input, else 'mri'. */
  readonly modality?: Modality;
  /** Grey window [low, high]; default CT_WINDOW for 'ct', [min, 99th percentile] of the shown slices else. */
  readonly window?: readonly [number, number];
  /** Slices shown; default 6. */
  readonly slices?: number;
  /** Tiles per row; default min(slices, 3). */
  readonly columns?: number;
  /** Opacity of the label colours; default 0.5. */
  readonly alpha?: number;
  /** Tiles are enlarged by an integer factor up to this many pixels on their long side; default 256. */
  readonly tile?: number;
  /** Class names by label value (index 0 = background), for the legend; default 'label N'. */
  readonly classNames?: readonly string[];
}

/** Where a slice sits in the montage (pixels). */
export interface OverlayTile {
  /** The slice's voxel index k (from 0). */
  readonly slice: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The montage with its layout: the tiles and the legend's entries (label values found in the shown slices). */
export interface OverlayImage extends RgbaImage {
  readonly tiles: readonly OverlayTile[];
  readonly legend: readonly { readonly value: number; readonly name: string }[];
  /** The top row of the legend strip below the tiles (= height when no label is shown). */
  readonly legendTop: number;
}

/** Colours of labels 1, 2, … (cycled); label 0 (background) is not coloured. The CLI overlay and the
 * viewer's legend share them, so a class has one colour everywhere. */
export const LABEL_COLOURS: readonly (readonly [number, number, number])[] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
  [170, 110, 40],
  [255, 250, 200],
  [128, 0, 0],
  [170, 255, 195],
  [128, 128, 0],
  [255, 215, 180],
  [0, 0, 128],
  [128, 128, 128],
];

const GAP = 4;

/**
 * Up to `count` slice indices spread evenly over the slices that hold a label (all slices when none does).
 */
export function pickSlices(labels: Pick<Volume, 'shape' | 'data'>, count: number): number[] {
  const [nx = 1, ny = 1, nz = 1] = labels.shape;
  const plane = nx * ny;
  let first = -1;
  let last = -1;
  for (let z = 0; z < nz; z++) {
    for (let p = z * plane; p < (z + 1) * plane; p++) {
      if (Number(labels.data[p]) !== 0) {
        if (first < 0) first = z;
        last = z;
        break;
      }
    }
  }
  if (first < 0) [first, last] = [0, nz - 1];
  const span = last - first + 1;
  const n = Math.max(1, Math.min(count, span));
  return Array.from({ length: n }, (_, k) => first + Math.floor(((k + 0.5) * span) / n));
}

/**
 * How a slice is shown: which in-plane voxel axis runs along the columns and whether columns or rows are
 * flipped. Columns follow the in-plane axis nearest to the lower world axis (x before y before z), and
 * every displayed axis runs toward the negative world direction: axial slices come out radiological
 * (patient right on the left, anterior at the top), frames upright (their affine is LPS-like).
 */
function displayAxes(affine: Affine): {
  colAxis: 0 | 1;
  flipCol: boolean;
  flipRow: boolean;
  /** Patient directions at the screen's left, right, top and bottom edges (e.g. R, L, A, P); null if unknown. */
  edges: readonly [string, string, string, string] | null;
} {
  const [a, b] = ioOrientation(affine);
  if (!a || !b) return { colAxis: 0, flipCol: false, flipRow: false, edges: null };
  const colAxis = a[0] <= b[0] ? 0 : 1;
  const [col, row] = colAxis === 0 ? [a, b] : [b, a];
  // Displayed axes run toward the negative world direction, so the left and top edges are the positive ends.
  const ends = ['RL', 'AP', 'SI'];
  const [colEnds, rowEnds] = [ends[col[0]]!, ends[row[0]]!];
  return {
    colAxis,
    flipCol: col[1] > 0,
    flipRow: row[1] > 0,
    edges: [colEnds[0]!, colEnds[1]!, rowEnds[0]!, rowEnds[1]!],
  };
}

const WHITE: readonly [number, number, number] = [255, 255, 255];
const SHADOW: readonly [number, number, number] = [0, 0, 0];

/** White text with a one-pixel black outline, readable over any image. */
function drawLabel(image: RgbaImage, text: string, x: number, y: number, scale: number): void {
  for (const [dx, dy] of [
    [-1, 0],
    [1, 0],
    [0, -1],
    [0, 1],
  ] as const)
    drawText(image, text, x + dx, y + dy, SHADOW, scale);
  drawText(image, text, x, y, WHITE, scale);
}

/** Label values > 0 present in slices `zs` of `labels`, ascending. */
function valuesShown(labels: Pick<Volume, 'data'>, zs: readonly number[], plane: number): number[] {
  const seen = new Set<number>();
  for (const z of zs) for (let p = z * plane; p < (z + 1) * plane; p++) seen.add(Number(labels.data[p]));
  return [...seen].filter((v) => v > 0).sort((x, y) => x - y);
}

/** Legend rows: entries placed left to right, wrapped at `width`; returns each entry's position and the height. */
function legendLayout(
  names: readonly string[],
  width: number,
  scale: number,
): { at: { x: number; y: number }[]; height: number } {
  const row = (GLYPH_H + 4) * scale;
  const swatch = GLYPH_H * scale;
  const at: { x: number; y: number }[] = [];
  let x = GAP;
  let y = GAP;
  for (const name of names) {
    const w = swatch + 3 * scale + textWidth(name, scale);
    if (x > GAP && x + w > width - GAP) {
      x = GAP;
      y += row;
    }
    at.push({ x, y });
    x += w + 6 * scale;
  }
  return { at, height: names.length === 0 ? 0 : y + row };
}

/**
 * A montage of a few slices (pickSlices) of `image` with `labels` blended over them.
 * @param image [nx, ny, nz] grey or [nx, ny, nz, 3] RGB (0–255)
 * @param labels [nx, ny, nz] label map on the same grid
 */
export function overlayMontage(
  image: Volume,
  labels: Pick<Volume, 'shape' | 'data'>,
  options: OverlayOptions = {},
): OverlayImage {
  const [nx = 1, ny = 1, nz = 1] = image.shape;
  const rgb = image.shape.length === 4 && image.shape[3] === 3;
  if (labels.shape[0] !== nx || labels.shape[1] !== ny || (labels.shape[2] ?? 1) !== nz) {
    throw new MasamError(
      `overlayMontage: labels [${labels.shape.join(', ')}] do not match the image [${image.shape.join(', ')}]`,
    );
  }
  const modality = options.modality ?? (rgb ? 'video' : 'mri');
  const slices = pickSlices(labels, options.slices ?? 6);
  const columns = Math.max(1, Math.min(options.columns ?? 3, slices.length));
  const rows = Math.ceil(slices.length / columns);
  const alpha = options.alpha ?? 0.5;
  const plane = nx * ny;
  const value = (p: number): number => Number(image.data[p]);

  let [lo, hi] = options.window ?? (modality === 'ct' ? CT_WINDOW : [0, 255]);
  if (!rgb && modality !== 'ct' && !options.window) {
    const shown = new Float64Array(slices.length * plane);
    slices.forEach((z, k) => {
      for (let p = 0; p < plane; p++) shown[k * plane + p] = value(z * plane + p);
    });
    lo = shown.reduce((m, v) => Math.min(m, v), Number.POSITIVE_INFINITY);
    hi = percentile(shown, 99);
  }
  const grey = (v: number): number =>
    hi > lo ? Math.round(255 * Math.min(Math.max((v - lo) / (hi - lo), 0), 1)) : 0;

  const { colAxis, flipCol, flipRow, edges } = displayAxes(image.affine);
  const tw = colAxis === 0 ? nx : ny;
  const th = colAxis === 0 ? ny : nx;
  const scale = Math.max(1, Math.floor((options.tile ?? 256) / Math.max(tw, th)));
  const width = columns * tw * scale + (columns - 1) * GAP;
  const tilesHeight = rows * th * scale + (rows - 1) * GAP;
  // Text twice the font size once tiles are large enough to hold it.
  const textScale = Math.min(tw, th) * scale >= 96 ? 2 : 1;
  const shown = valuesShown(labels, slices, plane);
  const names = shown.map((v) => options.classNames?.[v] ?? `label ${v}`);
  const legend = legendLayout(names, width, textScale);
  const height = tilesHeight + legend.height;
  const rgba = new Uint8Array(4 * width * height);
  for (let p = 3; p < rgba.length; p += 4) rgba[p] = 255;
  const tiles: OverlayTile[] = [];

  slices.forEach((z, k) => {
    const x0 = (k % columns) * (tw * scale + GAP);
    const y0 = Math.floor(k / columns) * (th * scale + GAP);
    tiles.push({ slice: z, x: x0, y: y0, width: tw * scale, height: th * scale });
    for (let r = 0; r < th; r++) {
      for (let c = 0; c < tw; c++) {
        const u = flipCol ? tw - 1 - c : c;
        const v = flipRow ? th - 1 - r : r;
        const [i, j] = colAxis === 0 ? [u, v] : [v, u];
        const p = z * plane + i + nx * j;
        let px: [number, number, number];
        if (rgb) {
          const clamp = (x: number) => Math.min(Math.max(Math.round(x), 0), 255);
          px = [clamp(value(p)), clamp(value(p + nz * plane)), clamp(value(p + 2 * nz * plane))];
        } else {
          const g = grey(value(p));
          px = [g, g, g];
        }
        const label = Number(labels.data[p]);
        if (label > 0) {
          const colour = LABEL_COLOURS[(label - 1) % LABEL_COLOURS.length]!;
          px = [0, 1, 2].map((ch) => Math.round((1 - alpha) * px[ch]! + alpha * colour[ch]!)) as typeof px;
        }
        for (let dy = 0; dy < scale; dy++) {
          let o = 4 * ((y0 + r * scale + dy) * width + x0 + c * scale);
          for (let dx = 0; dx < scale; dx++, o += 4) rgba.set(px, o);
        }
      }
    }
  });

  const out: RgbaImage = { width, height, rgba };
  const pad = 2 * textScale;
  const glyphH = GLYPH_H * textScale;
  for (const t of tiles) {
    drawLabel(out, `slice ${t.slice}`, t.x + pad + 1, t.y + pad + 1, textScale);
    // Patient directions at the tile's left and right edges (R … L: radiological); frames have none.
    if (edges !== null && modality !== 'video') {
      const mid = t.y + Math.round((t.height - glyphH) / 2);
      drawLabel(out, edges[0], t.x + pad + 1, mid, textScale);
      drawLabel(out, edges[1], t.x + t.width - pad - 1 - textWidth(edges[1], textScale), mid, textScale);
    }
  }
  shown.forEach((v, n) => {
    const { x, y } = legend.at[n]!;
    const colour = LABEL_COLOURS[(v - 1) % LABEL_COLOURS.length]!;
    const swatch = glyphH;
    for (let dy = 0; dy < swatch; dy++) {
      for (let dx = 0; dx < swatch; dx++) rgba.set(colour, 4 * ((tilesHeight + y + dy) * width + x + dx));
    }
    drawText(out, names[n]!, x + swatch + 3 * textScale, tilesHeight + y, WHITE, textScale);
  });
  return {
    ...out,
    tiles,
    legend: shown.map((value, n) => ({ value, name: names[n]! })),
    legendTop: tilesHeight,
  };
}
