// Label map → DICOM Segmentation object (Segmentation Storage, a Part 10 file in Explicit VR Little Endian)
// referencing the series the labels were computed on. Follows PS3.3 A.51 (Segmentation IOD) and its modules:
// C.8.20.1 Segmentation Series, C.8.20.2 Segmentation Image (SegmentationType BINARY) with the C.8.20.4
// Segment Description macro, C.7.6.16 Multi-frame Functional Groups (C.7.6.16.2: Pixel Measures, Frame
// Content, Plane Position (Patient), Plane Orientation (Patient), Derivation Image; C.8.20.3 Segment
// Identification), C.7.6.17 Multi-frame Dimension, C.12.2 Common Instance Reference, C.7.5.1/C.7.5.2 General
// and Enhanced General Equipment; PS3.5 §7 (data elements, explicit lengths), §8.1.1 (1-bit pixels: first
// pixel in the least significant bit, frames packed back to back) and B.2 (2.25 UUID UIDs); PS3.10 §7.1 (file
// meta information). Bytes out, no file system: the CLI writes the file. The writer's input, DicomSeriesInfo,
// is declared here rather than in dicom.ts so that volume.ts can name it without pulling the DICOM decoders
// into every program that uses volumes (the viewer's typecheck included).
import { MasamError } from '../core/errors.js';
import { concatBytes } from './bytes.js';
import type { Volume } from './volume.js';

/** A point or vector in DICOM patient coordinates (LPS, mm). */
type Lps = readonly [number, number, number];

/**
 * Patient and General Study module attributes (PS3.3 C.7.1.1, C.7.2.1) that a derived object such as a
 * DICOM-SEG copies from its source: keyword → [tag, VR].
 */
export const STUDY_ATTRIBUTES = {
  PatientName: [0x00100010, 'PN'],
  PatientID: [0x00100020, 'LO'],
  PatientBirthDate: [0x00100030, 'DA'],
  PatientSex: [0x00100040, 'CS'],
  StudyDate: [0x00080020, 'DA'],
  StudyTime: [0x00080030, 'TM'],
  StudyID: [0x00200010, 'SH'],
  AccessionNumber: [0x00080050, 'SH'],
  ReferringPhysicianName: [0x00080090, 'PN'],
  StudyDescription: [0x00081030, 'LO'],
} as const;

export type StudyKeyword = keyof typeof STUDY_ATTRIBUTES;

/**
 * STUDY_ATTRIBUTES values as stored, one character per byte (the SpecificCharacterSet says how to read the
 * bytes), trailing padding removed: a writer copies them back byte for byte, whatever the character set.
 */
export type DicomStudyAttributes = Readonly<Partial<Record<StudyKeyword, string>>>;

/** One slice of the source series, as a derived object references it. */
export interface DicomSliceRef {
  /** The file (for messages). */
  readonly source: string;
  readonly sopClassUID?: string;
  readonly sopInstanceUID?: string;
  /** ImagePositionPatient, LPS mm (the volume origin for a single slice without one). */
  readonly imagePositionPatient: Lps;
}

/**
 * What a DICOM-SEG writer needs from the source series; dicomSeriesToVolume puts it on `volume.source.dicom`,
 * apart from `source.header` (which NIfTI writers and viewers read) because it holds patient data.
 */
export interface DicomSeriesInfo {
  /** The name the series was read from (the folder), for messages. */
  readonly source: string;
  readonly rows: number;
  readonly columns: number;
  /** The slices in volume order: slice k is the k-plane of the volume. */
  readonly slices: readonly DicomSliceRef[];
  /** As used for the volume (identity when absent): row direction, then column direction, LPS. */
  readonly imageOrientationPatient: readonly [number, number, number, number, number, number];
  /** As used for the volume ([1, 1] when absent): [between rows, between columns] mm. */
  readonly pixelSpacing: readonly [number, number];
  /** The step from slice k to k + 1, LPS mm (the volume's third affine column before LPS → RAS). */
  readonly sliceStep: Lps;
  readonly sliceThickness?: number;
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
  readonly frameOfReferenceUID?: string;
  readonly modality?: string;
  readonly specificCharacterSet?: string;
  readonly study: DicomStudyAttributes;
}

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** masam's Implementation Class UID (PS3.7 D.3.3.2): a fixed 2.25 UUID UID. */
const IMPLEMENTATION_CLASS_UID = '2.25.116830492193531706802087827521887220403';
/** Local coding scheme of the segment property types: code value = class index, meaning = class name. */
export const MASAM_CODING_SCHEME = '99MASAM';

