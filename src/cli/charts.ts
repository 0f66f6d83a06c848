// Tiny dependency-free raster charts for reports: a bar chart (mean Dice per class with std error bars)
// and a line chart (training curves), drawn into an RGBA buffer with a built-in 5×7 bitmap font and
// encoded as PNG through pngjs. No anti-aliasing; lowercase letters are drawn as capitals.
import { PNG } from 'pngjs';

import { ADVANCE, GLYPH_H, GLYPH_W, glyphOf, textWidth } from '../infer/bitmap_font.js';
import type { RgbaImage } from '../infer/overlay.js';

export { textWidth };

export type { RgbaImage };

/** An 8-bit RGB colour. */
export type Rgb = readonly [number, number, number];

/** A pixel rectangle: (x, y) is the top-left pixel. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Series and bar colours (matplotlib's tab10 order). */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** The colour of the bars of {@link barChartPng}. */
export const BAR_COLOR: Rgb = PALETTE[0]!;
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];

/** A drawing surface with an optional clip rectangle. */
class Canvas {
  readonly data: Uint8Array;
  clip: Rect | null = null;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.fillRect({ x: 0, y: 0, width, height }, WHITE);
  }

  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    const k = this.clip;
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    if (k && (xi < k.x || yi < k.y || xi >= k.x + k.width || yi >= k.y + k.height)) return;
    const p = 4 * (yi * this.width + xi);
    this.data[p] = c[0];
    this.data[p + 1] = c[1];
    this.data[p + 2] = c[2];
    this.data[p + 3] = 255;
  }

  fillRect(r: Rect, c: Rgb): void {
    for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) this.set(x, y, c);
  }

  /** A line of `thickness` pixels (Bresenham, each step stamped as a square). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    let x = Math.round(x0);
    let y = Math.round(y0);
    const xe = Math.round(x1);
    const ye = Math.round(y1);
    const dx = Math.abs(xe - x);
    const dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1;
    const sy = y < ye ? 1 : -1;
    let err = dx + dy;
    const lo = -Math.floor((thickness - 1) / 2);
    for (;;) {
      for (let a = lo; a < lo + thickness; a++)
        for (let b = lo; b < lo + thickness; b++) this.set(x + a, y + b, c);
      if (x === xe && y === ye) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  /**
   * Draws `text` with its top-left corner at (x, y); `vertical` turns it 90° counter-clockwise so it
   * reads bottom to top, starting at (x, y) as its bottom-left corner.
   */
  text(text: string, x: number, y: number, c: Rgb, scale = 1, vertical = false): void {
    [...text].forEach((ch, n) => {
      const glyph = glyphOf(ch);
      if (glyph === undefined) return;
      for (let r = 0; r < GLYPH_H; r++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (((glyph[r]! >> (GLYPH_W - 1 - col)) & 1) === 0) continue;
          const u = (n * ADVANCE + col) * scale; // along the text
          const v = r * scale; // across it, from the glyph top
          for (let a = 0; a < scale; a++) {
            for (let b = 0; b < scale; b++) {
              if (vertical) this.set(x + v + b, y - u - a, c);
              else this.set(x + u + a, y + v + b, c);
            }
          }
        }
      }
    });
  }

  image(): RgbaImage {
    return { width: this.width, height: this.height, rgba: this.data };
  }
}

/** Encodes an RGBA image as an 8-bit RGBA PNG. */
export function encodePng(image: RgbaImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/** Tick positions from `lo` to `hi` with a 1-2-2.5-5 step, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw * 0.999) ?? 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

/** A tick label with as many decimals as the step needs. */
function tickLabel(v: number, step: number): string {
  if (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-4)) return v.toExponential(1);
  let d = 0;
  while (d < 6 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-6) d++;
  return v.toFixed(d);
}

/** A rendered chart with the geometry needed to map data values onto its pixels. */
export interface ChartImage {
  readonly image: RgbaImage;
  /** The plotting area inside the axes. */
  readonly plot: Rect;
  /** Data values at the plot's left and right edges (bar charts: 0 and the number of bars). */
  readonly xRange: readonly [number, number];
  /** Data values at the plot's bottom and top edges. */
  readonly yRange: readonly [number, number];
  /** Bar charts: the rectangle of each bar (height 0 for a NaN or zero value). */
  readonly bars?: readonly Rect[];
}

