// DICOM Segmentation object (Segmentation Storage, PS3.3 A.51) → its segments and 1-bit frames, and those
// frames painted into a label map on the grid of the series they segment. Reads what serializeDicomSeg
// (dicom_seg.ts) writes and BINARY SEGs of other tools: C.8.20.2 Segmentation Image (SegmentationType),
// C.8.20.4 Segment Description (SegmentSequence), C.7.6.16 Multi-frame Functional Groups (per frame: Segment
// Identification, Derivation Image, Plane Position; per frame or shared: Plane Orientation, Pixel Measures),
// C.12.2 Common Instance Reference (ReferencedSeriesSequence); PS3.5 §8.1.1 (1-bit pixels packed back to back
// across frames, the first pixel in the least significant bit). Uncompressed little-endian transfer syntaxes
// only (deflated included): a SEG's bits are cheap to send unpacked, and masam writes them so.
import type { DataSet } from 'dicom-parser';
import { FormatError, MasamError } from '../core/errors.js';
import { type DicomReadOptions, parseFile, type Vec3 } from './dicom.js';
import { type DicomSeriesInfo, MASAM_CODING_SCHEME, SEGMENTATION_STORAGE } from './dicom_seg.js';
import type { Volume } from './volume.js';

type Orientation = readonly [number, number, number, number, number, number];

/** One segment of a SEG (an item of SegmentSequence). */
export interface DicomSegSegmentInfo {
  /** SegmentNumber, ≥ 1. */
  readonly number: number;
  /** SegmentLabel ('segment <number>' when empty). */
  readonly label: string;
  /** The class index masam wrote as the SegmentedPropertyTypeCode (scheme MASAM_CODING_SCHEME); else absent. */
  readonly classIndex?: number;
}

/** One frame of a SEG: where it lies and which segment it holds. */
export interface DicomSegFrame {
  /** ReferencedSegmentNumber (Segment Identification). */
  readonly segment: number;
  /** The first ReferencedSOPInstanceUID of its Derivation Image → Source Image Sequence, if any. */
  readonly referencedSOPInstanceUID?: string;
  /** Plane Position (Patient), LPS mm, if any. */
  readonly imagePositionPatient?: Vec3;
  /** Plane Orientation (Patient), per frame or shared, if any. */
  readonly imageOrientationPatient?: Orientation;
  /** Pixel Measures' PixelSpacing [between rows, between columns] mm, per frame or shared, if any. */
  readonly pixelSpacing?: readonly [number, number];
}

/** What parseDicomSeg reads from a BINARY DICOM-SEG. */
export interface DicomSegDataset {
  /** The name given to parseDicomSeg, for messages. */
  readonly source: string;
  readonly sopInstanceUID?: string;
  readonly seriesInstanceUID?: string;
  readonly frameOfReferenceUID?: string;
  /** SeriesInstanceUIDs of ReferencedSeriesSequence: the series it segments (empty when absent). */
  readonly referencedSeriesInstanceUIDs: readonly string[];
  readonly rows: number;
  readonly columns: number;
  /** In SegmentSequence order. */
  readonly segments: readonly DicomSegSegmentInfo[];
  /** In stored order: frame n is bits n · rows · columns … (n + 1) · rows · columns − 1 of `bits`. */
  readonly frames: readonly DicomSegFrame[];
  /**
   * The Pixel Data, still packed (a SEG of many segments unpacks to a byte per bit, 8 times its size): bit b
   * is byte b >> 3, bit b & 7. `framePixels` unpacks one frame.
   */
  readonly bits: Uint8Array;
}

const tagKey = (tag: number) => `x${tag.toString(16).padStart(8, '0')}`;
const fmt = (v: readonly number[]) => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

/** The data sets of a sequence's items (none when the sequence is absent or empty). */
function items(ds: DataSet, tag: number): DataSet[] {
  return (ds.elements[tagKey(tag)]?.items ?? []).flatMap((it) => (it.dataSet ? [it.dataSet] : []));
}

const firstItem = (ds: DataSet | undefined, tag: number): DataSet | undefined =>
  ds ? items(ds, tag)[0] : undefined;