/** Options of serializeDicomSeg. */
export interface DicomSegOptions {
  /** Class names by label value; value 0 is the background and never a segment. */
  readonly classNames: readonly string[];
  /** A name for messages (the output file). */
  readonly name?: string;
  /** SeriesDescription; default 'masam segmentation'. */
  readonly seriesDescription?: string;
  /** SeriesNumber; default 1000, so the SEG sorts after the acquired series in a PACS list. */
  readonly seriesNumber?: number;
  /** SoftwareVersions (Enhanced General Equipment, Type 1); default 'unknown'. */
  readonly softwareVersion?: string;
  /** ContentCreatorName (Type 2); default empty, since no person drew it. */
  readonly contentCreatorName?: string;
  /** Creation date and time; default now (local time, as DICOM dates are). */
  readonly now?: Date;
  /** UID source; default `newUid` (random 2.25 UIDs). */
  readonly uid?: () => string;
  /**
   * SegmentAlgorithmType (PS3.3 C.8.20.4): 'AUTOMATIC' (default) for a model's result, 'SEMIAUTOMATIC' for
   * a result a user edited, 'MANUAL' for one drawn by hand (then no SegmentAlgorithmName, which is 1C).
   */
  readonly algorithmType?: 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL';
}

/** One segment of the written SEG. */
export interface DicomSegSegment {
  /** SegmentNumber, 1-based. */
  readonly number: number;
  /** The label value it encodes. */
  readonly classIndex: number;
  /** SegmentLabel: the class name. */
  readonly label: string;
  /** How many frames (slices) it has. */
  readonly frames: number;
}

/** What serializeDicomSeg produced. */
export interface DicomSeg {
  readonly bytes: Uint8Array;
  readonly sopInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly segments: readonly DicomSegSegment[];
  readonly frames: number;
  /** No foreground voxel: every foreground class is a segment with one empty frame (see serializeDicomSeg). */
  readonly empty: boolean;
}

/**
 * The 2.25 UID (PS3.5 B.2) of the UUID made of `bits` (at least 16 bytes; the first 16 are used) with the
 * RFC 9562 `version` and variant bits set: at most 44 characters, no leading zero.
 */
export function uuidUid(bits: Uint8Array, version: number): string {
  if (bits.length < 16) throw new MasamError(`a UUID needs 16 bytes, got ${bits.length}`);
  const b = bits.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | (version << 4);
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return `2.25.${n}`;
}

/** A new UID under 2.25 (PS3.5 B.2): the decimal value of a random version-4 UUID. */
export function newUid(): string {
  return uuidUid(globalThis.crypto.getRandomValues(new Uint8Array(16)), 4);
}

// ---- Element encoding: explicit VR little endian, explicit lengths everywhere (PS3.5 §7.1.2, §7.5) ----

/** VRs whose explicit-VR header has a 4-byte length (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** Maximum characters of the text VRs we write from our own strings (PS3.5 Table 6.2-1). */
const MAX_CHARS: Record<string, number> = { CS: 16, SH: 16, LO: 64, PN: 64, ST: 1024 };

/** One encoded data element; a data set sorts its elements by tag before joining them (PS3.5 §7.1). */
interface Element {
  readonly tag: number;
  readonly bytes: Uint8Array;
}

/** Values have even length (PS3.5 §7.1.1): text pads with a space, UI and OB with NUL. */
function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  return bytes.length % 2 === 0 ? bytes : concatBytes([bytes, new Uint8Array([pad])]);
}

