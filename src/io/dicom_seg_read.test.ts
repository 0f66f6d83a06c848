// DICOM-SEG reader: round trips through masam's writer on a synthetic sagittal series read in shuffled file
// order (the volume's k order runs against the files), placement by source image and by position, frames in
// any order, overlapping segments, a SEG written from scratch by pydicom (another tool: implicit VR or
// deflated, no masam class codes, segment numbers as values), and every refusal with its message.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TS, words16, writeDicom } from '../../test/dicom_synth.js';
import { pydicomSkipReason, runPydicom } from '../../test/pydicom.js';
import { FormatError, MasamError } from '../core/errors.js';
import { type DicomSlice, dicomSeriesToVolume, parseDicom } from './dicom.js';
import { SEGMENTATION_STORAGE, serializeDicomSeg } from './dicom_seg.js';
import {
  type DicomSegDataset,
  type DicomSegFrame,
  framePixels,
  parseDicomSeg,
  segToLabelVolume,
} from './dicom_seg_read.js';
import type { Volume } from './volume.js';

const ROWS = 5;
const COLUMNS = 6; // 30 pixels: frames do not start on byte boundaries
const PLANE = ROWS * COLUMNS;
const FILES = 5;
const SERIES_UID = '1.2.826.0.1.3680043.9.9999.6';
const CLASSES = ['background', 'liver', 'spleen', 'kidney'];

/** Sagittal slices (rows along +y, columns along −z): the normal is −x, so k runs against the file order. */
const positionOf = (f: number) => [-20 + 2.5 * f, -100, 50] as const;
const sopOf = (f: number) => `1.2.826.0.1.3680043.9.9999.7.${f + 1}`;

function synthFile(f: number, rows = ROWS, columns = COLUMNS, seriesUid = SERIES_UID): Uint8Array {
  return writeDicom({
    rows,
    columns,
    transferSyntax: TS.explicitLE,
    pixelData: words16(new Array<number>(rows * columns).fill(f)),
    attrs: {
      '00080016': '1.2.840.10008.5.1.4.1.1.4',
      '00080018': sopOf(f),
      '00080060': 'MR',
      '0020000D': '1.2.826.0.1.3680043.9.9999.5',
      '0020000E': seriesUid,
      '00200052': '1.2.826.0.1.3680043.9.9999.8',
      '00200032': positionOf(f).join('\\'),
      '00200037': '0\\1\\0\\0\\0\\-1',
      '00280030': '0.5\\0.75',
      '00180050': '2.5',
    },
  });
}

/** The series read from files given in this order (not sorted). */
function readSeries(order: readonly number[], make = (f: number) => synthFile(f)): Volume {
  const slices: DicomSlice[] = order.map((f) => parseDicom(make(f), `synth/img_${f}.dcm`));
  return dicomSeriesToVolume(slices, 'synth');
}

/** Labels on the volume's grid: every class on some slices, the file-2 slice without any foreground. */
function labelsOf(volume: Volume, classes = [1, 2, 3]): Volume {
  const info = volume.source!.dicom!;
  const data = new Uint8Array(PLANE * info.slices.length);
  info.slices.forEach((s, k) => {
    const f = Number(s.sopInstanceUID!.split('.').pop()) - 1;
    if (f === 2) return;
    for (let p = 0; p < PLANE; p++) {
      const c = (p * 7 + f * 3) % 5; // 0 … 4; 4 is background too
      if (classes.includes(c)) data[k * PLANE + p] = c;
    }
  });
  return { ...volume, dtype: 'uint8', data };
}

const withoutReference = ({ referencedSOPInstanceUID: _, ...rest }: DicomSegFrame): DicomSegFrame => rest;

/** The same dataset with its frames stored in `order` (bits repacked accordingly). */
function reorder(seg: DicomSegDataset, order: readonly number[]): DicomSegDataset {
  const bits = new Uint8Array(Math.ceil((order.length * PLANE) / 8));
  order.forEach((n, m) => {
    framePixels(seg, n).forEach((v, p) => {
      const b = m * PLANE + p;
      if (v) bits[b >> 3] |= 1 << (b & 7);
    });
  });
  return { ...seg, frames: order.map((n) => seg.frames[n]!), bits };
}