function text(ds: DataSet, tag: number): string | undefined {
  const v = ds.string(tagKey(tag));
  return v === undefined || v === '' ? undefined : v;
}

/**
 * A text value decoded by the data set's SpecificCharacterSet: UTF-8 under ISO_IR 192 (what masam writes for
 * names beyond ASCII), else one character per byte (ASCII, ISO_IR 100 Latin-1); padding trimmed.
 */
function decodedText(ds: DataSet, tag: number, charset: string | undefined): string | undefined {
  const el = ds.elements[tagKey(tag)];
  if (!el || el.length === 0 || el.items) return undefined;
  const bytes = ds.byteArray.subarray(
    el.dataOffset,
    Math.min(el.dataOffset + el.length, ds.byteArray.length),
  );
  const utf8 = charset?.split('\\').includes('ISO_IR 192') ?? false;
  const value = utf8
    ? new TextDecoder().decode(bytes)
    : Array.from(bytes, (b) => String.fromCharCode(b)).join('');
  return value.replace(/^[\0 ]+|[\0 ]+$/g, '') || undefined;
}

/** A DS attribute with exactly `count` numbers; absent → undefined. */
function decimals(
  ds: DataSet,
  tag: number,
  count: number,
  what: string,
  source: string,
): number[] | undefined {
  const key = tagKey(tag);
  const el = ds.elements[key];
  if (!el || el.length === 0) return undefined;
  const values = Array.from({ length: ds.numStringValues(key) ?? 0 }, (_, i) => ds.floatString(key, i));
  if (values.length !== count || values.some((v) => v === undefined || !Number.isFinite(v))) {
    throw new FormatError(source, `${what} is not ${count} number(s): '${ds.string(key) ?? ''}'`);
  }
  return values as number[];
}

function requiredUint16(ds: DataSet, tag: number, what: string, source: string): number {
  const v = ds.uint16(tagKey(tag));
  if (v === undefined) throw new FormatError(source, `missing ${what}`);
  return v;
}

/** The class index of a segment written by masam: its property type code is (index, MASAM_CODING_SCHEME). */
function masamClassIndex(segment: DataSet): number | undefined {
  for (const code of items(segment, 0x0062000f)) {
    const value = text(code, 0x00080100);
    if (text(code, 0x00080102) === MASAM_CODING_SCHEME && value !== undefined && /^\d+$/.test(value)) {
      return Number(value);
    }
  }
  return undefined;
}

function readSegments(ds: DataSet, source: string): DicomSegSegmentInfo[] {
  const charset = text(ds, 0x00080005);
  const list = items(ds, 0x00620002);
  if (list.length === 0)
    throw new FormatError(source, 'no SegmentSequence (0062,0002): the SEG has no segments');
  const seen = new Set<number>();
  return list.map((s, i) => {
    const number = s.uint16(tagKey(0x00620004));
    if (number === undefined || number < 1) {
      throw new FormatError(source, `segment item ${i + 1} has no SegmentNumber (0062,0004) ≥ 1`);
    }
    if (seen.has(number)) throw new FormatError(source, `SegmentNumber ${number} occurs twice`);
    seen.add(number);
    const classIndex = masamClassIndex(s);
    return {
      number,
      label: decodedText(s, 0x00620005, charset) ?? `segment ${number}`,
      ...(classIndex !== undefined ? { classIndex } : {}),
    };
  });
}

