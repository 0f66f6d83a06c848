// Tests for the overlay montage: radiological display (patient's left on the screen's right), the slice
// index and orientation letters on each tile, and the legend of class colours and names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Affine, Volume } from '../io/volume.js';
import { drawText } from './bitmap_font.js';
import { LABEL_COLOURS, type OverlayImage, type RgbaImage, overlayMontage } from './overlay.js';

const RAS: Affine = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

/** A [nx, ny, nz] volume whose voxel (i, j, k) holds f(i, j, k). */
function grid(nx: number, ny: number, nz: number, f: (i: number, j: number, k: number) => number): Volume {
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = f(i, j, k);
  return { dtype: 'float32', shape: [nx, ny, nz], spacing: [1, 1, 1], affine: RAS, data };
}

const pixel = (img: RgbaImage, x: number, y: number) => [
  ...img.rgba.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3),
];

/** Whether every pixel `text` lights (drawn alone at (x, y) with `scale`) is white in `img`. */
function showsText(img: RgbaImage, text: string, x: number, y: number, scale: number): boolean {
  const ref: RgbaImage = { width: img.width, height: img.height, rgba: new Uint8Array(img.rgba.length) };
  drawText(ref, text, x, y, [255, 255, 255], scale);
  let lit = 0;
  for (let p = 0; p < ref.rgba.length; p += 4) {
    if (ref.rgba[p] !== 255) continue;
    lit++;
    if (img.rgba[p] !== 255 || img.rgba[p + 1] !== 255 || img.rgba[p + 2] !== 255) return false;
  }
  return lit > 0;
}

describe('overlayMontage', () => {
  // Patient's left is −x in RAS: voxels i < 8 of a RAS volume lie on the patient's left.
  const image = grid(32, 24, 6, () => 100);
  const labels = grid(32, 24, 6, (i, j, k) => (k >= 2 && k <= 3 ? (i < 8 ? 1 : i > 24 && j < 6 ? 2 : 0) : 0));
  const montage: OverlayImage = overlayMontage(image, labels, {
    slices: 2,
    classNames: ['background', 'liver', 'spleen'],
    alpha: 1,
  });

  it("shows the patient's left on the screen's right (radiological)", () => {
    const t = montage.tiles[0]!;
    const red = [...LABEL_COLOURS[0]!];
    const scale = t.width / 32;
    const centreRow = t.y + Math.floor(t.height / 2);
    // label 1 fills i < 8: the right quarter of the tile, not the left.
    assert.deepEqual(pixel(montage, t.x + t.width - 1 - 4 * scale, centreRow), red);
    assert.notDeepEqual(pixel(montage, t.x + 4 * scale, centreRow), red);
    // anterior (+y, j large) at the top: label 2 (j < 6, posterior) sits at the bottom left.
    const green = [...LABEL_COLOURS[1]!];
    assert.deepEqual(pixel(montage, t.x + 2 * scale, t.y + t.height - 1 - 2 * scale), green);
  });

  it('names each tile by its slice index (from 0) and marks R and L at its edges', () => {
    assert.deepEqual(
      montage.tiles.map((t) => t.slice),
      [2, 3],
    );
    for (const t of montage.tiles) {
      assert.ok(showsText(montage, `slice ${t.slice}`, t.x + 5, t.y + 5, 2), `slice ${t.slice}`);
      const mid = t.y + Math.round((t.height - 14) / 2);
      assert.ok(showsText(montage, 'R', t.x + 5, mid, 2), 'R on the left');
      assert.ok(showsText(montage, 'L', t.x + t.width - 5 - 10, mid, 2), 'L on the right');
    }
  });

  it('adds a legend below the tiles: a swatch and the name of each class shown', () => {
    assert.deepEqual(montage.legend, [
      { value: 1, name: 'liver' },
      { value: 2, name: 'spleen' },
    ]);
    const t = montage.tiles[0]!;
    assert.equal(montage.legendTop, t.y + t.height);
    assert.ok(montage.height > montage.legendTop);
    // First entry at (GAP, GAP) below the tiles: a 14-px swatch in label 1's colour, then its name.
    assert.deepEqual(pixel(montage, 4 + 3, montage.legendTop + 4 + 3), [...LABEL_COLOURS[0]!]);
    assert.ok(showsText(montage, 'liver', 4 + 14 + 6, montage.legendTop + 4, 2));
    // Without class names, labels are named by value.
    const unnamed = overlayMontage(image, labels, { slices: 2 });
    assert.deepEqual(
      unnamed.legend.map((e) => e.name),
      ['label 1', 'label 2'],
    );
  });
});