/** A hand-made dataset on the synthetic grid: frames given by segment, slice k of `volume` and set pixels. */
function handMade(
  volume: Volume,
  segments: readonly { number: number; label: string; classIndex?: number }[],
  frames: readonly { segment: number; k: number; pixels: readonly number[] }[],
): DicomSegDataset {
  const info = volume.source!.dicom!;
  const bits = new Uint8Array(Math.ceil((frames.length * PLANE) / 8));
  frames.forEach((f, n) => {
    for (const p of f.pixels) bits[(n * PLANE + p) >> 3] |= 1 << ((n * PLANE + p) & 7);
  });
  return {
    source: 'hand.dcm',
    referencedSeriesInstanceUIDs: [SERIES_UID],
    rows: ROWS,
    columns: COLUMNS,
    segments,
    frames: frames.map((f) => ({
      segment: f.segment,
      referencedSOPInstanceUID: info.slices[f.k]!.sopInstanceUID!,
      imagePositionPatient: info.slices[f.k]!.imagePositionPatient,
    })),
    bits,
  };
}

const throwsMasam = (fn: () => unknown, ...fragments: RegExp[]) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MasamError, `not a MasamError: ${e}`);
    for (const f of fragments) assert.match(e.message, f);
    return true;
  });

describe('parseDicomSeg + segToLabelVolume on what serializeDicomSeg writes', () => {
  const written = readSeries([0, 1, 2, 3, 4]);
  const labels = labelsOf(written);
  const seg = serializeDicomSeg(labels, written.source!.dicom!, { classNames: CLASSES, name: 'out.dcm' });
  const parsed = parseDicomSeg(seg.bytes, 'seg.dcm');

  it('reads the segments with their masam class indices, the referenced series and every frame', () => {
    assert.deepEqual(parsed.segments, [
      { number: 1, label: 'liver', classIndex: 1 },
      { number: 2, label: 'spleen', classIndex: 2 },
      { number: 3, label: 'kidney', classIndex: 3 },
    ]);
    assert.deepEqual(parsed.referencedSeriesInstanceUIDs, [SERIES_UID]);
    assert.equal(parsed.sopInstanceUID, seg.sopInstanceUID);
    assert.equal(parsed.seriesInstanceUID, seg.seriesInstanceUID);
    assert.deepEqual([parsed.rows, parsed.columns], [ROWS, COLUMNS]);
    assert.equal(parsed.frames.length, seg.frames);
    const info = written.source!.dicom!;
    parsed.frames.forEach((frame, n) => {
      const k = info.slices.findIndex((s) => s.sopInstanceUID === frame.referencedSOPInstanceUID);
      assert.ok(k >= 0, `frame ${n} references ${frame.referencedSOPInstanceUID}`);
      assert.deepEqual(frame.imagePositionPatient, info.slices[k]!.imagePositionPatient);
      assert.deepEqual(frame.imageOrientationPatient, [0, 1, 0, 0, 0, -1]);
      assert.deepEqual(frame.pixelSpacing, [0.5, 0.75]);
      const want = Uint8Array.from({ length: PLANE }, (_, p) =>
        labels.data[k * PLANE + p] === frame.segment ? 1 : 0,
      );
      assert.deepEqual(framePixels(parsed, n), want, `frame ${n}`);
    });
    // The file-2 slice has no frame at all.
    assert.ok(!parsed.frames.some((f) => f.referencedSOPInstanceUID === sopOf(2)));
    const count = parsed.frames.length;
    throwsMasam(
      () => framePixels(parsed, count),
      new RegExp(`^seg\\.dcm: no frame ${count} \\(${count} frames\\)`),
    );
  });

  it('paints the label map back voxel for voxel, with the class names, onto the series read in another order', () => {
    const shuffled = readSeries([3, 0, 4, 1, 2]);
    const { label, classNames } = segToLabelVolume(parsed, shuffled);
    assert.deepEqual(classNames, CLASSES);
    assert.deepEqual(label.data, labels.data);
    assert.equal(label.dtype, 'uint8');
    assert.deepEqual(label.shape, [COLUMNS, ROWS, FILES]);
    assert.deepEqual(label.affine, written.affine);
    assert.deepEqual(label.spacing, written.spacing);
  });

  it('decodes class names beyond ASCII: UTF-8 under ISO_IR 192, Latin-1 under ISO_IR 100', () => {
    const info = written.source!.dicom!;
    const names = ['background', 'Gef\u00e4\u00df', 'Milz (\u813e\u81d3)', 'kidney'];
    const utf8 = serializeDicomSeg(labels, info, { classNames: names });
    assert.deepEqual(segToLabelVolume(parseDicomSeg(utf8.bytes, 'utf8.dcm'), written).classNames, names);
    const latinNames = ['background', 'Gef\u00e4\u00df', 'Milz', 'Niere'];
    const latin1 = { ...info, specificCharacterSet: 'ISO_IR 100' };
    const latin = serializeDicomSeg(labels, latin1, { classNames: latinNames });
    assert.deepEqual(
      parseDicomSeg(latin.bytes, 'latin1.dcm').segments.map((s) => s.label),
      latinNames.slice(1),
    );
  });

  it('places frames by ImagePositionPatient when they reference no source image, in any stored order', () => {
    const byPosition = { ...parsed, frames: parsed.frames.map(withoutReference) };
    assert.deepEqual(segToLabelVolume(byPosition, written).label.data, labels.data);
    const order = parsed.frames.map((_, n) => n).reverse();
    const reordered = reorder(byPosition, [order[3]!, ...order.filter((n) => n !== order[3])]);
    assert.deepEqual(segToLabelVolume(reordered, written).label.data, labels.data);
  });

  it('names a class absent from the SEG "label <v>", and reads an all-empty SEG as background', () => {
    const gap = labelsOf(written, [1, 3]);
    const s = serializeDicomSeg(gap, written.source!.dicom!, { classNames: CLASSES });
    const back = segToLabelVolume(parseDicomSeg(s.bytes, 'gap.dcm'), written);
    assert.deepEqual(back.classNames, ['background', 'liver', 'label 2', 'kidney']);
    assert.deepEqual(back.label.data, gap.data);
    const none = { ...labels, data: new Uint8Array(labels.data.length) };
    const empty = serializeDicomSeg(none, written.source!.dicom!, { classNames: CLASSES });
    assert.equal(empty.empty, true);
    const read = segToLabelVolume(parseDicomSeg(empty.bytes, 'empty.dcm'), written);
    assert.deepEqual(read.classNames, CLASSES);
    assert.ok(read.label.data.every((v) => v === 0));
  });

  it('without masam class codes, values are the segment numbers; where segments overlap the higher number wins', () => {
    const segments = [
      { number: 2, label: 'tumour' },
      { number: 1, label: 'liver' },
    ];
    // The tumour frame is stored first, the liver frame overlapping it after: the order must not matter.
    const seg = handMade(written, segments, [
      { segment: 2, k: 1, pixels: [4, 5, 20, 29] },
      { segment: 1, k: 1, pixels: [3, 4, 5, 6] },
      { segment: 1, k: 4, pixels: [0] },
    ]);
    const { label, classNames } = segToLabelVolume(seg, written);
    assert.deepEqual(classNames, ['background', 'liver', 'tumour']);
    const want = new Uint8Array(PLANE * FILES);
    for (const [p, v] of [
      [3, 1],
      [4, 2],
      [5, 2],
      [6, 1],
      [20, 2],
      [29, 2],
    ] as const)
      want[PLANE + p] = v;
    want[4 * PLANE] = 1;
    assert.deepEqual(label.data, want);
    // Duplicate masam class indices cannot both be values: the segment numbers are used instead.
    const dup = { ...seg, segments: segments.map((s) => ({ ...s, classIndex: 1 })) };
    assert.deepEqual(segToLabelVolume(dup, written).label.data, want);
  });
});