/** Pixel column of data value `x` in `chart`. */
export function pixelX(chart: Pick<ChartImage, 'plot' | 'xRange'>, x: number): number {
  const [lo, hi] = chart.xRange;
  return chart.plot.x + Math.round(((x - lo) / (hi - lo)) * (chart.plot.width - 1));
}

/** Pixel row of data value `y` in `chart` (larger values higher up). */
export function pixelY(chart: Pick<ChartImage, 'plot' | 'yRange'>, y: number): number {
  const [lo, hi] = chart.yRange;
  return chart.plot.y + chart.plot.height - 1 - Math.round(((y - lo) / (hi - lo)) * (chart.plot.height - 1));
}

/** Draws the title, the y grid with tick labels, the axes and the axis labels. */
function drawFrame(
  cv: Canvas,
  chart: Pick<ChartImage, 'plot' | 'yRange'>,
  yTicks: readonly number[],
  labels: { title: string; xLabel?: string; yLabel?: string },
): void {
  const { plot } = chart;
  const step = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  cv.text(labels.title, Math.max(4, Math.round((cv.width - textWidth(labels.title, 2)) / 2)), 8, BLACK, 2);
  for (const t of yTicks) {
    const y = pixelY(chart, t);
    cv.line(plot.x, y, plot.x + plot.width - 1, y, GRID);
    const s = tickLabel(t, step);
    cv.text(s, plot.x - 8 - textWidth(s, 2), y - GLYPH_H, AXIS, 2);
  }
  cv.line(plot.x - 1, plot.y, plot.x - 1, plot.y + plot.height, AXIS);
  cv.line(plot.x - 1, plot.y + plot.height, plot.x + plot.width - 1, plot.y + plot.height, AXIS);
  if (labels.yLabel) {
    const mid = plot.y + Math.round((plot.height + textWidth(labels.yLabel, 2)) / 2);
    cv.text(labels.yLabel, 6, Math.min(cv.height - 4, mid), BLACK, 2, true);
  }
  if (labels.xLabel) {
    const x = plot.x + Math.round((plot.width - textWidth(labels.xLabel, 2)) / 2);
    cv.text(labels.xLabel, x, cv.height - 8 - 2 * GLYPH_H, BLACK, 2);
  }
}

/** Widest tick label of `ticks` at scale 2. */
function tickLabelWidth(ticks: readonly number[]): number {
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  return Math.max(0, ...ticks.map((t) => textWidth(tickLabel(t, step), 2)));
}