function readFrame(
  fg: DataSet,
  shared: DataSet | undefined,
  n: number,
  segments: ReadonlySet<number>,
  source: string,
): DicomSegFrame {
  const what = `frame ${n + 1}`;
  // Functional groups a SEG may put in the shared item (PS3.3 C.7.6.16.1: per frame or shared, not both).
  const group = (tag: number) => firstItem(fg, tag) ?? firstItem(shared, tag);
  const segment = group(0x0062000a)?.uint16(tagKey(0x0062000b));
  if (segment === undefined) {
    throw new FormatError(
      source,
      `${what} has no ReferencedSegmentNumber (Segment Identification Sequence (0062,000A))`,
    );
  }
  if (!segments.has(segment)) {
    throw new FormatError(
      source,
      `${what} holds segment ${segment}, which SegmentSequence does not describe`,
    );
  }
  // Source images only per frame: a shared one could not say which slice each frame is.
  const sourceImages = items(fg, 0x00089124).flatMap((d) => items(d, 0x00082112));
  const referencedSOPInstanceUID = sourceImages.map((s) => text(s, 0x00081155)).find((u) => u !== undefined);
  const position = group(0x00209113);
  const ipp = position && decimals(position, 0x00200032, 3, `${what} ImagePositionPatient`, source);
  const orientation = group(0x00209116);
  const iop = orientation && decimals(orientation, 0x00200037, 6, `${what} ImageOrientationPatient`, source);
  const measures = group(0x00289110);
  const spacing = measures && decimals(measures, 0x00280030, 2, `${what} PixelSpacing`, source);
  if (referencedSOPInstanceUID === undefined && ipp === undefined) {
    throw new FormatError(
      source,
      `${what} has neither a ReferencedSOPInstanceUID (Derivation Image Sequence) nor an ImagePositionPatient ` +
        '(Plane Position Sequence), so it cannot be placed on a slice',
    );
  }
  return {
    segment,
    ...(referencedSOPInstanceUID !== undefined ? { referencedSOPInstanceUID } : {}),
    ...(ipp ? { imagePositionPatient: [ipp[0]!, ipp[1]!, ipp[2]!] as const } : {}),
    ...(iop
      ? { imageOrientationPatient: [iop[0]!, iop[1]!, iop[2]!, iop[3]!, iop[4]!, iop[5]!] as const }
      : {}),
    ...(spacing ? { pixelSpacing: [spacing[0]!, spacing[1]!] as const } : {}),
  };
}

function readDataset(bytes: Uint8Array, source: string, options: DicomReadOptions): DicomSegDataset {
  const { ds, ts, tsUid } = parseFile(bytes, source, options);
  const sopClass = text(ds, 0x00080016);
  if (sopClass !== SEGMENTATION_STORAGE) {
    throw new FormatError(
      source,
      `not a DICOM Segmentation: SOPClassUID ${sopClass ?? '(missing)'} (Modality ${text(ds, 0x00080060) ?? 'none'}); ` +
        `Segmentation Storage is ${SEGMENTATION_STORAGE}`,
    );
  }
  if (ts.encoding !== 'native' || !ts.littleEndian) {
    throw new FormatError(
      source,
      `transfer syntax ${ts.name} (${tsUid}) is not supported for a DICOM-SEG; masam reads SEG pixel data ` +
        'uncompressed in little endian (Implicit or Explicit VR Little Endian, Deflated Explicit VR Little Endian)',
    );
  }
  const type = text(ds, 0x00620001);
  if (type === 'FRACTIONAL') {
    throw new FormatError(
      source,
      'SegmentationType FRACTIONAL (a probability or occupancy per pixel) is not supported; masam reads BINARY ' +
        'segmentations',
    );
  }
  if (type !== 'BINARY') {
    throw new FormatError(
      source,
      `SegmentationType ${type ?? '(missing)'} is not supported; masam reads BINARY`,
    );
  }
  const rows = requiredUint16(ds, 0x00280010, 'Rows (0028,0010)', source);
  const columns = requiredUint16(ds, 0x00280011, 'Columns (0028,0011)', source);
  const bitsAllocated = requiredUint16(ds, 0x00280100, 'BitsAllocated (0028,0100)', source);
  const samples = ds.uint16(tagKey(0x00280002)) ?? 1;
  if (rows === 0 || columns === 0)
    throw new FormatError(source, `empty frames (${rows} rows × ${columns} columns)`);
  if (bitsAllocated !== 1 || samples !== 1) {
    throw new FormatError(
      source,
      `a BINARY SEG has 1 bit and 1 sample per pixel; this one has BitsAllocated ${bitsAllocated}, ` +
        `SamplesPerPixel ${samples}`,
    );
  }
  const count = ds.intString(tagKey(0x00280008));
  if (count === undefined || !Number.isInteger(count) || count < 1) {
    throw new FormatError(
      source,
      `NumberOfFrames (0028,0008) is ${count ?? 'missing'}, not a frame count ≥ 1`,
    );
  }

  const segments = readSegments(ds, source);
  const perFrame = items(ds, 0x52009230);
  if (perFrame.length !== count) {
    throw new FormatError(
      source,
      `PerFrameFunctionalGroupsSequence (5200,9230) has ${perFrame.length} item(s) for ${count} frame(s); ` +
        'each frame needs its segment number and position',
    );
  }
  const shared = firstItem(ds, 0x52009229);
  const numbers = new Set(segments.map((s) => s.number));
  const frames = perFrame.map((fg, n) => readFrame(fg, shared, n, numbers, source));

  const px = ds.elements[tagKey(0x7fe00010)];
  if (!px) throw new FormatError(source, 'no Pixel Data (7FE0,0010)');
  if (px.encapsulatedPixelData) throw new FormatError(source, `encapsulated Pixel Data under ${ts.name}`);
  const needed = Math.ceil((count * rows * columns) / 8);
  const held = Math.max(0, Math.min(px.length, ds.byteArray.length - px.dataOffset));
  if (held < needed) {
    throw new FormatError(
      source,
      `Pixel Data holds ${held} bytes; ${count} frame(s) of ${rows} × ${columns} pixels at 1 bit need ${needed}`,
    );
  }
  return {
    source,
    sopInstanceUID: text(ds, 0x00080018),
    seriesInstanceUID: text(ds, 0x0020000e),
    frameOfReferenceUID: text(ds, 0x00200052),
    referencedSeriesInstanceUIDs: items(ds, 0x00081115).flatMap((r) => text(r, 0x0020000e) ?? []),
    rows,
    columns,
    segments,
    frames,
    bits: ds.byteArray.subarray(px.dataOffset, px.dataOffset + needed),
  };
}