function element(tag: number, vr: string, value: Uint8Array): Element {
  const long = LONG_VRS.has(vr);
  if (!long && value.length > 0xffff) throw new MasamError(`DICOM ${vr} value of ${value.length} bytes`);
  const head = new DataView(new ArrayBuffer(long ? 12 : 8));
  head.setUint16(0, tag >>> 16, true);
  head.setUint16(2, tag & 0xffff, true);
  head.setUint8(4, vr.charCodeAt(0));
  head.setUint8(5, vr.charCodeAt(1));
  if (long) head.setUint32(8, value.length, true);
  else head.setUint16(6, value.length, true);
  return { tag, bytes: concatBytes([new Uint8Array(head.buffer), value]) };
}

function dataSet(elements: readonly Element[]): Uint8Array {
  return concatBytes([...elements].sort((a, b) => a.tag - b.tag).map((e) => e.bytes));
}

/** A byte string (one character per byte, as copied from the source) → its bytes. */
const byteString = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** DS (PS3.5 Table 6.2-1): at most 16 characters, so long fractions lose their last digits. */
function decimalString(x: number): string {
  if (!Number.isFinite(x)) throw new MasamError(`cannot write ${x} as a DICOM decimal string`);
  const v = x + 0; // no '-0'
  let s = String(v);
  for (let p = 15; s.length > 16 && p >= 1; p--) s = v.toPrecision(p);
  return s;
}

/** How our own text (class names, descriptions) is encoded, from the data set's SpecificCharacterSet. */
type OwnText = 'utf8' | 'latin1' | 'ascii';

/** Encoders of one data set. */
class Encoder {
  constructor(private readonly own: OwnText) {}

  /** Our own text: control characters and the value delimiter replaced, cut to the VR's length. */
  text(tag: number, vr: string, value: string | readonly string[]): Element {
    const values = (typeof value === 'string' ? [value] : value).map((v) =>
      Array.from(v, (c) => (c < ' ' || c === '\x7f' || c === '\\' ? ' ' : c))
        .join('')
        .slice(0, MAX_CHARS[vr] ?? 64),
    );
    const s = values.join('\\');
    const bytes =
      this.own === 'utf8'
        ? new TextEncoder().encode(s)
        : byteString(
            s.replace(this.own === 'latin1' ? /[^\u0020-\u007e\u00a0-\u00ff]/g : /[^\u0020-\u007e]/g, '?'),
          );
    return element(tag, vr, padEven(bytes, 0x20));
  }
  /** A value copied from the source, byte for byte. */
  stored(tag: number, vr: string, value: string): Element {
    return element(tag, vr, padEven(byteString(value), 0x20));
  }
  ui(tag: number, uid: string): Element {
    return element(tag, 'UI', padEven(byteString(uid), 0));
  }
  ds(tag: number, values: readonly number[]): Element {
    return element(tag, 'DS', padEven(byteString(values.map(decimalString).join('\\')), 0x20));
  }
  is(tag: number, value: number): Element {
    return element(tag, 'IS', padEven(byteString(String(Math.round(value))), 0x20));
  }
  us(tag: number, values: readonly number[]): Element {
    const v = new DataView(new ArrayBuffer(2 * values.length));
    for (let i = 0; i < values.length; i++) v.setUint16(2 * i, values[i]!, true);
    return element(tag, 'US', new Uint8Array(v.buffer));
  }
  ul(tag: number, values: readonly number[]): Element {
    const v = new DataView(new ArrayBuffer(4 * values.length));
    for (let i = 0; i < values.length; i++) v.setUint32(4 * i, values[i]!, true);
    return element(tag, 'UL', new Uint8Array(v.buffer));
  }
  /** AT: a tag as (group, element). */
  at(tag: number, value: number): Element {
    const v = new DataView(new ArrayBuffer(4));
    v.setUint16(0, value >>> 16, true);
    v.setUint16(2, value & 0xffff, true);
    return element(tag, 'AT', new Uint8Array(v.buffer));
  }
  ob(tag: number, bytes: Uint8Array): Element {
    return element(tag, 'OB', padEven(bytes, 0));
  }
  /** SQ with explicit lengths: each item is (FFFE,E000), its length, its sorted elements. */
  sq(tag: number, items: readonly (readonly Element[])[]): Element {
    const parts: Uint8Array[] = [];
    for (const item of items) {
      const body = dataSet(item);
      const head = new DataView(new ArrayBuffer(8));
      head.setUint16(0, 0xfffe, true);
      head.setUint16(2, 0xe000, true);
      head.setUint32(4, body.length, true);
      parts.push(new Uint8Array(head.buffer), body);
    }
    return element(tag, 'SQ', concatBytes(parts));
  }
  /** Code Sequence macro item (PS3.3 Table 8.8-1). */
  code(value: string, scheme: string, meaning: string): Element[] {
    return [
      this.text(0x00080100, 'SH', value),
      this.text(0x00080102, 'SH', scheme),
      this.text(0x00080104, 'LO', meaning),
    ];
  }
}