/** What {@link barChartPng} draws. */
export interface BarChartOptions {
  /** One label per bar, drawn under it (vertically when they do not fit side by side). */
  readonly labels: readonly string[];
  /** Bar heights; NaN draws no bar. */
  readonly values: readonly number[];
  /** Half-lengths of error bars (e.g. the std); NaN or 0 draws none. */
  readonly errors?: readonly number[];
  readonly title: string;
  /** Top of the y axis; default a round number above the largest value + error. */
  readonly yMax?: number;
  readonly yLabel?: string;
  /** Image size; default 640×400, wider when many bars need room. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * Renders a bar chart with optional error bars and value labels as an RGBA image, plus the geometry of
 * the plot and bars.
 * @throws RangeError when labels, values and errors differ in length.
 */
export function barChartImage(options: BarChartOptions): ChartImage {
  const { labels, values } = options;
  const errors = options.errors ?? values.map(() => 0);
  if (labels.length !== values.length || errors.length !== values.length) {
    throw new RangeError(
      `barChart: ${labels.length} labels, ${values.length} values and ${errors.length} errors must match`,
    );
  }
  const n = values.length;
  const finite = (x: number) => (Number.isFinite(x) ? x : 0);
  const tops = values.map((v, i) => finite(v) + Math.abs(finite(errors[i]!)));
  const bottoms = values.map((v, i) => finite(v) - Math.abs(finite(errors[i]!)));
  const lo = Math.min(0, ...bottoms);
  const dataHi = Math.max(lo + 1e-12, ...tops);
  const autoTicks = niceTicks(lo, dataHi);
  const hi = options.yMax ?? Math.max(dataHi, autoTicks[autoTicks.length - 1]!);
  const yTicks = niceTicks(lo, hi);
  const width = options.width ?? Math.max(640, 100 + 28 * n);
  const height = options.height ?? 400;
  const left = 14 + 2 * GLYPH_H + 8 + tickLabelWidth(yTicks) + 8;
  const slot = (width - left - 16) / Math.max(1, n);
  const horizontal = labels.every((l) => textWidth(l, 1) <= slot - 2);
  const maxChars = 16;
  const shown = labels.map((l) => (horizontal || l.length <= maxChars ? l : `${l.slice(0, maxChars - 1)}.`));
  const labelSpace = horizontal
    ? GLYPH_H
    : textWidth(shown.reduce((a, b) => (b.length > a.length ? b : a), ''));
  const top = 8 + 2 * GLYPH_H + 16;
  const plot: Rect = {
    x: left,
    y: top,
    width: width - left - 16,
    height: Math.max(20, height - top - labelSpace - 16),
  };
  const chart = { plot, yRange: [lo, hi] as const, xRange: [0, Math.max(1, n)] as const };
  const cv = new Canvas(width, Math.max(height, plot.y + plot.height + labelSpace + 16));
  drawFrame(cv, chart, yTicks, {
    title: options.title,
    ...(options.yLabel ? { yLabel: options.yLabel } : {}),
  });
  const barW = Math.max(1, Math.floor(slot * 0.7));
  const zeroY = pixelY(chart, 0);
  const bars: Rect[] = [];
  cv.clip = plot;
  values.forEach((v, i) => {
    const x = plot.x + Math.floor(i * slot + (slot - barW) / 2);
    if (!Number.isFinite(v)) {
      bars.push({ x, y: zeroY, width: barW, height: 0 });
      return;
    }
    const vy = pixelY(chart, Math.min(v, hi));
    const bar = { x, y: Math.min(vy, zeroY), width: barW, height: Math.abs(zeroY - vy) };
    bars.push(bar);
    cv.fillRect(bar, BAR_COLOR);
    const e = Math.abs(errors[i]!);
    const cx = x + Math.floor(barW / 2);
    if (Number.isFinite(e) && e > 0) {
      const y0 = pixelY(chart, v - e);
      const y1 = pixelY(chart, v + e);
      cv.line(cx, y0, cx, y1, BLACK, 2);
      const cap = Math.max(2, Math.floor(barW / 4));
      cv.line(cx - cap, y0, cx + cap, y0, BLACK, 2);
      cv.line(cx - cap, y1, cx + cap, y1, BLACK, 2);
    }
  });
  cv.clip = null;
  // Value labels above each bar (and its error bar) when they fit in the slot.
  values.forEach((v, i) => {
    const s = Number.isFinite(v) ? tickLabel(v, 0.01) : 'N/A';
    if (textWidth(s) > slot) return;
    const e = Number.isFinite(errors[i]!) ? Math.abs(errors[i]!) : 0;
    const y = pixelY(chart, Math.min(hi, (Number.isFinite(v) ? v : 0) + e)) - GLYPH_H - 4;
    const cx = bars[i]!.x + bars[i]!.width / 2;
    cv.text(s, Math.round(cx - textWidth(s) / 2), Math.max(plot.y - GLYPH_H - 2, y), AXIS);
  });
  shown.forEach((l, i) => {
    const cx = bars[i]!.x + bars[i]!.width / 2;
    const y = plot.y + plot.height + 6;
    if (horizontal) cv.text(l, Math.round(cx - textWidth(l) / 2), y, BLACK);
    else cv.text(l, Math.round(cx - GLYPH_H / 2), y + textWidth(l), BLACK, 1, true);
  });
  return { ...chart, image: cv.image(), bars };
}

/** A bar chart as PNG bytes (see {@link barChartImage}). */
export function barChartPng(options: BarChartOptions): Uint8Array {
  return encodePng(barChartImage(options).image);
}

/** One line of a line chart. */
export interface LineSeries {
  readonly name: string;
  /** (x, y) points in drawing order; a point with a non-finite coordinate breaks the line. */
  readonly points: readonly (readonly [number, number])[];
}

/** What {@link lineChartPng} draws. */
export interface LineChartOptions {
  readonly series: readonly LineSeries[];
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Fixed y range; default from the data, widened to round ticks. */
  readonly yMin?: number;
  readonly yMax?: number;
  /** Image size; default 640×400. */
  readonly width?: number;
  readonly height?: number;
}

/** Range of the finite values, widened when empty or a single value. */
function extent(values: readonly number[]): [number, number] {
  const kept = values.filter(Number.isFinite);
  if (kept.length === 0) return [0, 1];
  const lo = Math.min(...kept);
  const hi = Math.max(...kept);
  if (hi > lo) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/**
 * Renders a line chart (one colour per series from {@link PALETTE}, legend under the title) as an RGBA
 * image, plus the plot geometry.
 */
export function lineChartImage(options: LineChartOptions): ChartImage {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = extent(xs);
  let [y0, y1] = extent(ys);
  if (options.yMin !== undefined) y0 = options.yMin;
  if (options.yMax !== undefined) y1 = options.yMax;
  if (!(y1 > y0)) y1 = y0 + 1;
  const rough = niceTicks(y0, y1);
  const yStep = rough.length > 1 ? rough[1]! - rough[0]! : 1;
  const lo = options.yMin ?? Math.floor(y0 / yStep + 1e-9) * yStep;
  const hi = options.yMax ?? Math.ceil(y1 / yStep - 1e-9) * yStep;
  const yTicks = niceTicks(lo, hi);
  // Legend entries flow left to right, wrapping, under the title.
  const entries: { x: number; y: number; s: LineSeries; c: Rgb }[] = [];
  let lx = 16;
  let ly = 8 + 2 * GLYPH_H + 10;
  options.series.forEach((s, i) => {
    const w = 18 + textWidth(s.name, 1) + 16;
    if (lx + w > width - 8 && lx > 16) {
      lx = 16;
      ly += GLYPH_H + 6;
    }
    entries.push({ x: lx, y: ly, s, c: PALETTE[i % PALETTE.length]! });
    lx += w;
  });
  const top = (entries.length > 0 ? ly + GLYPH_H : ly) + 12;
  const left = 14 + 2 * GLYPH_H + 8 + tickLabelWidth(yTicks) + 8;
  const bottom = 8 + 2 * GLYPH_H + 8 + 2 * GLYPH_H + 8;
  const plot: Rect = {
    x: left,
    y: top,
    width: Math.max(20, width - left - 20),
    height: Math.max(20, height - top - bottom),
  };
  const chart = { plot, xRange: [x0, x1] as const, yRange: [lo, hi] as const };
  const cv = new Canvas(width, Math.max(height, plot.y + plot.height + bottom));
  drawFrame(cv, chart, yTicks, options);
  const xTicks = niceTicks(x0, x1, 6);
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  for (const t of xTicks) {
    const x = pixelX(chart, t);
    cv.line(x, plot.y + plot.height, x, plot.y + plot.height + 4, AXIS);
    const s = tickLabel(t, xStep);
    cv.text(s, Math.round(x - textWidth(s, 2) / 2), plot.y + plot.height + 8, AXIS, 2);
  }
  for (const e of entries) {
    cv.fillRect({ x: e.x, y: e.y + 1, width: 12, height: GLYPH_H - 2 }, e.c);
    cv.text(e.s.name, e.x + 18, e.y, BLACK);
  }
  cv.clip = plot;
  for (const e of entries) {
    let prev: readonly [number, number] | null = null;
    for (const p of e.s.points) {
      if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        prev = null;
        continue;
      }
      const q = [pixelX(chart, p[0]), pixelY(chart, p[1])] as const;
      if (prev === null) cv.line(q[0], q[1], q[0], q[1], e.c, 2);
      else cv.line(prev[0], prev[1], q[0], q[1], e.c, 2);
      prev = q;
    }
  }
  cv.clip = null;
  return { ...chart, image: cv.image() };
}

/** A line chart as PNG bytes (see {@link lineChartImage}). */
export function lineChartPng(options: LineChartOptions): Uint8Array {
  return encodePng(lineChartImage(options).image);
}
