// Sequential Huffman DCT JPEG decoder (ITU-T T.81 processes 1, 2 and 4: SOF0/SOF1, 8- or 12-bit) for one
// grayscale component, the JPEG Extended 12-bit case (DICOM 1.2.840.10008.1.2.4.51) that no bundled codec
// decodes. The inverse DCT is IJG libjpeg's jidctint.c (islow), so results match libjpeg/DCMTK bit for bit.

/** A decoded grayscale JPEG frame: samples row-major, unsigned `precision`-bit values. */
export interface JpegDctFrame {
  readonly width: number;
  readonly height: number;
  /** Sample precision P from the SOF marker: 8 or 12. */
  readonly precision: number;
  readonly data: Uint16Array;
}

/** Thrown for malformed or unsupported JPEG streams; the caller adds the file name. */
export class JpegDctError extends Error {
  override name = 'JpegDctError';
}

/** T.81 Figure A.6: zig-zag index → natural (row-major) index within an 8×8 block. */
const NATURAL_ORDER = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
];

/** Canonical Huffman table in IJG's (mincode, maxcode, valptr) form, T.81 Annex C / F.2.2.3. */
interface HuffmanTable {
  readonly minCode: Int32Array;
  readonly maxCode: Int32Array;
  readonly valPtr: Int32Array;
  readonly values: Uint8Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const minCode = new Int32Array(17);
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    valPtr[len] = k;
    minCode[len] = code;
    code += n;
    k += n;
    maxCode[len] = n > 0 ? code - 1 : -1;
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // sentinel: a 17-bit code is always an error
  return { minCode, maxCode, valPtr, values };
}

/** Bit reader over entropy-coded data: removes 0xFF00 stuffing, stops at markers (then feeds zeros). */
class BitReader {
  private bitBuf = 0;
  private bitCount = 0;
  /** A marker was reached; like IJG, further reads return zero bits. */
  hitMarker = false;
  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  private fill(): void {
    let byte = 0;
    if (!this.hitMarker && this.pos < this.data.length) {
      byte = this.data[this.pos]!;
      if (byte === 0xff) {
        const next = this.data[this.pos + 1] ?? 0xd9;
        if (next === 0x00) this.pos += 2;
        else {
          this.hitMarker = true;
          byte = 0;
        }
      } else this.pos++;
    }
    this.bitBuf = ((this.bitBuf << 8) | byte) & 0xffffff;
    this.bitCount += 8;
  }