/**
 * Parse a BINARY DICOM Segmentation (a Part 10 file).
 * @param bytes the whole file
 * @param source a name for messages (the file or the instance)
 * @throws FormatError naming `source`: not Segmentation Storage, SegmentationType FRACTIONAL (not supported)
 *   or other than BINARY, a compressed or big-endian transfer syntax, a frame without its segment number or
 *   without both a source image reference and a position, per-frame items missing, Pixel Data shorter than
 *   frames × rows × columns bits, or a malformed data set
 */
export function parseDicomSeg(
  bytes: Uint8Array,
  source: string,
  options: DicomReadOptions = {},
): DicomSegDataset {
  try {
    return readDataset(bytes, source, options);
  } catch (e) {
    // dicom-parser throws strings when a value runs past the end of the data (an implicit VR element whose
    // length points past the end of the file is kept, not refused, by its parser).
    if (typeof e === 'string') throw new FormatError(source, `malformed DICOM-SEG data set: ${e}`);
    throw e;
  }
}

/** Frame `n` unpacked: one byte (0 or 1) per pixel, row-major [rows, columns]. */
export function framePixels(seg: DicomSegDataset, n: number): Uint8Array {
  if (!(Number.isInteger(n) && n >= 0 && n < seg.frames.length)) {
    throw new MasamError(`${seg.source}: no frame ${n} (${seg.frames.length} frames)`);
  }
  const plane = seg.rows * seg.columns;
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const b = n * plane + p;
    out[p] = (seg.bits[b >> 3]! >> (b & 7)) & 1;
  }
  return out;
}

// ---- Painting frames into the series grid ----

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
/** A frame position may differ from its slice's by this fraction of the slice step (or pixel spacing in-plane). */
const POSITION_TOLERANCE = 0.1;
/** Direction cosines of the SEG and the series may differ by this much. */
const ORIENTATION_TOLERANCE = 1e-3;
/** Largest label value of a uint8 label map. */
const MAX_LABEL = 255;

/**
 * Label value of each segment number: masam's class indices when every segment carries a distinct one (a SEG
 * masam wrote), else the segment numbers themselves (a SEG of another tool).
 */
function labelValues(seg: DicomSegDataset): Map<number, number> {
  const indices = seg.segments.map((s) => s.classIndex);
  const useClasses =
    indices.every((c) => c !== undefined && c >= 1) && new Set(indices).size === indices.length;
  const values = new Map(seg.segments.map((s) => [s.number, useClasses ? s.classIndex! : s.number]));
  for (const [number, value] of values) {
    if (value > MAX_LABEL) {
      throw new MasamError(
        `${seg.source}: segment ${number} would be label value ${value}; a uint8 label map holds 1 … ${MAX_LABEL}`,
      );
    }
  }
  return values;
}