// ---- Refusals ----

/** Index of the only occurrence of `pattern` in `bytes` (asserted unique). */
function find(bytes: Uint8Array, pattern: readonly number[]): number {
  const hits: number[] = [];
  for (let i = 0; i + pattern.length <= bytes.length; i++) {
    if (pattern.every((b, j) => bytes[i + j] === b)) hits.push(i);
  }
  assert.equal(hits.length, 1, `pattern ${pattern} occurs ${hits.length} times`);
  return hits[0]!;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
/** Explicit VR little-endian element header start: tag then VR. */
const head = (tag: number, vr: string) => [
  (tag >>> 16) & 0xff,
  tag >>> 24,
  tag & 0xff,
  (tag >>> 8) & 0xff,
  ...ascii(vr),
];

/** `bytes` with `from` (found once) replaced by `to`. */
function patch(bytes: Uint8Array, from: readonly number[], to: readonly number[]): Uint8Array {
  const at = find(bytes, from);
  const out = new Uint8Array(bytes.length - from.length + to.length);
  out.set(bytes.subarray(0, at));
  out.set(to, at);
  out.set(bytes.subarray(at + from.length), at + to.length);
  return out;
}

/** Rename every sequence with tag `from` to `to` (same length, so nesting lengths stay right). */
function renameAll(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const a = head(from, 'SQ');
  const b = head(to, 'SQ');
  let count = 0;
  for (let i = 0; i + a.length <= out.length; i++) {
    if (a.every((x, j) => out[i + j] === x)) {
      out.set(b, i);
      count++;
    }
  }
  assert.ok(count > 0, `no ${from.toString(16)} sequence`);
  return out;
}

describe('parseDicomSeg refusals', () => {
  const volume = readSeries([0, 1, 2, 3, 4]);
  const seg = serializeDicomSeg(labelsOf(volume), volume.source!.dicom!, { classNames: CLASSES });
  const rejects = (bytes: Uint8Array, ...fragments: RegExp[]) =>
    assert.throws(
      () => parseDicomSeg(bytes, 'bad.dcm'),
      (e: unknown) => {
        assert.ok(e instanceof FormatError, `not a FormatError: ${e}`);
        assert.equal(e.source, 'bad.dcm');
        for (const f of fragments) assert.match(e.message, f);
        return true;
      },
    );

  it('refuses an image that is not a Segmentation', () => {
    rejects(
      synthFile(0),
      /^bad\.dcm: not a DICOM Segmentation: SOPClassUID 1\.2\.840\.10008\.5\.1\.4\.1\.1\.4 \(Modality MR\)/,
      /Segmentation Storage is 1\.2\.840\.10008\.5\.1\.4\.1\.1\.66\.4/,
    );
    rejects(new Uint8Array(200), /not a DICOM Part 10 file/);
  });

  it('refuses a compressed transfer syntax', () => {
    const rle = patch(seg.bytes, ascii('1.2.840.10008.1.2.1\0'), ascii('1.2.840.10008.1.2.5\0'));
    rejects(
      rle,
      /transfer syntax RLE Lossless \(1\.2\.840\.10008\.1\.2\.5\) is not supported for a DICOM-SEG/,
    );
  });

  it('refuses a FRACTIONAL segmentation, saying it is not supported', () => {
    const binary = [...head(0x00620001, 'CS'), 6, 0, ...ascii('BINARY')];
    const fractional = patch(seg.bytes, binary, [...head(0x00620001, 'CS'), 10, 0, ...ascii('FRACTIONAL')]);
    rejects(fractional, /SegmentationType FRACTIONAL .* is not supported; masam reads BINARY/);
  });

  it('refuses missing per-frame functional groups, segment numbers or frame placement', () => {
    rejects(
      renameAll(seg.bytes, 0x52009230, 0x52009231),
      new RegExp(
        `PerFrameFunctionalGroupsSequence \\(5200,9230\\) has 0 item\\(s\\) for ${seg.frames} frame\\(s\\)`,
      ),
    );
    rejects(renameAll(seg.bytes, 0x0062000a, 0x006200ff), /frame 1 has no ReferencedSegmentNumber/);
    const unplaced = renameAll(renameAll(seg.bytes, 0x00089124, 0x000891ff), 0x00209113, 0x002091ff);
    rejects(unplaced, /frame 1 has neither a ReferencedSOPInstanceUID .* nor an ImagePositionPatient/);
  });

  it('refuses every truncation of a SEG with a FormatError naming the file', () => {
    for (let end = 0; end < seg.bytes.length; end += 7) rejects(seg.bytes.slice(0, end), /^bad\.dcm: /);
  });

  it('refuses an implicit VR element whose length runs past the end of the file', () => {
    const implicit = writeDicom({
      rows: 1,
      columns: 1,
      transferSyntax: TS.implicitLE,
      pixelData: words16([0]),
      attrs: { '00080016': SEGMENTATION_STORAGE },
    });
    // Implicit VR (0008,0016): tag, then a 4-byte length (28: the UID and its padding NUL).
    const at = find(implicit, [0x08, 0x00, 0x16, 0x00, 28, 0, 0, 0]);
    new DataView(implicit.buffer).setUint32(at + 4, 0x00680000 + 28, true);
    rejects(implicit, /^bad\.dcm: malformed DICOM-SEG data set: .*past end of buffer/);
  });

  it('refuses Pixel Data shorter than frames × rows × columns bits', () => {
    const needed = Math.ceil((seg.frames * PLANE) / 8);
    const short = needed - 1 - (needed % 2); // even, so the element stays well formed
    const at = find(seg.bytes, head(0x7fe00010, 'OB'));
    const cut = seg.bytes.slice(0, at + 12 + short);
    new DataView(cut.buffer).setUint32(at + 8, short, true);
    rejects(
      cut,
      new RegExp(
        `Pixel Data holds ${short} bytes; ${seg.frames} frame\\(s\\) of 5 × 6 pixels at 1 bit need ${needed}$`,
      ),
    );
  });
});

describe('segToLabelVolume refusals', () => {
  const volume = readSeries([0, 1, 2, 3, 4]);
  const seg = parseDicomSeg(
    serializeDicomSeg(labelsOf(volume), volume.source!.dicom!, { classNames: CLASSES }).bytes,
    'seg.dcm',
  );

  it('refuses a volume without DICOM slice references, another series, or another frame size', () => {
    const { source: _, ...bare } = volume;
    throwsMasam(
      () => segToLabelVolume(seg, bare),
      /^seg\.dcm: the image volume has no DICOM slice references/,
    );
    const other = readSeries([0, 1, 2, 3, 4], (f) => synthFile(f, ROWS, COLUMNS, '1.2.3.4'));
    throwsMasam(
      () => segToLabelVolume(seg, other),
      /^seg\.dcm: segments series 1\.2\.826\.0\.1\.3680043\.9\.9999\.6, not synth \(1\.2\.3\.4\)/,
    );
    const wide = readSeries([0, 1, 2, 3, 4], (f) => synthFile(f, COLUMNS, ROWS));
    throwsMasam(
      () => segToLabelVolume(seg, wide),
      /^seg\.dcm: frames of 5 rows × 6 columns, but the series synth has 6 × 5/,
    );
  });

  it('refuses a frame that lands on no slice: an unknown source image, or a position off every slice', () => {
    const partial = readSeries([1, 2, 3, 4]); // file 0 (k = 4) has foreground frames
    throwsMasam(
      () => segToLabelVolume(seg, partial),
      new RegExp(`references SOP instance ${sopOf(0).replaceAll('.', '\\.')}, which is not a slice of synth`),
    );
    const byPosition = { ...seg, frames: seg.frames.map(withoutReference) };
    throwsMasam(
      () => segToLabelVolume(byPosition, partial),
      /frame \d+ \(segment \d\) at .* lies 2\.5000 mm off/,
    );
    const shift = (f: DicomSegFrame, d: readonly number[]): DicomSegFrame => ({
      ...f,
      imagePositionPatient: [0, 1, 2].map((i) => f.imagePositionPatient![i]! + d[i]!) as unknown as [
        number,
        number,
        number,
      ],
    });
    const halfway = { ...seg, frames: seg.frames.map((f, n) => (n === 2 ? shift(f, [-1.25, 0, 0]) : f)) };
    throwsMasam(() => segToLabelVolume(halfway, volume), /frame 3 .* lies 1\.2500 mm off the nearest slice/);
    const sideways = { ...seg, frames: seg.frames.map((f, n) => (n === 2 ? shift(f, [0, 0.5, 0]) : f)) };
    throwsMasam(
      () => segToLabelVolume(sideways, volume),
      /frame 3 .* is shifted 0\.5000 mm in-plane from slice/,
    );
  });

  it('refuses another orientation or pixel spacing, and label values over 255', () => {
    const tilted = {
      ...seg,
      frames: seg.frames.map((f) => ({ ...f, imageOrientationPatient: [1, 0, 0, 0, 1, 0] as const })),
    };
    throwsMasam(
      () => segToLabelVolume(tilted, volume),
      /frame 1 has ImageOrientationPatient \[1, 0, 0, 0, 1, 0\], the series synth \[0, 1, 0, 0, 0, -1\]/,
    );
    const coarse = { ...seg, frames: seg.frames.map((f) => ({ ...f, pixelSpacing: [1, 1] as const })) };
    throwsMasam(
      () => segToLabelVolume(coarse, volume),
      /frame 1 has PixelSpacing \[1, 1\], the series synth \[0\.5, 0\.75\]/,
    );
    const big = handMade(volume, [{ number: 300, label: 'x' }], [{ segment: 300, k: 0, pixels: [0] }]);
    throwsMasam(() => segToLabelVolume(big, volume), /hand\.dcm: segment 300 would be label value 300/);
  });
});

// ---- A SEG made by another tool: pydicom, from scratch ----

/** Writes a BINARY SEG from a JSON spec with pydicom's own data set encoder and pack_bits. */
const PYDICOM_WRITER = `
import json, sys
import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
spec = json.load(open(sys.argv[1]))
syntax = {'implicit': ImplicitVRLittleEndian, 'explicit': ExplicitVRLittleEndian,
          'deflated': DeflatedExplicitVRLittleEndian}[spec['syntax']]
def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d
def code(value, scheme, meaning):
    return Sequence([item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)])
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.66.4'
meta.MediaStorageSOPInstanceUID = '1.2.826.0.1.3680043.9.9999.70'
meta.TransferSyntaxUID = syntax
ds = FileDataset(sys.argv[2], Dataset(), file_meta=meta, preamble=b'\\0' * 128)
ds.is_little_endian = True
ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.Modality = 'SEG'
ds.StudyInstanceUID = '1.2.826.0.1.3680043.9.9999.5'
ds.SeriesInstanceUID = '1.2.826.0.1.3680043.9.9999.71'
ds.FrameOfReferenceUID = '1.2.826.0.1.3680043.9.9999.8'
ds.ReferencedSeriesSequence = Sequence([
    item(SeriesInstanceUID=uid, ReferencedInstanceSequence=Sequence([
        item(ReferencedSOPClassUID='1.2.840.10008.5.1.4.1.1.4', ReferencedSOPInstanceUID=s)
        for s in spec['instances']]))
    for uid in spec['referencedSeries']])
ds.SegmentationType = 'BINARY'
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = 'MONOCHROME2'
ds.Rows, ds.Columns = spec['rows'], spec['columns']
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
ds.LossyImageCompression = '00'
ds.SegmentSequence = Sequence([
    item(SegmentNumber=s['number'], SegmentLabel=s['label'], SegmentAlgorithmType='MANUAL',
         SegmentedPropertyCategoryCodeSequence=code('91723000', 'SCT', 'Anatomical Structure'),
         SegmentedPropertyTypeCodeSequence=code(s['code'], 'SCT', s['label']))
    for s in spec['segments']])
ds.SharedFunctionalGroupsSequence = Sequence([item(
    PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=spec['iop'])]),
    PixelMeasuresSequence=Sequence([item(PixelSpacing=spec['spacing'], SliceThickness=2.5)]))])
groups = []
for f in spec['frames']:
    fg = item(SegmentIdentificationSequence=Sequence([item(ReferencedSegmentNumber=f['segment'])]),
              PlanePositionSequence=Sequence([item(ImagePositionPatient=f['position'])]))
    if 'sop' in f:
        fg.DerivationImageSequence = Sequence([item(
            SourceImageSequence=Sequence([item(ReferencedSOPClassUID='1.2.840.10008.5.1.4.1.1.4',
                                               ReferencedSOPInstanceUID=f['sop'])]),
            DerivationCodeSequence=code('113076', 'DCM', 'Segmentation'))])
    groups.append(fg)
ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
ds.NumberOfFrames = len(groups)
ds.PixelData = pack_bits(np.array([b for f in spec['frames'] for b in f['mask']], dtype=np.uint8))
ds.save_as(sys.argv[2], write_like_original=False)
`;

describe('a SEG written by pydicom (another tool)', () => {
  const reason = pydicomSkipReason();
  const dir = mkdtempSync(join(tmpdir(), 'masam-segread-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const volume = readSeries([4, 2, 0, 3, 1]);
  const info = volume.source!.dicom!;
  const segments = [
    { number: 1, label: 'Liver', code: '10200004' },
    { number: 2, label: 'Tumour', code: '108369006' },
    { number: 5, label: 'Kidney', code: '64033007' },
  ];
  // masks[segment] per slice k: the tumour lies inside the liver; slice 2 holds no segment.
  const mask = (segment: number, k: number) =>
    Array.from({ length: PLANE }, (_, p) => {
      if (k === 2) return 0;
      if (segment === 1) return p % 3 === 0 && k !== 0 ? 1 : 0;
      if (segment === 2) return p % 6 === 0 && (k === 1 || k === 3) ? 1 : 0;
      return p >= 24 && (k === 0 || k === 4) ? 1 : 0;
    });
  // One frame per (segment, slice) with foreground, plus one empty liver frame on slice 2; stored shuffled.
  const cells = segments.flatMap((s) =>
    [0, 1, 2, 3, 4]
      .filter((k) => mask(s.number, k).includes(1) || (s.number === 1 && k === 2))
      .map((k) => [s.number, k] as const),
  );
  const shuffled = [...cells.slice(3), ...cells.slice(0, 3)].reverse();
  // The oracle: the highest segment number covering each voxel.
  const expected = new Uint8Array(PLANE * FILES);
  for (const [s, k] of cells) {
    mask(s, k).forEach((v, p) => {
      if (v && s > expected[k * PLANE + p]!) expected[k * PLANE + p] = s;
    });
  }

  const write = (name: string, syntax: string, withReferences: boolean, referencedSeries: string[]) => {
    const spec = {
      syntax,
      rows: ROWS,
      columns: COLUMNS,
      iop: [...info.imageOrientationPatient],
      spacing: [...info.pixelSpacing],
      referencedSeries,
      instances: info.slices.map((s) => s.sopInstanceUID),
      segments,
      frames: shuffled.map(([segment, k]) => ({
        segment,
        position: [...info.slices[k]!.imagePositionPatient],
        ...(withReferences ? { sop: info.slices[k]!.sopInstanceUID } : {}),
        mask: mask(segment, k),
      })),
    };
    const specPath = join(dir, `${name}.json`);
    const out = join(dir, name);
    writeFileSync(specPath, JSON.stringify(spec));
    runPydicom(PYDICOM_WRITER, [specPath, out], `write ${out}`);
    return new Uint8Array(readFileSync(out));
  };
  const names = ['background', 'Liver', 'Tumour', 'label 3', 'label 4', 'Kidney'];

  it(
    'implicit VR, frames shuffled, placed by position only: segment numbers as values',
    { skip: reason },
    () => {
      const bytes = write('implicit.dcm', 'implicit', false, [SERIES_UID]);
      find(bytes, ascii('1.2.840.10008.1.2\0')); // Implicit VR Little Endian in the file meta
      const seg = parseDicomSeg(bytes, 'implicit.dcm');
      assert.deepEqual(
        seg.segments,
        segments.map(({ number, label }) => ({ number, label })),
      );
      assert.ok(seg.frames.every((f) => f.referencedSOPInstanceUID === undefined));
      const { label, classNames } = segToLabelVolume(seg, volume);
      assert.deepEqual(classNames, names);
      assert.deepEqual(label.data, expected);
    },
  );

  it('deflated, with source image references and two referenced series', { skip: reason }, () => {
    const bytes = write('deflated.dcm', 'deflated', true, ['1.2.3.999', SERIES_UID]);
    find(bytes, ascii('1.2.840.10008.1.2.1.99')); // Deflated Explicit VR Little Endian
    const seg = parseDicomSeg(bytes, 'deflated.dcm');
    assert.deepEqual(seg.referencedSeriesInstanceUIDs, ['1.2.3.999', SERIES_UID]);
    assert.deepEqual(
      seg.frames.map((f) => f.referencedSOPInstanceUID),
      shuffled.map(([, k]) => info.slices[k]!.sopInstanceUID),
    );
    const { label, classNames } = segToLabelVolume(seg, readSeries([0, 1, 2, 3, 4]));
    assert.deepEqual(classNames, names);
    assert.deepEqual(label.data, expected);
    // The same SEG refers to other series only: refused.
    const elsewhere = parseDicomSeg(write('other.dcm', 'explicit', true, ['1.2.3.999']), 'other.dcm');
    throwsMasam(
      () => segToLabelVolume(elsewhere, volume),
      /other\.dcm: segments series 1\.2\.3\.999, not synth/,
    );
  });
});
