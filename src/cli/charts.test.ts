// Tests for the raster charts: the PNG decodes at the stated size, bars and lines put their colour where
// the values say, and the font draws text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import {
  BAR_COLOR,
  PALETTE,
  type Rgb,
  type RgbaImage,
  barChartImage,
  barChartPng,
  lineChartImage,
  lineChartPng,
  niceTicks,
  pixelX,
  pixelY,
} from './charts.js';

function decode(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

function isColor(img: RgbaImage, x: number, y: number, c: Rgb): boolean {
  const p = 4 * (y * img.width + x);
  return (
    img.rgba[p] === c[0] && img.rgba[p + 1] === c[1] && img.rgba[p + 2] === c[2] && img.rgba[p + 3] === 255
  );
}

/** Pixels of colour `c` inside columns [x0, x1) and rows [y0, y1). */
function pixelsOf(img: RgbaImage, c: Rgb, x0 = 0, x1 = img.width, y0 = 0, y1 = img.height) {
  const out: [number, number][] = [];
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (isColor(img, x, y, c)) out.push([x, y]);
  return out;
}

describe('barChartPng', () => {
  const options = {
    labels: ['spleen', 'liver', 'absent'],
    values: [0.9, 0.45, Number.NaN],
    errors: [0.05, 0.1, 0],
    title: 'Mean Dice',
    yMax: 1,
  };

  it('encodes a PNG of the stated size', () => {
    const img = decode(barChartPng({ ...options, width: 500, height: 300 }));
    assert.equal(img.width, 500);
    assert.equal(img.height, 300);
    const dflt = decode(barChartPng(options));
    assert.deepEqual([dflt.width, dflt.height], [640, 400]);
    // The title is drawn in black above the plot, centred.
    const chart = barChartImage(options);
    const title = pixelsOf(dflt, [0, 0, 0], 0, dflt.width, 0, chart.plot.y - 4);
    assert.ok(title.length > 50);
    const xs = title.map(([x]) => x);
    assert.ok(Math.abs((Math.min(...xs) + Math.max(...xs)) / 2 - dflt.width / 2) < 8);
  });

  it('draws each bar from 0 up to its value in the bar colour, nothing for NaN', () => {
    const chart = barChartImage(options);
    const img = decode(barChartPng(options));
    assert.deepEqual(img.rgba, chart.image.rgba, 'the PNG holds the rendered pixels');
    const bars = chart.bars!;
    assert.equal(bars.length, 3);
    const zero = pixelY(chart, 0);
    for (const [i, v] of [0.9, 0.45].entries()) {
      const b = bars[i]!;
      // A column near the bar's left edge (the error bar runs down its centre).
      const x = b.x + 2;
      assert.ok(isColor(img, x, zero - 1, BAR_COLOR), `bar ${i} starts at 0`);
      assert.ok(isColor(img, x, pixelY(chart, v) + 1, BAR_COLOR), `bar ${i} reaches ${v}`);
      assert.ok(!isColor(img, x, pixelY(chart, v) - 3, BAR_COLOR), `bar ${i} stops at ${v}`);
    }
    // Bar heights are proportional to the values.
    assert.ok(Math.abs(bars[0]!.height / bars[1]!.height - 2) < 0.05);
    assert.equal(bars[2]!.height, 0);
    const third = bars[2]!;
    assert.equal(pixelsOf(img, BAR_COLOR, third.x, third.x + third.width, chart.plot.y, zero).length, 0);
  });

  it('draws error bars in black across the value ± error', () => {
    const chart = barChartImage(options);
    const img = chart.image;
    const b = chart.bars![1]!;
    const cx = b.x + Math.floor(b.width / 2);
    const black: Rgb = [0, 0, 0];
    // Above the bar top, up to value + error.
    assert.ok(isColor(img, cx, pixelY(chart, 0.45 + 0.08), black));
    assert.ok(!isColor(img, cx, pixelY(chart, 0.45 + 0.15), black));
  });

  it('scales the y axis to the data when yMax is not given', () => {
    const chart = barChartImage({ labels: ['a', 'b'], values: [12, 30], title: 'HD95' });
    assert.ok(chart.yRange[1] >= 30 && chart.yRange[1] <= 40, `top ${chart.yRange[1]}`);
    assert.equal(chart.yRange[0], 0);
  });

  it('writes long labels vertically and widens the image for many bars', () => {
    const labels = Array.from({ length: 30 }, (_, i) => `portal_vein_and_splenic_vein_${i}`);
    const chart = barChartImage({ labels, values: labels.map(() => 0.5), title: 'many' });
    assert.ok(chart.image.width > 640);
    assert.equal(chart.image.height, 400);
    // Label text sits under the plot area.
    const below = pixelsOf(
      chart.image,
      [0, 0, 0],
      0,
      chart.image.width,
      chart.plot.y + chart.plot.height + 2,
    );
    assert.ok(below.length > 100);
  });

  it('rejects mismatched lengths', () => {
    assert.throws(() => barChartImage({ labels: ['a'], values: [1, 2], title: 't' }), RangeError);
  });
});

describe('lineChartPng', () => {
  const flat = {
    name: 'flat',
    points: Array.from({ length: 11 }, (_, i) => [i * 10, 0.5] as [number, number]),
  };
  const rising = {
    name: 'rising',
    points: Array.from({ length: 11 }, (_, i) => [i * 10, i / 10] as [number, number]),
  };
  const options = { series: [flat, rising], title: 'Training', xLabel: 'iteration', yLabel: 'loss' };

  it('encodes a PNG of the stated size', () => {
    const img = decode(lineChartPng({ ...options, width: 480, height: 320 }));
    assert.deepEqual([img.width, img.height], [480, 320]);
  });

  it('draws each series in its palette colour through its points', () => {
    const chart = lineChartImage(options);
    const img = decode(lineChartPng(options));
    const { plot } = chart;
    const inPlot = (c: Rgb) => pixelsOf(img, c, plot.x, plot.x + plot.width, plot.y, plot.y + plot.height);
    const flatPx = inPlot(PALETTE[0]!);
    const risePx = inPlot(PALETTE[1]!);
    assert.ok(flatPx.length > plot.width / 2, 'the flat line spans the plot');
    // The flat line stays on the row of y = 0.5 (2 pixels thick).
    const y05 = pixelY(chart, 0.5);
    assert.ok(flatPx.every(([, y]) => Math.abs(y - y05) <= 1));
    // The rising line goes through its first and last points.
    const near = (px: [number, number][], x: number, y: number) =>
      px.some(([a, b]) => Math.abs(a - x) <= 1 && Math.abs(b - y) <= 1);
    assert.ok(near(risePx, pixelX(chart, 0), pixelY(chart, 0)));
    assert.ok(near(risePx, pixelX(chart, 100), pixelY(chart, 1)));
    assert.ok(near(risePx, pixelX(chart, 50), pixelY(chart, 0.5)));
    // A legend swatch of each colour above the plot.
    for (const c of [PALETTE[0]!, PALETTE[1]!])
      assert.ok(pixelsOf(img, c, 0, img.width, 0, plot.y).length > 20);
  });

  it('breaks lines at non-finite points and copes with a single point or no data', () => {
    const chart = lineChartImage({
      ...options,
      series: [
        {
          name: 'gap',
          points: [
            [0, 0],
            [1, Number.NaN],
            [2, 1],
          ],
        },
        { name: 'one', points: [[1, 0.5]] },
      ],
    });
    const { plot } = chart;
    const gap = pixelsOf(chart.image, PALETTE[0]!, plot.x, plot.x + plot.width, plot.y, plot.y + plot.height);
    // Only the two end dots: nothing in the middle third.
    const mid = gap.filter(([x]) => Math.abs(x - pixelX(chart, 1)) < plot.width / 6);
    assert.equal(mid.length, 0);
    assert.ok(gap.length > 0);
    const empty = lineChartImage({ ...options, series: [] });
    assert.equal(empty.image.width, 640);
  });
});

describe('niceTicks', () => {
  it('gives round steps that cover the range', () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(niceTicks(0, 40), [0, 10, 20, 30, 40]);
    assert.deepEqual(niceTicks(3, 3), [3]);
  });
});