/** Places frames on the slices of one series: by source image, else by position, checked either way. */
class SliceLocator {
  private readonly byUid = new Map<string, number>();
  private readonly rowDir: Vec3;
  private readonly colDir: Vec3;
  private readonly normal: Vec3;
  private readonly alongTolerance: number;
  private readonly inPlaneTolerance: number;

  constructor(
    private readonly series: DicomSeriesInfo,
    private readonly segSource: string,
  ) {
    series.slices.forEach((s, k) => {
      if (s.sopInstanceUID) this.byUid.set(s.sopInstanceUID, k);
    });
    const iop = series.imageOrientationPatient;
    this.rowDir = [iop[0], iop[1], iop[2]];
    this.colDir = [iop[3], iop[4], iop[5]];
    this.normal = cross(this.rowDir, this.colDir);
    const step = Math.abs(dot(series.sliceStep, this.normal));
    this.alongTolerance = POSITION_TOLERANCE * (step > 0 ? step : 1);
    this.inPlaneTolerance = POSITION_TOLERANCE * Math.min(...series.pixelSpacing);
  }

  /** The slice index of frame `n`. @throws MasamError when it lands on no slice of the series */
  locate(frame: DicomSegFrame, n: number): number {
    const what = `${this.segSource}: frame ${n + 1} (segment ${frame.segment})`;
    const ipp = frame.imagePositionPatient;
    let k: number;
    if (frame.referencedSOPInstanceUID !== undefined) {
      const found = this.byUid.get(frame.referencedSOPInstanceUID);
      if (found === undefined) {
        throw new MasamError(
          `${what} references SOP instance ${frame.referencedSOPInstanceUID}, which is not a slice of ` +
            `${this.series.source}`,
        );
      }
      k = found;
    } else {
      // Nearest slice along the normal; each slice's own position, so a sheared (tilted) series works too.
      k = 0;
      let best = Number.POSITIVE_INFINITY;
      this.series.slices.forEach((s, i) => {
        const d = Math.abs(dot(sub(ipp!, s.imagePositionPatient), this.normal));
        if (d < best) [best, k] = [d, i];
      });
    }
    if (ipp) {
      const offset = sub(ipp, this.series.slices[k]!.imagePositionPatient);
      const along = Math.abs(dot(offset, this.normal));
      const inPlane = Math.max(Math.abs(dot(offset, this.rowDir)), Math.abs(dot(offset, this.colDir)));
      if (along > this.alongTolerance) {
        throw new MasamError(
          `${what} at ImagePositionPatient ${fmt(ipp)} lies ${along.toFixed(4)} mm off the nearest slice of ` +
            `${this.series.source} (slice ${k}, tolerance ${this.alongTolerance.toFixed(4)} mm)`,
        );
      }
      if (inPlane > this.inPlaneTolerance) {
        throw new MasamError(
          `${what} at ImagePositionPatient ${fmt(ipp)} is shifted ${inPlane.toFixed(4)} mm in-plane from slice ${k} ` +
            `of ${this.series.source} (a cropped or resampled SEG?); masam reads frames on the series' own grid`,
        );
      }
    }
    return k;
  }

  /** The frame's orientation and pixel spacing, where it has them, must be the series'. */
  checkPlane(frame: DicomSegFrame, n: number): void {
    const what = `${this.segSource}: frame ${n + 1}`;
    const iop = frame.imageOrientationPatient;
    const want = this.series.imageOrientationPatient;
    if (iop?.some((v, i) => Math.abs(v - want[i]!) > ORIENTATION_TOLERANCE)) {
      throw new MasamError(
        `${what} has ImageOrientationPatient ${fmt(iop)}, the series ${this.series.source} ${fmt(want)}`,
      );
    }
    const spacing = frame.pixelSpacing;
    const grid = this.series.pixelSpacing;
    if (spacing?.some((v, i) => Math.abs(v - grid[i]!) > 1e-3 * Math.max(1, grid[i]!))) {
      throw new MasamError(
        `${what} has PixelSpacing ${fmt(spacing)}, the series ${this.series.source} ${fmt(grid)}`,
      );
    }
  }
}