// ---- Checks ----

const fmt = (v: readonly (number | string)[]) => `[${v.join(', ')}]`;

/** The source must have the UIDs a SEG copies or references (all Type 1 in CT/MR images). */
function checkSeries(series: DicomSeriesInfo): void {
  const first = series.slices[0]?.source ?? series.source;
  if (series.slices.length === 0) throw new MasamError(`${series.source}: the DICOM series has no slices`);
  const required: [string | undefined, string][] = [
    [series.studyInstanceUID, 'StudyInstanceUID (0020,000D)'],
    [series.seriesInstanceUID, 'SeriesInstanceUID (0020,000E)'],
    [series.frameOfReferenceUID, 'FrameOfReferenceUID (0020,0052)'],
  ];
  for (const [value, what] of required) {
    if (!value) throw new MasamError(`${first}: no ${what}, which a DICOM-SEG of this series must copy`);
  }
  for (const s of series.slices) {
    if (!s.sopClassUID || !s.sopInstanceUID) {
      throw new MasamError(
        `${s.source}: no ${s.sopClassUID ? 'SOPInstanceUID (0008,0018)' : 'SOPClassUID (0008,0016)'}, ` +
          'so a DICOM-SEG cannot reference this slice',
      );
    }
  }
}

/**
 * The label map must lie on the series grid as dicomSeriesToVolume built it: shape [Columns, Rows, slices]
 * and the same voxel → patient affine (a resampled or reoriented map would land on the wrong pixels).
 */
function checkGrid(labels: Volume, series: DicomSeriesInfo, name: string): void {
  const grid = [series.columns, series.rows, series.slices.length];
  if (labels.shape.length !== 3 || labels.shape.some((n, i) => n !== grid[i])) {
    throw new MasamError(
      `${name}: the label map is ${fmt(labels.shape)} but the DICOM series ${series.source} is ` +
        `${fmt(grid)} (columns, rows, slices); a DICOM-SEG needs labels on the series' own grid`,
    );
  }
  const iop = series.imageOrientationPatient;
  const [rowSpacing, colSpacing] = series.pixelSpacing;
  const o = series.slices[0]!.imagePositionPatient;
  const step = series.sliceStep;
  // LPS columns i → row direction · column spacing, j → column direction · row spacing, k → step, origin.
  const lps = [0, 1, 2].map((r) => [iop[r]! * colSpacing, iop[3 + r]! * rowSpacing, step[r]!, o[r]!]);
  let worst = 0;
  for (let r = 0; r < 3; r++) {
    const flip = r < 2 ? -1 : 1;
    for (let c = 0; c < 4; c++) {
      const want = flip * lps[r]![c]!;
      const diff = Math.abs(labels.affine[r]![c]! - want) / Math.max(1, Math.abs(want));
      worst = Math.max(worst, diff);
    }
  }
  if (worst > 1e-3) {
    throw new MasamError(
      `${name}: the label map's affine does not match the geometry of the DICOM series ${series.source} ` +
        "(resampled or reoriented?); a DICOM-SEG needs labels on the series' own grid",
    );
  }
}