  bit(): number {
    if (this.bitCount === 0) this.fill();
    this.bitCount--;
    return (this.bitBuf >> this.bitCount) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  decode(t: HuffmanTable): number {
    let code = this.bit();
    let len = 1;
    while (code > t.maxCode[len]!) {
      code = (code << 1) | this.bit();
      len++;
      if (len > 16) throw new JpegDctError('corrupt Huffman code in entropy-coded data');
    }
    return t.values[t.valPtr[len]! + code - t.minCode[len]!]!;
  }

  /** Skip to the next RSTn marker (restart interval boundary) and reset the bit buffer. */
  restart(): void {
    this.bitCount = 0;
    this.bitBuf = 0;
    this.hitMarker = false;
    while (this.pos + 1 < this.data.length) {
      if (
        this.data[this.pos] === 0xff &&
        this.data[this.pos + 1]! >= 0xd0 &&
        this.data[this.pos + 1]! <= 0xd7
      ) {
        this.pos += 2;
        return;
      }
      this.pos++;
    }
  }
}

/** T.81 F.2.2.1 EXTEND: a `size`-bit magnitude category value → signed difference. */
function extend(v: number, size: number): number {
  return size > 0 && v < 1 << (size - 1) ? v - (1 << size) + 1 : v;
}

// jidctint.c constants: FIX(x) = round(x · 2^13).
const CONST_BITS = 13;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** IJG DESCALE: round-half-up right shift. Float maths keeps it exact where IJG's INT32 (long) would be. */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/**
 * One 1-D pass of the islow IDCT (LL&M algorithm, jidctint.c) over `inp` at stride `s`; `out` receives the
 * 8 results before descaling, in natural order.
 */
function idct1d(inp: Float64Array, o: number, s: number, out: Float64Array): void {
  let z2 = inp[o + 2 * s]!;
  let z3 = inp[o + 6 * s]!;
  let z1 = (z2 + z3) * FIX_0_541196100;
  const tmp2e = z1 + z3 * -FIX_1_847759065;
  const tmp3e = z1 + z2 * FIX_0_765366865;
  z2 = inp[o]!;
  z3 = inp[o + 4 * s]!;
  const tmp0e = (z2 + z3) * 2 ** CONST_BITS;
  const tmp1e = (z2 - z3) * 2 ** CONST_BITS;
  const tmp10 = tmp0e + tmp3e;
  const tmp13 = tmp0e - tmp3e;
  const tmp11 = tmp1e + tmp2e;
  const tmp12 = tmp1e - tmp2e;

  let tmp0 = inp[o + 7 * s]!;
  let tmp1 = inp[o + 5 * s]!;
  let tmp2 = inp[o + 3 * s]!;
  let tmp3 = inp[o + s]!;
  z1 = tmp0 + tmp3;
  z2 = tmp1 + tmp2;
  z3 = tmp0 + tmp2;
  let z4 = tmp1 + tmp3;
  const z5 = (z3 + z4) * FIX_1_175875602;
  tmp0 *= FIX_0_298631336;
  tmp1 *= FIX_2_053119869;
  tmp2 *= FIX_3_072711026;
  tmp3 *= FIX_1_501321110;
  z1 *= -FIX_0_899976223;
  z2 *= -FIX_2_562915447;
  z3 = z3 * -FIX_1_961570560 + z5;
  z4 = z4 * -FIX_0_390180644 + z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;

  out[0] = tmp10 + tmp3;
  out[7] = tmp10 - tmp3;
  out[1] = tmp11 + tmp2;
  out[6] = tmp11 - tmp2;
  out[2] = tmp12 + tmp1;
  out[5] = tmp12 - tmp1;
  out[3] = tmp13 + tmp0;
  out[4] = tmp13 - tmp0;
}

/**
 * islow IDCT of one dequantized block (natural order) into samples, with IJG's range-limit table semantics:
 * the level-shifted result is taken modulo 4·2^P, then clamped to [0, 2^P − 1].
 */
function idctBlock(coef: Float64Array, precision: number, out: Uint16Array, outOff: number, stride: number) {
  const pass1Bits = precision === 8 ? 2 : 1; // IJG loses a bit of precision at 12 bits to avoid overflow
  const ws = new Float64Array(64);
  const tmp = new Float64Array(8);
  for (let c = 0; c < 8; c++) {
    idct1d(coef, c, 8, tmp);
    for (let r = 0; r < 8; r++) ws[r * 8 + c] = descale(tmp[r]!, CONST_BITS - pass1Bits);
  }
  const maxVal = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const range = 4 << precision;
  for (let r = 0; r < 8; r++) {
    idct1d(ws, r * 8, 1, tmp);
    for (let c = 0; c < 8; c++) {
      const v = descale(tmp[c]!, CONST_BITS + pass1Bits + 3);
      const wrapped = ((((v + range / 2) % range) + range) % range) - range / 2 + center;
      out[outOff + r * stride + c] = wrapped < 0 ? 0 : wrapped > maxVal ? maxVal : wrapped;
    }
  }
}

interface Frame {
  precision: number;
  width: number;
  height: number;
  componentId: number;
  quantTable: number;
}

/**
 * Decode a baseline/extended sequential JPEG (SOF0 or SOF1) with one component into `precision`-bit samples.
 * Like libjpeg, the SOS spectral-selection fields are ignored for sequential frames (some DICOM files, e.g.
 * pydicom's JPEG-lossy.dcm, write Se = 0 instead of 63).
 * @throws JpegDctError for other processes (progressive, lossless, arithmetic), several components or bad data.
 */
export function decodeJpegDct(bytes: Uint8Array): JpegDctFrame {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new JpegDctError('no JPEG SOI marker');
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let pos = 2;
  const u16 = (p: number): number => {
    if (p + 1 >= bytes.length) throw new JpegDctError('JPEG stream ends inside a marker segment');
    return (bytes[p]! << 8) | bytes[p + 1]!;
  };
  while (pos < bytes.length) {
    if (bytes[pos] !== 0xff) {
      pos++; // tolerate fill bytes between segments
      continue;
    }
    const marker = bytes[pos + 1]!;
    pos += 2;
    if (marker === 0xff || marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd9) break;
    const len = u16(pos);
    const seg = bytes.subarray(pos + 2, pos + len);
    if (marker === 0xdb) readQuantTables(seg, quant);
    else if (marker === 0xc4) readHuffmanTables(seg, dcTables, acTables);
    else if (marker === 0xdd) restartInterval = u16(pos + 2);
    else if (marker === 0xc0 || marker === 0xc1) frame = readFrame(seg);
    else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new JpegDctError(`JPEG process SOF${marker - 0xc0} is not sequential Huffman DCT`);
    } else if (marker === 0xda) {
      if (!frame) throw new JpegDctError('SOS before SOF');
      const ns = seg[0]!;
      if (ns !== 1 || seg[1] !== frame.componentId)
        throw new JpegDctError('scan does not hold the one component');
      const dc = dcTables[seg[2]! >> 4];
      const ac = acTables[seg[2]! & 15];
      const q = quant[frame.quantTable];
      if (!dc || !ac || !q) throw new JpegDctError('scan refers to a missing Huffman or quantization table');
      return decodeScan(bytes, pos + len, frame, { dc, ac, q, restartInterval });
    }
    pos += len;
  }
  throw new JpegDctError('no scan (SOS) found in JPEG stream');
}

