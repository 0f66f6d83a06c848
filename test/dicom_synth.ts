// Test helper: writes small synthetic DICOM Part 10 files (PS3.10 §7.1 meta group, PS3.5 §7 element
// encoding, §A.4 encapsulation) so tests can cover pixel formats and transfer syntaxes no fixture has.
import { deflateSync } from 'fflate';
import { concatBytes } from '../src/io/bytes.js';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
} as const;

/** VRs of the tags tests set (keys are dicom-parser style 'GGGGEEEE'). */
const VR: Record<string, string> = {
  '00080016': 'UI',
  '00080018': 'UI',
  '00080060': 'CS',
  '0020000D': 'UI',
  '0020000E': 'UI',
  '00200013': 'IS',
  '00200032': 'DS',
  '00200037': 'DS',
  '00200052': 'UI',
  '00180050': 'DS',
  '00180088': 'DS',
  '00280002': 'US',
  '00280004': 'CS',
  '00280008': 'IS',
  '00280010': 'US',
  '00280011': 'US',
  '00280030': 'DS',
  '00280100': 'US',
  '00280101': 'US',
  '00280102': 'US',
  '00280103': 'US',
  '00281052': 'DS',
  '00281053': 'DS',
};

export interface SynthImage {
  readonly rows: number;
  readonly columns: number;
  readonly transferSyntax?: string;
  readonly bitsAllocated?: number;
  readonly bitsStored?: number;
  readonly highBit?: number;
  readonly pixelRepresentation?: number;
  readonly samplesPerPixel?: number;
  readonly photometric?: string;
  /** Native pixel bytes (already in the syntax's byte order), or the fragments of one encapsulated frame. */
  readonly pixelData: Uint8Array | readonly Uint8Array[];
  /** More attributes by 'GGGGEEEE' (must be in the VR table above): strings or US numbers. */
  readonly attrs?: Readonly<Record<string, string | number>>;
}

class Writer {
  private readonly chunks: Uint8Array[] = [];
  constructor(
    private readonly littleEndian: boolean,
    private readonly explicit: boolean,
  ) {}
  private raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
  }
  private num(value: number, size: 2 | 4): Uint8Array {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    if (size === 2) v.setUint16(0, value, this.littleEndian);
    else v.setUint32(0, value, this.littleEndian);
    return b;
  }
  header(tag: string, vr: string, length: number): void {
    this.raw(this.num(Number.parseInt(tag.slice(0, 4), 16), 2));
    this.raw(this.num(Number.parseInt(tag.slice(4), 16), 2));
    if (!this.explicit) {
      this.raw(this.num(length, 4));
    } else if (['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr)) {
      this.raw(new TextEncoder().encode(vr));
      this.raw(new Uint8Array(2));
      this.raw(this.num(length, 4));
    } else {
      this.raw(new TextEncoder().encode(vr));
      this.raw(this.num(length, 2));
    }
  }
  element(tag: string, vr: string, value: string | number | Uint8Array): void {
    let bytes: Uint8Array;
    if (value instanceof Uint8Array) bytes = value;
    else if (vr === 'US') bytes = this.num(Number(value), 2);
    else if (vr === 'UL') bytes = this.num(Number(value), 4);
    else {
      const s = String(value);
      bytes = new TextEncoder().encode(s.length % 2 === 0 ? s : s + (vr === 'UI' ? '\0' : ' '));
    }
    if (bytes.length % 2 === 1) bytes = concatBytes([bytes, new Uint8Array(1)]);
    this.header(tag, vr, bytes.length);
    this.raw(bytes);
  }
  /** Encapsulated Pixel Data: empty basic offset table, one item per fragment, sequence delimiter. */
  encapsulated(fragments: readonly Uint8Array[]): void {
    this.header('7FE00010', 'OB', 0xffffffff);
    const item = (tag: number, body: Uint8Array) => {
      const h = new DataView(new ArrayBuffer(8));
      h.setUint16(0, 0xfffe, true);
      h.setUint16(2, tag, true);
      h.setUint32(4, body.length, true);
      this.raw(new Uint8Array(h.buffer));
      this.raw(body);
    };
    item(0xe000, new Uint8Array(0));
    for (const f of fragments) item(0xe000, f.length % 2 === 0 ? f : concatBytes([f, new Uint8Array(1)]));
    item(0xe0dd, new Uint8Array(0));
  }
  bytes(): Uint8Array {
    return concatBytes(this.chunks);
  }
}

/** A complete Part 10 file holding one image. */
export function writeDicom(img: SynthImage): Uint8Array {
  const ts = img.transferSyntax ?? TS.explicitLE;
  const bitsAllocated = img.bitsAllocated ?? 16;
  const bitsStored = img.bitsStored ?? bitsAllocated;
  const attrs: Record<string, string | number> = {
    '00080016': '1.2.840.10008.5.1.4.1.1.7',
    '00080018': '1.2.826.0.1.3680043.9.9999.1',
    '00280002': img.samplesPerPixel ?? 1,
    '00280004': img.photometric ?? 'MONOCHROME2',
    '00280010': img.rows,
    '00280011': img.columns,
    '00280100': bitsAllocated,
    '00280101': bitsStored,
    '00280102': img.highBit ?? bitsStored - 1,
    '00280103': img.pixelRepresentation ?? 0,
    ...img.attrs,
  };

  const meta = new Writer(true, true);
  meta.element('00020001', 'OB', new Uint8Array([0, 1]));
  meta.element('00020002', 'UI', String(attrs['00080016']));
  meta.element('00020003', 'UI', String(attrs['00080018']));
  meta.element('00020010', 'UI', ts);
  meta.element('00020012', 'UI', '1.2.826.0.1.3680043.9.9999');
  const metaBody = meta.bytes();
  const groupLength = new Writer(true, true);
  groupLength.element('00020000', 'UL', metaBody.length);

  const body = new Writer(ts !== TS.explicitBE, ts !== TS.implicitLE);
  for (const tag of Object.keys(attrs).sort()) {
    const vr = VR[tag];
    if (!vr) throw new Error(`dicom_synth: no VR for ${tag}`);
    body.element(tag, vr, attrs[tag]!);
  }
  if (img.pixelData instanceof Uint8Array)
    body.element('7FE00010', bitsAllocated > 8 ? 'OW' : 'OB', img.pixelData);
  else body.encapsulated(img.pixelData);
  let dataSet = body.bytes();
  if (ts === TS.deflated) dataSet = deflateSync(dataSet);

  const preamble = new Uint8Array(132);
  preamble.set(new TextEncoder().encode('DICM'), 128);
  return concatBytes([preamble, groupLength.bytes(), metaBody, dataSet]);
}

/** 16-bit words → bytes in the given order. */
export function words16(values: ArrayLike<number>, littleEndian = true): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) v.setUint16(2 * i, values[i]! & 0xffff, littleEndian);
  return out;
}

/** FNV-1a (32-bit) over the little-endian bytes of int32 values: a compact voxel-for-voxel fingerprint. */
export function fnv1a(values: Int32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return `0x${h.toString(16)}`;
}
