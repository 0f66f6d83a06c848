// Pillow's 8-bit ('L' mode) kernels as the official RandAugment uses them (Pillow 9.4 semantics,
// masam-spec.md 8.6): affine transform (bilinear, and both nearest paths), blend, SMOOTH, posterize.
// Planes are row-major H×W Uint8Arrays; Pillow's x is the column, y the row.

/** PIL affine coefficients (a, b, c, d, e, f): output (x, y) samples input (a·x + b·y + c, d·x + e·y + f). */
export type AffineCoefficients = readonly [number, number, number, number, number, number];

/**
 * `Image.transform(size, AFFINE, coeffs, BILINEAR)` at the input size: samples at pixel centres
 * (x + 0.5, y + 0.5); outside the image → 0; neighbours clamped; computed in double, truncated.
 */
export function affineBilinear8(src: Uint8Array, h: number, w: number, a: AffineCoefficients): Uint8Array {
  const out = new Uint8Array(h * w);
  const [a0, a1, a2, a3, a4, a5] = a;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let xin = a0 * (x + 0.5) + a1 * (y + 0.5) + a2;
      let yin = a3 * (x + 0.5) + a4 * (y + 0.5) + a5;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) continue;
      xin -= 0.5;
      yin -= 0.5;
      const xf = Math.floor(xin);
      const yf = Math.floor(yin);
      const dx = xin - xf;
      const dy = yin - yf;
      const x0 = xf < 0 ? 0 : xf < w ? xf : w - 1;
      const x1 = xf + 1 < 0 ? 0 : xf + 1 < w ? xf + 1 : w - 1;
      const row = (yf < 0 ? 0 : yf < h ? yf : h - 1) * w;
      const v1 = src[row + x0]! + (src[row + x1]! - src[row + x0]!) * dx;
      let v2 = v1;
      if (yf + 1 >= 0 && yf + 1 < h) {
        const r1 = (yf + 1) * w;
        v2 = src[r1 + x0]! + (src[r1 + x1]! - src[r1 + x0]!) * dx;
      }
      out[y * w + x] = Math.trunc(v1 + (v2 - v1) * dy);
    }
  }
  return out;
}

/**
 * `Image.transform(size, AFFINE, coeffs, NEAREST)`. Pillow has two code paths: scale/translate (b = d = 0)
 * tabulates float64 positions accumulated step by step; anything else uses 16.16 fixed point.
 * Samples outside the image become 0.
 */
export function affineNearest8(src: Uint8Array, h: number, w: number, a: AffineCoefficients): Uint8Array {
  return a[1] === 0 && a[3] === 0 ? scaleAffineNearest(src, h, w, a) : fixedAffineNearest(src, h, w, a);
}

/** Pillow's COORD: −1 for negative positions, else the truncated index. */
function coord(v: number): number {
  return v < 0 ? -1 : Math.trunc(v);
}

function scaleAffineNearest(src: Uint8Array, h: number, w: number, a: AffineCoefficients): Uint8Array {
  const out = new Uint8Array(h * w);
  // xintab starts zeroed (calloc), so columns between xmin and xmax always read a valid index.
  const xintab = new Int32Array(w);
  let xmin = w;
  let xmax = 0;
  let xo = a[2] + a[0] * 0.5;
  for (let x = 0; x < w; x++) {
    const xin = coord(xo);
    if (xin >= 0 && xin < w) {
      xmax = x + 1;
      if (x < xmin) xmin = x;
      xintab[x] = xin;
    }
    xo += a[0];
  }
  let yo = a[5] + a[4] * 0.5;
  for (let y = 0; y < h; y++) {
    const yi = coord(yo);
    if (yi >= 0 && yi < h) for (let x = xmin; x < xmax; x++) out[y * w + x] = src[yi * w + xintab[x]!]!;
    yo += a[4];
  }
  return out;
}

function fixedAffineNearest(src: Uint8Array, h: number, w: number, a: AffineCoefficients): Uint8Array {
  const out = new Uint8Array(h * w);
  const fix = (v: number): number => Math.floor(v * 65536 + 0.5);
  const a0 = fix(a[0]);
  const a1 = fix(a[1]);
  const a3 = fix(a[3]);
  const a4 = fix(a[4]);
  let xo = fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
  let yo = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
  for (let y = 0; y < h; y++) {
    let xx = xo;
    let yy = yo;
    for (let x = 0; x < w; x++) {
      // `>> 16` on C ints is an arithmetic shift, i.e. floor division.
      const xin = Math.floor(xx / 65536);
      if (xin >= 0 && xin < w) {
        const yin = Math.floor(yy / 65536);
        if (yin >= 0 && yin < h) out[y * w + x] = src[yin * w + xin]!;
      }
      xx += a0;
      yy += a3;
    }
    xo += a1;
    yo += a4;
  }
  return out;
}

/**
 * `Image.blend(p, q, alpha)` for 8-bit images: float32 `p + α·(q − p)`, clipped to [0, 255] and
 * truncated. `p` may be a constant (contrast's grey level, brightness's black).
 */
export function blend8(p: Uint8Array | number, q: Uint8Array, alpha: number): Uint8Array {
  const f = Math.fround;
  const al = f(alpha);
  const out = new Uint8Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const pi = typeof p === 'number' ? p : p[i]!;
    const t = f(pi + f(al * (q[i]! - pi)));
    out[i] = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
  }
  return out;
}

/** `ImageStat.Stat(img).mean` rounded as ImageEnhance.Contrast does: int(mean + 0.5). */
export function meanLevel8(src: Uint8Array): number {
  let sum = 0;
  for (const v of src) sum += v;
  return Math.trunc(sum / src.length + 0.5);
}

/**
 * `ImageFilter.SMOOTH`: the 3×3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]]/13 on interior pixels, rounded
 * (sum/13 is never a tie); the border rows and columns are copied unchanged.
 */
export function smooth8(src: Uint8Array, h: number, w: number): Uint8Array {
  const out = src.slice();
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const s =
        src[i - w - 1]! +
        src[i - w]! +
        src[i - w + 1]! +
        src[i - 1]! +
        5 * src[i]! +
        src[i + 1]! +
        src[i + w - 1]! +
        src[i + w]! +
        src[i + w + 1]!;
      out[i] = Math.floor(s / 13 + 0.5);
    }
  }
  return out;
}

/** `ImageOps.posterize(img, bits)`: keep the top `bits` bits of each value. */
export function posterize8(src: Uint8Array, bits: number): Uint8Array {
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  return src.map((v) => v & mask);
}