function readQuantTables(seg: Uint8Array, quant: (Uint16Array | undefined)[]): void {
  let p = 0;
  while (p < seg.length) {
    const pq = seg[p]! >> 4;
    const tq = seg[p]! & 15;
    p++;
    const table = new Uint16Array(64);
    for (let i = 0; i < 64; i++) {
      table[NATURAL_ORDER[i]!] = pq === 0 ? seg[p + i]! : (seg[p + 2 * i]! << 8) | seg[p + 2 * i + 1]!;
    }
    p += pq === 0 ? 64 : 128;
    quant[tq] = table;
  }
}

function readHuffmanTables(
  seg: Uint8Array,
  dc: (HuffmanTable | undefined)[],
  ac: (HuffmanTable | undefined)[],
) {
  let p = 0;
  while (p < seg.length) {
    const tc = seg[p]! >> 4;
    const th = seg[p]! & 15;
    const counts = seg.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    const table = buildHuffman(counts, seg.slice(p + 17, p + 17 + total));
    if (tc === 0) dc[th] = table;
    else ac[th] = table;
    p += 17 + total;
  }
}

function readFrame(seg: Uint8Array): Frame {
  const precision = seg[0]!;
  if (precision !== 8 && precision !== 12) throw new JpegDctError(`JPEG sample precision ${precision}`);
  const height = (seg[1]! << 8) | seg[2]!;
  const width = (seg[3]! << 8) | seg[4]!;
  const nc = seg[5]!;
  if (nc !== 1) throw new JpegDctError(`${nc} colour components (only grayscale is supported)`);
  if (height === 0 || width === 0) throw new JpegDctError('JPEG frame without dimensions (DNL unsupported)');
  return { precision, width, height, componentId: seg[6]!, quantTable: seg[8]! };
}

interface ScanTables {
  readonly dc: HuffmanTable;
  readonly ac: HuffmanTable;
  readonly q: Uint16Array;
  readonly restartInterval: number;
}

function decodeScan(bytes: Uint8Array, start: number, frame: Frame, t: ScanTables): JpegDctFrame {
  const { width, height, precision } = frame;
  const bw = Math.ceil(width / 8);
  const bh = Math.ceil(height / 8);
  const padded = new Uint16Array(bw * 8 * bh * 8);
  const reader = new BitReader(bytes, start);
  const coef = new Float64Array(64);
  let pred = 0;
  for (let b = 0; b < bw * bh; b++) {
    if (t.restartInterval > 0 && b > 0 && b % t.restartInterval === 0) {
      reader.restart();
      pred = 0;
    }
    coef.fill(0);
    const s = reader.decode(t.dc);
    pred += extend(reader.bits(s), s);
    coef[0] = pred * t.q[0]!;
    for (let k = 1; k < 64; ) {
      const rs = reader.decode(t.ac);
      const r = rs >> 4;
      const size = rs & 15;
      if (size === 0) {
        if (r !== 15) break; // EOB
        k += 16; // ZRL
        continue;
      }
      k += r;
      if (k > 63) break;
      const z = NATURAL_ORDER[k]!;
      coef[z] = extend(reader.bits(size), size) * t.q[z]!;
      k++;
    }
    const by = Math.floor(b / bw);
    const bx = b % bw;
    idctBlock(coef, precision, padded, by * 8 * bw * 8 + bx * 8, bw * 8);
  }
  const data = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) data.set(padded.subarray(y * bw * 8, y * bw * 8 + width), y * width);
  return { width, height, precision, data };
}