/** presence[c · nz + k] = 1 when class c occurs in slice k; every value must be a class index. */
function classPresence(labels: Volume, classes: number, plane: number, nz: number, name: string): Uint8Array {
  const presence = new Uint8Array(classes * nz);
  const data = labels.data;
  for (let v = 0; v < data.length; v++) {
    const c = Number(data[v]);
    if (!(Number.isInteger(c) && c >= 0 && c < classes)) {
      throw new MasamError(
        `${name}: label value ${c} at voxel ${v} is not a class index (${classes} classes: 0 … ${classes - 1})`,
      );
    }
    presence[c * nz + Math.floor(v / plane)] = 1;
  }
  return presence;
}

const two = (n: number) => String(n).padStart(2, '0');
const dicomDate = (d: Date) => `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}`;
const dicomTime = (d: Date) => `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
const isAscii = (s: string) => Array.from(s).every((c) => c.charCodeAt(0) < 0x80);
const norm = (v: Lps) => Math.hypot(v[0], v[1], v[2]);

/**
 * Encode a label map computed on a DICOM series as a BINARY DICOM Segmentation of that series.
 *
 * - Axis mapping: the volume follows dicomSeriesToVolume, i = column, j = row, k = `series.slices[k]` (the
 *   slices sorted along the normal), so the k-plane of the label map is frame k in DICOM row-major order (column
 *   index fastest), with no transposition; the grid and affine are checked against the series first.
 * - Segments: one per foreground class present, numbered 1, 2, … in class order; SegmentLabel and the property
 *   type's meaning are the class name, the type code is (class index, '99MASAM'), the category SCT 91723000
 *   'Anatomical Structure'. Frames: one per (segment, slice) where the class occurs, by segment then slice;
 *   each references its source image and carries its ImagePositionPatient.
 * - No foreground at all: every foreground class becomes a segment with one empty frame (slice 0), as
 *   highdicom does, rather than writing nothing. A SEG needs at least one segment and one frame, and an
 *   explicit "found nothing" result is what a DICOM pipeline waiting for this object needs; `empty` says so.
 * - UIDs: SOPInstanceUID, SeriesInstanceUID and DimensionOrganizationUID from `options.uid`, in that order
 *   (default: random 2.25 UUIDs, no registered root needed); study, frame of reference, patient and study
 *   attributes are copied (the latter byte for byte with their SpecificCharacterSet). Our own text is UTF-8
 *   under ISO_IR 192, Latin-1 under ISO_IR 100, else ASCII ('?' for what the character set cannot hold).
 * @throws MasamError naming `options.name` or the source file: a label map off the series grid, a value that is
 *   not a class index, fewer than two classes, or a source slice without the UIDs a SEG must reference.
 */
export function serializeDicomSeg(
  labels: Volume,
  series: DicomSeriesInfo,
  options: DicomSegOptions,
): DicomSeg {
  const name = options.name ?? 'DICOM-SEG';
  const classNames = options.classNames;
  if (classNames.length < 2) {
    throw new MasamError(`${name}: a DICOM-SEG needs a foreground class; the classes are ${fmt(classNames)}`);
  }
  checkSeries(series);
  checkGrid(labels, series, name);
  const { rows, columns } = series;
  const plane = rows * columns;
  const nz = series.slices.length;
  const presence = classPresence(labels, classNames.length, plane, nz, name);

  // (class, slices) per segment; with no foreground at all, every class with one empty frame.
  let segments: { classIndex: number; slices: number[] }[] = [];
  for (let c = 1; c < classNames.length; c++) {
    const slices = [];
    for (let k = 0; k < nz; k++) if (presence[c * nz + k]) slices.push(k);
    if (slices.length > 0) segments.push({ classIndex: c, slices });
  }
  const empty = segments.length === 0;
  if (empty) segments = classNames.slice(1).map((_, i) => ({ classIndex: i + 1, slices: [0] }));
  const frames = segments.flatMap((s, i) =>
    s.slices.map((k) => ({ segment: i + 1, classIndex: s.classIndex, k })),
  );

  // 1-bit frames back to back: bit b of the pixel data is byte b >> 3, bit b & 7 (PS3.5 §8.1.1).
  const pixels = new Uint8Array(Math.ceil((frames.length * plane) / 8));
  frames.forEach((f, n) => {
    const base = f.k * plane;
    for (let p = 0; p < plane; p++) {
      if (Number(labels.data[base + p]) === f.classIndex) {
        const bit = n * plane + p;
        pixels[bit >> 3] |= 1 << (bit & 7);
      }
    }
  });

  const uid = options.uid ?? newUid;
  const sopInstanceUID = uid();
  const seriesInstanceUID = uid();
  const dimensionUid = uid();
  const now = options.now ?? new Date();
  const seriesDescription = options.seriesDescription ?? 'masam segmentation';
  const softwareVersion = options.softwareVersion ?? 'unknown';
  const creator = options.contentCreatorName ?? '';
  const algorithmType = options.algorithmType ?? 'AUTOMATIC';

  // A source without a character set gets ISO_IR 192 when our text needs more than ASCII and the copied values
  // are ASCII (bytes of another, undeclared set would be misread as UTF-8).
  let charset = series.specificCharacterSet;
  const ours = [...classNames, seriesDescription, softwareVersion, creator];
  if (charset === undefined && !ours.every(isAscii) && Object.values(series.study).every(isAscii)) {
    charset = 'ISO_IR 192';
  }
  const e = new Encoder(charset === 'ISO_IR 192' ? 'utf8' : charset === 'ISO_IR 100' ? 'latin1' : 'ascii');

  const study = (Object.keys(STUDY_ATTRIBUTES) as StudyKeyword[]).map((k) => {
    const [tag, vr] = STUDY_ATTRIBUTES[k];
    return e.stored(tag, vr, series.study[k] ?? ''); // Type 2 (StudyDescription 3): present, maybe empty
  });
  const step = norm(series.sliceStep);
  const sourceImage = (k: number) => {
    const s = series.slices[k]!;
    return [e.ui(0x00081150, s.sopClassUID!), e.ui(0x00081155, s.sopInstanceUID!)];
  };

  const body: Element[] = [
    ...(charset !== undefined ? [e.stored(0x00080005, 'CS', charset)] : []),
    e.text(0x00080008, 'CS', ['DERIVED', 'PRIMARY']),
    e.text(0x00080012, 'DA', dicomDate(now)),
    e.text(0x00080013, 'TM', dicomTime(now)),
    e.ui(0x00080016, SEGMENTATION_STORAGE),
    e.ui(0x00080018, sopInstanceUID),
    e.text(0x00080023, 'DA', dicomDate(now)),
    e.text(0x00080033, 'TM', dicomTime(now)),
    e.text(0x00080060, 'CS', 'SEG'),
    e.text(0x00080070, 'LO', 'masam'),
    e.sq(0x00080110, [
      [e.text(0x00080102, 'SH', MASAM_CODING_SCHEME), e.text(0x00080115, 'ST', 'masam class index')],
    ]),
    e.text(0x0008103e, 'LO', seriesDescription),
    e.text(0x00081090, 'LO', 'masam'),
    e.sq(0x00081115, [
      [
        e.sq(
          0x0008114a,
          series.slices.map((_, k) => sourceImage(k)),
        ),
        e.ui(0x0020000e, series.seriesInstanceUID!),
      ],
    ]),
    ...study,
    e.text(0x00181000, 'LO', '1'),
    e.text(0x00181020, 'LO', softwareVersion),
    e.ui(0x0020000d, series.studyInstanceUID!),
    e.ui(0x0020000e, seriesInstanceUID),
    e.is(0x00200011, options.seriesNumber ?? 1000),
    e.is(0x00200013, 1),
    e.ui(0x00200052, series.frameOfReferenceUID!),
    e.text(0x00201040, 'LO', ''),
    e.sq(0x00209221, [[e.ui(0x00209164, dimensionUid)]]),
    e.sq(0x00209222, [
      [
        e.ui(0x00209164, dimensionUid),
        e.at(0x00209165, 0x0062000b), // ReferencedSegmentNumber
        e.at(0x00209167, 0x0062000a), // in SegmentIdentificationSequence
        e.text(0x00209421, 'LO', 'ReferencedSegmentNumber'),
      ],
      [
        e.ui(0x00209164, dimensionUid),
        e.at(0x00209165, 0x00200032), // ImagePositionPatient
        e.at(0x00209167, 0x00209113), // in PlanePositionSequence
        e.text(0x00209421, 'LO', 'ImagePositionPatient'),
      ],
    ]),
    e.us(0x00280002, [1]),
    e.text(0x00280004, 'CS', 'MONOCHROME2'),
    e.is(0x00280008, frames.length),
    e.us(0x00280010, [rows]),
    e.us(0x00280011, [columns]),
    e.us(0x00280100, [1]),
    e.us(0x00280101, [1]),
    e.us(0x00280102, [0]),
    e.us(0x00280103, [0]),
    e.text(0x00282110, 'CS', '00'),
    e.text(0x00620001, 'CS', 'BINARY'),
    e.sq(
      0x00620002,
      segments.map((s, i) => {
        const label = classNames[s.classIndex]!;
        return [
          e.sq(0x00620003, [e.code('91723000', 'SCT', 'Anatomical Structure')]),
          e.us(0x00620004, [i + 1]),
          e.text(0x00620005, 'LO', label),
          e.text(0x00620008, 'CS', algorithmType),
          ...(algorithmType === 'MANUAL' ? [] : [e.text(0x00620009, 'LO', 'masam')]),
          e.sq(0x0062000f, [e.code(String(s.classIndex), MASAM_CODING_SCHEME, label)]),
        ];
      }),
    ),
    e.text(0x00620013, 'CS', 'NO'),
    e.text(0x00700080, 'CS', 'MASAM'),
    e.text(0x00700081, 'LO', `masam ${algorithmType.toLowerCase()} segmentation`),
    e.text(0x00700084, 'PN', creator),
    e.sq(0x52009229, [
      [
        e.sq(0x00209116, [[e.ds(0x00200037, series.imageOrientationPatient)]]),
        e.sq(0x00289110, [
          [
            e.ds(0x00180050, [series.sliceThickness ?? step]),
            ...(step > 0 ? [e.ds(0x00180088, [step])] : []),
            e.ds(0x00280030, series.pixelSpacing),
          ],
        ]),
      ],
    ]),
    e.sq(
      0x52009230,
      frames.map((f) => [
        e.sq(0x00089124, [
          [
            e.sq(0x00082112, [
              [
                ...sourceImage(f.k),
                e.sq(0x0040a170, [e.code('121322', 'DCM', 'Source image for image processing operation')]),
              ],
            ]),
            e.sq(0x00089215, [e.code('113076', 'DCM', 'Segmentation')]),
          ],
        ]),
        e.sq(0x00209111, [[e.ul(0x00209157, [f.segment, f.k + 1])]]),
        e.sq(0x00209113, [[e.ds(0x00200032, series.slices[f.k]!.imagePositionPatient)]]),
        e.sq(0x0062000a, [[e.us(0x0062000b, [f.segment])]]),
      ]),
    ),
    e.ob(0x7fe00010, pixels),
  ];

  const meta = dataSet([
    e.ob(0x00020001, new Uint8Array([0, 1])),
    e.ui(0x00020002, SEGMENTATION_STORAGE),
    e.ui(0x00020003, sopInstanceUID),
    e.ui(0x00020010, EXPLICIT_VR_LITTLE_ENDIAN),
    e.ui(0x00020012, IMPLEMENTATION_CLASS_UID),
    e.text(0x00020013, 'SH', 'MASAM'),
  ]);
  const groupLength = new DataView(new ArrayBuffer(4));
  groupLength.setUint32(0, meta.length, true);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128); // 'DICM'
  const bytes = concatBytes([
    preamble,
    element(0x00020000, 'UL', new Uint8Array(groupLength.buffer)).bytes,
    meta,
    dataSet(body),
  ]);
  return {
    bytes,
    sopInstanceUID,
    seriesInstanceUID,
    segments: segments.map((s, i) => ({
      number: i + 1,
      classIndex: s.classIndex,
      label: classNames[s.classIndex]!,
      frames: s.slices.length,
    })),
    frames: frames.length,
    empty,
  };
}