/**
 * Paint a SEG's frames into a label map on the grid of `series` (a Volume from dicomSeriesToVolume, whose
 * `source.dicom` lists its slices in k order).
 *
 * - Placement: a frame goes to the slice its ReferencedSOPInstanceUID names; without one, to the slice whose
 *   position along the normal is nearest its ImagePositionPatient. Either way a frame position must lie on
 *   that slice (within 10 % of the slice step along the normal and of the pixel spacing in-plane). Frame
 *   pixels are row-major [rows, columns], the series' k-plane layout (i = column fastest): no transposition.
 * - Values: masam's class index for a SEG masam wrote (every segment with a distinct '99MASAM' code), else the
 *   segment number. classNames[v] is the segment label of value v, 'background' for 0, 'label <v>' for a
 *   value no segment has (a class absent from the SEG).
 * - Overlap: segments are painted in ascending segment number, so where segments overlap the later (higher)
 *   segment number wins; a label map holds one value per voxel.
 * @throws MasamError naming the SEG: a series without DICOM slice references, a SEG of another series or frame
 *   of reference, other rows × columns, orientation or pixel spacing, a frame that lands on no slice, or a label
 *   value over 255
 */
export function segToLabelVolume(
  seg: DicomSegDataset,
  series: Volume,
): { label: Volume<'uint8'>; classNames: string[] } {
  const info = series.source?.dicom;
  if (!info) {
    throw new MasamError(
      `${seg.source}: the image volume has no DICOM slice references (source.dicom); a SEG is painted onto a ` +
        'series read with dicomSeriesToVolume',
    );
  }
  const refs = seg.referencedSeriesInstanceUIDs;
  if (refs.length > 0 && info.seriesInstanceUID !== undefined && !refs.includes(info.seriesInstanceUID)) {
    throw new MasamError(
      `${seg.source}: segments series ${refs.join(', ')}, not ${info.source} (${info.seriesInstanceUID})`,
    );
  }
  if (
    seg.frameOfReferenceUID &&
    info.frameOfReferenceUID &&
    seg.frameOfReferenceUID !== info.frameOfReferenceUID
  ) {
    throw new MasamError(
      `${seg.source}: FrameOfReferenceUID ${seg.frameOfReferenceUID} is not that of ${info.source} ` +
        `(${info.frameOfReferenceUID})`,
    );
  }
  if (seg.rows !== info.rows || seg.columns !== info.columns) {
    throw new MasamError(
      `${seg.source}: frames of ${seg.rows} rows × ${seg.columns} columns, but the series ${info.source} has ` +
        `${info.rows} × ${info.columns}`,
    );
  }
  const values = labelValues(seg);
  const locator = new SliceLocator(info, seg.source);
  const plane = info.rows * info.columns;
  const data = new Uint8Array(plane * info.slices.length);
  const order = seg.frames.map((_, n) => n).sort((a, b) => seg.frames[a]!.segment - seg.frames[b]!.segment);
  const slices = seg.frames.map((f, n) => {
    locator.checkPlane(f, n);
    return locator.locate(f, n);
  });
  const bits = seg.bits;
  for (const n of order) {
    const value = values.get(seg.frames[n]!.segment)!;
    const base = slices[n]! * plane - n * plane; // voxel index = base + bit index
    const end = (n + 1) * plane;
    for (let b = n * plane; b < end; ) {
      if ((b & 7) === 0 && b + 8 <= end && bits[b >> 3] === 0) {
        b += 8; // a whole empty byte
        continue;
      }
      if ((bits[b >> 3]! >> (b & 7)) & 1) data[base + b] = value;
      b++;
    }
  }
  const top = Math.max(0, ...values.values());
  const classNames = Array.from({ length: top + 1 }, (_, v) => (v === 0 ? 'background' : `label ${v}`));
  for (const s of seg.segments) classNames[values.get(s.number)!] = s.label;
  return {
    label: {
      data,
      dtype: 'uint8',
      shape: [info.columns, info.rows, info.slices.length],
      spacing: series.spacing.slice(0, 3),
      affine: series.affine,
    },
    classNames,
  };
}
