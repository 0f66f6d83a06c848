// A 5×7 bitmap font for text drawn into RGBA pixel buffers (chart labels, overlay legends and slice
// numbers), so PNGs carry readable text without a font library. Lowercase letters are drawn as capitals.
import type { RgbaImage } from './overlay.js';

// 5×7 glyphs: the character, then 7 rows as 2 hex digits each (bit 4 = leftmost column).
const FONT_DATA =
  '00e11131519110e1040c040404040e20e11010204081f31f02040201110e402060a121f020251f101e0101110e60608101e1111' +
  '0e71f01020408080880e11110e11110e90e11110f01020cA0e11111f111111B1e11111e11111eC0e11101010110eD1c12111111' +
  '121cE1f10101e10101fF1f10101e101010G0e11101711110fH1111111f111111I0e04040404040eJ0702020202120cK111214' +
  '18141211L1010101010101fM111b1515111111N11111915131111O0e11111111110eP1e11111e101010Q0e11111115120dR1e' +
  '11111e141211S0f10100e01011eT1f040404040404U1111111111110eV11111111110a04W1111111515150aX11110a040a1111' +
  'Y11110a04040404Z1f01020408101f.00000000000c0c,000000000c0408-0000001f000000+0004041f040400_00000000000' +
  '01f:000c0c000c0c00/00010204081000(02040808080402)08040202020408[0e08080808080e]0e02020202020e%1819020' +
  "4081303=00001f001f0000±04041f0404001f@0e11171517100e#0a0a1f0a1f0a0a<02040810080402>08040201020408'04" +
  '040800000000×00110a040a1100*0004150e150400?0e110102040004!04040404040004';

const FONT: ReadonlyMap<string, readonly number[]> = (() => {
  const map = new Map<string, number[]>();
  for (let i = 0; i < FONT_DATA.length; i += 15) {
    const rows: number[] = [];
    for (let r = 0; r < 7; r++) rows.push(Number.parseInt(FONT_DATA.slice(i + 1 + 2 * r, i + 3 + 2 * r), 16));
    map.set(FONT_DATA[i]!, rows);
  }
  return map;
})();
export const GLYPH_W = 5;
export const GLYPH_H = 7;
export const ADVANCE = 6;

/** Width in pixels of `text` at `scale` (the font is 5×7 with one column of spacing). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** The glyph rows of `ch` (capitals for lowercase, '?' for unknown characters, undefined for a space). */
export function glyphOf(ch: string): readonly number[] | undefined {
  return FONT.get(ch) ?? FONT.get(ch.toUpperCase()) ?? (ch === ' ' ? undefined : FONT.get('?'));
}

/** Draws `text` into `image` with its top-left corner at (x, y), clipped to the image. */
export function drawText(
  image: RgbaImage,
  text: string,
  x: number,
  y: number,
  colour: readonly [number, number, number],
  scale = 1,
): void {
  [...text].forEach((ch, n) => {
    const glyph = glyphOf(ch);
    if (glyph === undefined) return;
    for (let r = 0; r < GLYPH_H * scale; r++) {
      for (let c = 0; c < GLYPH_W * scale; c++) {
        if (((glyph[Math.floor(r / scale)]! >> (GLYPH_W - 1 - Math.floor(c / scale))) & 1) === 0) continue;
        const px = x + n * ADVANCE * scale + c;
        const py = y + r;
        if (px < 0 || py < 0 || px >= image.width || py >= image.height) continue;
        image.rgba.set(colour, 4 * (py * image.width + px));
      }
    }
  });
}
