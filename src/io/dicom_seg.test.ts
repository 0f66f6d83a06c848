// DICOM-SEG writer: a synthetic series (test/dicom_synth.ts) whose source pixels define the labels, so reading
// the SEG back with dicom-parser checks the rows/columns/slices mapping against the source files themselves,
// not against the volume conventions the writer uses; plus the Part 10 framing, padding, UIDs, empty label
// maps, refusals, and a cross-check with pydicom (skipped, with the reason, where pydicom is missing).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import dicomParser, { type DataSet } from 'dicom-parser';
import { TS, words16, writeDicom } from '../../test/dicom_synth.js';
import { fixturePath } from '../../test/fixtures.js';
import { pydicomSkipReason, runPydicom } from '../../test/pydicom.js';
import { MasamError } from '../core/errors.js';
import { type DicomSlice, dicomSeriesToVolume, parseDicom } from './dicom.js';
import {
  type DicomSeriesInfo,
  MASAM_CODING_SCHEME,
  SEGMENTATION_STORAGE,
  newUid,
  uuidUid,
  serializeDicomSeg,
} from './dicom_seg.js';
import type { Volume } from './volume.js';

const ROWS = 5;
const COLUMNS = 7; // 35 pixels: frames do not end on byte boundaries
const CLASSES = ['background', 'liver', 'spleen'];
/** Stored values that mean class 1 and class 2 in the synthetic source images. */
const VALUE = [0, 100, 200];

/** Source pixels of file f, row-major [ROWS, COLUMNS] as stored: asymmetric blobs, and nothing in file 2. */
function sourcePixels(f: number): number[] {
  const px = new Array<number>(ROWS * COLUMNS).fill(0);
  if (f === 2) return px;
  for (let c = 1; c <= 4; c++) px[1 * COLUMNS + c] = VALUE[1]!; // a bar along row 1
  px[3 * COLUMNS + f] = VALUE[1]!; // one pixel whose column moves with the file
  if (f !== 0) px[(ROWS - 1) * COLUMNS + (COLUMNS - 1)] = VALUE[2]!; // the last pixel, not in file 0
  return px;
}

/** Sagittal slices (rows along +y, columns along −z): the volume's k order runs against the file order. */
const IOP = '0\\1\\0\\0\\0\\-1';
const positionOf = (f: number) => [-20 + 2.5 * f, -100, 50] as const;

interface SourceFile {
  readonly name: string;
  readonly sopInstanceUID: string;
  readonly position: readonly number[];
  readonly pixels: number[];
  readonly bytes: Uint8Array;
}

function synthSeries(count = 4): SourceFile[] {
  return Array.from({ length: count }, (_, f) => {
    const sopInstanceUID = `1.2.826.0.1.3680043.9.9999.7.${f + 1}`;
    const pixels = sourcePixels(f);
    const bytes = writeDicom({
      rows: ROWS,
      columns: COLUMNS,
      transferSyntax: TS.explicitLE,
      pixelData: words16(pixels),
      attrs: {
        '00080016': '1.2.840.10008.5.1.4.1.1.4',
        '00080018': sopInstanceUID,
        '00080060': 'MR',
        '0020000D': '1.2.826.0.1.3680043.9.9999.5',
        '0020000E': '1.2.826.0.1.3680043.9.9999.6',
        '00200052': '1.2.826.0.1.3680043.9.9999.8',
        '00200013': String(10 - f),
        '00200032': positionOf(f).join('\\'),
        '00200037': IOP,
        '00280030': '0.5\\0.75',
        '00180050': '2.5',
      },
    });
    return { name: `synth/img_${f}.dcm`, sopInstanceUID, position: positionOf(f), pixels, bytes };
  });
}

/** The series as the CLI reads it, and labels derived from its voxel values (100 → 1, 200 → 2). */
function loadSeries(files: readonly SourceFile[], patch: Partial<DicomSlice> = {}) {
  const slices = files.map((f) => ({ ...parseDicom(f.bytes, f.name), ...patch }));
  const volume = dicomSeriesToVolume([...slices].reverse(), 'synth');
  const labels: Volume = {
    ...volume,
    dtype: 'uint8',
    data: Uint8Array.from(volume.data as Int16Array, (v) => VALUE.indexOf(v)),
  };
  return { volume, labels, series: volume.source!.dicom! };
}

interface SegFrame {
  readonly segment: number;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
  readonly position: number[];
  readonly dimension: number[];
  /** Unpacked bits, row-major [rows, columns]. */
  readonly mask: Uint8Array;
}

const item = (ds: DataSet, tag: string, i = 0): DataSet => {
  const items = ds.elements[tag]?.items;
  assert.ok(items && items.length > i, `sequence ${tag} has no item ${i}`);
  return items[i]!.dataSet!;
};

/** Reads our SEG back with dicom-parser: segments by number, frames with their references and bits. */
function readSeg(bytes: Uint8Array) {
  const ds = dicomParser.parseDicom(bytes);
  const rows = ds.uint16('x00280010')!;
  const columns = ds.uint16('x00280011')!;
  const count = ds.intString('x00280008')!;
  const plane = rows * columns;
  const px = ds.elements['x7fe00010']!;
  const bits = bytes.subarray(px.dataOffset, px.dataOffset + px.length);
  const segments = new Map(
    (ds.elements['x00620002']!.items ?? []).map((it) => {
      const s = it.dataSet!;
      const type = item(s, 'x0062000f');
      const label = s.string('x00620005')!;
      return [
        s.uint16('x00620004')!,
        { label, code: type.string('x00080100'), scheme: type.string('x00080102') },
      ];
    }),
  );
  const frames: SegFrame[] = (ds.elements['x52009230']!.items ?? []).map((it, n) => {
    const fg = it.dataSet!;
    const source = item(item(fg, 'x00089124'), 'x00082112');
    const content = item(fg, 'x00209111');
    const position = item(fg, 'x00209113');
    const mask = new Uint8Array(plane);
    for (let p = 0; p < plane; p++) {
      const b = n * plane + p;
      mask[p] = (bits[b >> 3]! >> (b & 7)) & 1;
    }
    return {
      segment: item(fg, 'x0062000a').uint16('x0062000b')!,
      sopInstanceUID: source.string('x00081155')!,
      sopClassUID: source.string('x00081150')!,
      position: [0, 1, 2].map((i) => position.floatString('x00200032', i)!),
      dimension: [0, 1].map((i) => content.uint32('x00209157', i)!),
      mask,
    };
  });
  return { ds, rows, columns, count, frames, segments, bits };
}

/** Every element of a data set and its items (for the even-length rule). */
function* allElements(ds: DataSet): Generator<[string, { length: number; items?: { dataSet?: DataSet }[] }]> {
  for (const [tag, el] of Object.entries(ds.elements)) {
    yield [tag, el];
    for (const it of el.items ?? []) if (it.dataSet) yield* allElements(it.dataSet);
  }
}

describe('serializeDicomSeg on a synthetic series', () => {
  const files = synthSeries();
  const { labels, series } = loadSeries(files);
  const seg = serializeDicomSeg(labels, series, { classNames: CLASSES, name: 'out.dcm' });
  const read = readSeg(seg.bytes);

  it('writes a Part 10 Segmentation in Explicit VR Little Endian, 1-bit BINARY', () => {
    const b = seg.bytes;
    assert.ok(b.subarray(0, 128).every((x) => x === 0));
    assert.equal(new TextDecoder().decode(b.subarray(128, 132)), 'DICM');
    const meta = dicomParser.readPart10Header(b);
    assert.equal(meta.string('x00020010'), '1.2.840.10008.1.2.1');
    assert.equal(meta.string('x00020002'), SEGMENTATION_STORAGE);
    assert.equal(meta.string('x00020003'), seg.sopInstanceUID);
    const { ds } = read;
    assert.equal(ds.string('x00080016'), SEGMENTATION_STORAGE);
    assert.equal(ds.string('x00080018'), seg.sopInstanceUID);
    assert.equal(ds.string('x00080060'), 'SEG');
    assert.equal(ds.string('x00620001'), 'BINARY');
    assert.deepEqual(
      ['x00280100', 'x00280101', 'x00280102', 'x00280002'].map((t) => ds.uint16(t)),
      [1, 1, 0, 1],
    );
    assert.deepEqual([read.rows, read.columns], [ROWS, COLUMNS]);
    assert.equal(read.count, seg.frames);
    assert.equal(read.frames.length, seg.frames);
    assert.equal(read.bits.length, Math.ceil(Math.ceil((seg.frames * ROWS * COLUMNS) / 8) / 2) * 2);
  });

  it('puts every bit on the source pixel it labels: rows, columns and slices as in the source files', () => {
    const byUid = new Map(files.map((f) => [f.sopInstanceUID, f]));
    const expected: string[] = [];
    for (const f of files) {
      for (const c of [1, 2]) if (f.pixels.includes(VALUE[c]!)) expected.push(`${c} ${f.sopInstanceUID}`);
    }
    const written = read.frames.map((fr) => {
      const { label } = read.segments.get(fr.segment)!;
      const c = CLASSES.indexOf(label);
      const file = byUid.get(fr.sopInstanceUID)!;
      assert.ok(file, `frame references unknown SOP instance ${fr.sopInstanceUID}`);
      const want = Uint8Array.from(file.pixels, (v) => (v === VALUE[c] ? 1 : 0));
      assert.deepEqual(fr.mask, want, `${label} on ${file.name}`);
      assert.deepEqual(fr.position, file.position);
      assert.equal(fr.sopClassUID, '1.2.840.10008.5.1.4.1.1.4');
      return `${c} ${fr.sopInstanceUID}`;
    });
    // Only frames that hold their segment, and all of them (file 2 is empty, spleen is absent from file 0).
    assert.deepEqual([...written].sort(), expected.sort());
    assert.equal(seg.frames, 3 + 2);
  });

  it('orders frames by segment, then by position along the normal (the dimension index)', () => {
    const normal = [-1, 0, 0]; // row (0, 1, 0) × column (0, 0, −1)
    const along = (p: readonly number[]) => p[0]! * normal[0]! + p[1]! * normal[1]! + p[2]! * normal[2]!;
    const dims = read.frames.map((f) => f.dimension);
    assert.deepEqual(
      dims.map((d) => d[0]),
      read.frames.map((f) => f.segment),
    );
    assert.deepEqual(
      dims,
      [...dims].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!),
    );
    for (const f of read.frames) {
      const k = f.dimension[1]! - 1;
      assert.deepEqual(f.position, [...series.slices[k]!.imagePositionPatient]);
    }
    const ks = series.slices.map((s) => along(s.imagePositionPatient));
    assert.deepEqual(
      ks,
      [...ks].sort((a, b) => a - b),
    );
  });

  it('unpacks to the label map voxel for voxel', () => {
    const plane = ROWS * COLUMNS;
    const back = new Uint8Array(labels.data.length);
    for (const f of read.frames) {
      const c = CLASSES.indexOf(read.segments.get(f.segment)!.label);
      const k = series.slices.findIndex((s) => s.sopInstanceUID === f.sopInstanceUID);
      for (let p = 0; p < plane; p++) if (f.mask[p]) back[k * plane + p] = c;
    }
    assert.deepEqual(back, labels.data);
  });

  it('describes one segment per class present, with the class name and generic codes', () => {
    assert.deepEqual(
      seg.segments.map((s) => [s.number, s.classIndex, s.label, s.frames]),
      [
        [1, 1, 'liver', 3],
        [2, 2, 'spleen', 2],
      ],
    );
    assert.deepEqual(read.segments.get(2), { label: 'spleen', code: '2', scheme: MASAM_CODING_SCHEME });
    const s = item(read.ds, 'x00620002');
    assert.equal(s.string('x00620008'), 'AUTOMATIC');
    assert.equal(s.string('x00620009'), 'masam');
    const category = item(s, 'x00620003');
    assert.deepEqual(
      ['x00080100', 'x00080102', 'x00080104'].map((t) => category.string(t)),
      ['91723000', 'SCT', 'Anatomical Structure'],
    );
  });

  it('copies the study, series reference and geometry; new UIDs under 2.25', () => {
    const { ds } = read;
    assert.equal(ds.string('x0020000d'), series.studyInstanceUID);
    assert.equal(ds.string('x00200052'), series.frameOfReferenceUID);
    assert.equal(ds.string('x0020000e'), seg.seriesInstanceUID);
    assert.notEqual(seg.seriesInstanceUID, series.seriesInstanceUID);
    for (const uid of [seg.sopInstanceUID, seg.seriesInstanceUID, newUid()]) {
      assert.match(uid, /^2\.25\.(0|[1-9]\d*)$/);
      assert.ok(uid.length <= 64);
      assert.ok(BigInt(uid.slice(5)) < 1n << 128n);
    }
    const ref = item(ds, 'x00081115');
    assert.equal(ref.string('x0020000e'), series.seriesInstanceUID);
    assert.deepEqual(
      ref.elements['x0008114a']!.items!.map((it) => it.dataSet!.string('x00081155')).sort(),
      files.map((f) => f.sopInstanceUID).sort(),
    );
    const shared = item(ds, 'x52009229');
    const measures = item(shared, 'x00289110');
    assert.deepEqual(
      [0, 1].map((i) => measures.floatString('x00280030', i)),
      [0.5, 0.75],
    );
    assert.equal(measures.floatString('x00180050'), 2.5);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => item(shared, 'x00209116').floatString('x00200037', i)),
      [0, 1, 0, 0, 0, -1],
    );
  });

  it('uuidUid: the UUID of the given bits with its version and variant set, as a 2.25 UID', () => {
    // Zero bits: only the version nibble (byte 6) and the variant bits (byte 8) are set.
    const zero = (0x80n << 72n) | (0x80n << 56n);
    assert.equal(uuidUid(new Uint8Array(16), 8), `2.25.${zero}`);
    const ones = uuidUid(new Uint8Array(32).fill(0xff), 4); // only the first 16 bytes count
    const hex = BigInt(ones.slice(5)).toString(16);
    assert.equal(hex, 'ffffffffffff4fffbfffffffffffffff');
    assert.throws(() => uuidUid(new Uint8Array(15), 4), /a UUID needs 16 bytes, got 15/);
    assert.match(newUid(), /^2\.25\.[1-9]\d*$/);
    assert.equal(BigInt(newUid().slice(5)).toString(16).padStart(32, '0')[12], '4');
  });

  it('writes the algorithm type asked for: no SegmentAlgorithmName for a MANUAL one', () => {
    assert.equal(read.ds.string('x00700081'), 'masam automatic segmentation');
    for (const type of ['SEMIAUTOMATIC', 'MANUAL'] as const) {
      const ds = dicomParser.parseDicom(
        serializeDicomSeg(labels, series, { classNames: CLASSES, algorithmType: type }).bytes,
      );
      const s = item(ds, 'x00620002');
      assert.equal(s.string('x00620008'), type);
      assert.equal(s.string('x00620009'), type === 'MANUAL' ? undefined : 'masam');
      assert.equal(ds.string('x00700081'), `masam ${type.toLowerCase()} segmentation`);
    }
  });

  it('pads every value to even length: text with spaces, UIDs with NUL', () => {
    for (const [tag, el] of allElements(read.ds)) {
      if (!el.items) assert.equal(el.length % 2, 0, `${tag} has odd length ${el.length}`);
    }
    const odd = serializeDicomSeg(labels, series, {
      classNames: CLASSES,
      uid: () => '2.25.1234', // 9 characters
      seriesDescription: 'odd',
    });
    const ds = dicomParser.parseDicom(odd.bytes);
    const raw = (d: DataSet, tag: string) => {
      const el = d.elements[tag]!;
      return [...d.byteArray.subarray(el.dataOffset, el.dataOffset + el.length)];
    };
    assert.deepEqual(raw(ds, 'x0008103e'), [...new TextEncoder().encode('odd ')]);
    assert.deepEqual(raw(item(ds, 'x00620002'), 'x00620005'), [...new TextEncoder().encode('liver ')]);
    assert.deepEqual(raw(ds, 'x00080018'), [...new TextEncoder().encode('2.25.1234\0')]);
  });

  it('copies patient and study attributes and the character set byte for byte', () => {
    const study = {
      PatientName: 'M\xfcller^J\xfcrgen',
      PatientID: 'P-7',
      StudyDate: '20240102',
      AccessionNumber: 'A1',
    };
    const patched = loadSeries(files, { specificCharacterSet: 'ISO_IR 100', studyAttributes: study });
    const out = serializeDicomSeg(patched.labels, patched.series, {
      classNames: ['bg', 'Gef\xe4\xdf', 'spleen'],
    });
    const ds = dicomParser.parseDicom(out.bytes);
    assert.equal(ds.string('x00080005'), 'ISO_IR 100');
    const el = ds.elements['x00100010']!;
    assert.deepEqual(
      [...ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length)],
      [...Uint8Array.from('M\xfcller^J\xfcrgen ', (c) => c.charCodeAt(0))],
    );
    assert.equal(ds.string('x00100020'), 'P-7');
    assert.equal(ds.string('x00080020'), '20240102');
    assert.equal(ds.string('x00080050'), 'A1');
    assert.equal(ds.string('x00100040'), undefined); // Type 2: present, empty
    assert.ok(ds.elements['x00100040']);
    assert.equal(item(ds, 'x00620002').string('x00620005'), 'Gef\xe4\xdf'); // Latin-1 bytes under ISO_IR 100
  });
});

describe('serializeDicomSeg edge cases and refusals', () => {
  const files = synthSeries();
  const { labels, series } = loadSeries(files);

  it('encodes a label map without foreground as every class with one empty frame', () => {
    const none = { ...labels, data: new Uint8Array(labels.data.length) };
    const seg = serializeDicomSeg(none, series, { classNames: CLASSES });
    assert.equal(seg.empty, true);
    assert.deepEqual(
      seg.segments.map((s) => [s.number, s.label, s.frames]),
      [
        [1, 'liver', 1],
        [2, 'spleen', 1],
      ],
    );
    const read = readSeg(seg.bytes);
    assert.equal(read.count, 2);
    assert.ok(read.frames.every((f) => f.mask.every((b) => b === 0)));
    assert.ok(read.frames.every((f) => f.sopInstanceUID === series.slices[0]!.sopInstanceUID));
  });

  it('refuses labels off the series grid, naming the output and the series', () => {
    const rejects = (volume: Volume, ...fragments: RegExp[]) =>
      assert.throws(
        () => serializeDicomSeg(volume, series, { classNames: CLASSES, name: 'out.dcm' }),
        (e: unknown) => e instanceof MasamError && fragments.every((f) => f.test(e.message)),
      );
    rejects(
      { ...labels, shape: [ROWS, COLUMNS, 4] },
      /^out\.dcm: the label map is \[5, 7, 4\]/,
      /synth is \[7, 5, 4\]/,
    );
    const flipped = labels.affine.map((r) => [...r]) as unknown as number[][];
    for (const row of flipped) row[0]! *= -1; // i runs the other way
    rejects(
      { ...labels, affine: flipped as unknown as Volume['affine'] },
      /out\.dcm: .*affine does not match.*synth/,
    );
    const bad = Uint8Array.from(labels.data as Uint8Array);
    bad[3] = 7;
    rejects({ ...labels, data: bad }, /out\.dcm: label value 7 at voxel 3 is not a class index \(3 classes/);
    assert.throws(
      () => serializeDicomSeg(labels, series, { classNames: ['background'], name: 'out.dcm' }),
      /out\.dcm: a DICOM-SEG needs a foreground class/,
    );
  });

  it('refuses a source slice without SOP Instance UID or a series without frame of reference, naming the file', () => {
    const slices = series.slices.map((s, k) => (k === 2 ? { ...s, sopInstanceUID: undefined } : s));
    assert.throws(
      () => serializeDicomSeg(labels, { ...series, slices }, { classNames: CLASSES }),
      (e: unknown) =>
        e instanceof MasamError && e.message.startsWith(`${series.slices[2]!.source}: no SOPInstanceUID`),
    );
    const noFor: DicomSeriesInfo = { ...series, frameOfReferenceUID: undefined };
    assert.throws(
      () => serializeDicomSeg(labels, noFor, { classNames: CLASSES }),
      /synth\/img_3\.dcm: no FrameOfReferenceUID \(0020,0052\)/,
    );
  });

  it('keeps the patient and study attributes of real files on source.dicom, not in the header', () => {
    const dir = fixturePath('dicom', 'series_oblique');
    const slices = readdirSync(dir).map((f) => parseDicom(new Uint8Array(readFileSync(join(dir, f))), f));
    const source = dicomSeriesToVolume(slices, dir).source!;
    assert.deepEqual(source.dicom!.study, { PatientName: 'Phantom^Series', PatientID: '0001' });
    assert.ok(!Object.keys(source.header ?? {}).some((k) => /patient/i.test(k)));
    const ct = parseDicom(new Uint8Array(readFileSync(fixturePath('dicom', 'CT_small.dcm'))), 'CT_small.dcm');
    assert.equal(ct.specificCharacterSet, 'ISO_IR 100');
    assert.equal(ct.studyAttributes?.PatientName, 'CompressedSamples^CT1');
    assert.equal(ct.studyAttributes?.StudyTime, '072730');
  });
});

// ---- Cross-check with pydicom (optional, test/pydicom.ts: skipped with the reason when missing) ----

const PYDICOM_SCRIPT = `
import json, sys
import numpy as np, pydicom
if hasattr(pydicom.config, 'settings'):
    pydicom.config.settings.reading_validation_mode = pydicom.config.RAISE
ds = pydicom.dcmread(sys.argv[1])
for elem in ds.iterall():
    elem.value  # converts (and so validates) every value
frames = np.asarray(ds.pixel_array, dtype=np.uint8).reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)
per_frame = ds.PerFrameFunctionalGroupsSequence
sys.stdout.write(json.dumps({
  'sopClass': str(ds.SOPClassUID), 'transferSyntax': str(ds.file_meta.TransferSyntaxUID),
  'frames': frames.tobytes().hex(), 'shape': list(frames.shape),
  'segments': [fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber for fg in per_frame],
  'refs': [fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID for fg in per_frame],
  'positions': [[float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient] for fg in per_frame],
  'labels': [s.SegmentLabel for s in ds.SegmentSequence],
  'patientName': str(ds.PatientName),
}))
`;

describe('cross-check with pydicom', () => {
  const reason = pydicomSkipReason();
  const dir = mkdtempSync(join(tmpdir(), 'masam-seg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, labels: Volume, series: DicomSeriesInfo, classNames: string[]) => {
    const seg = serializeDicomSeg(labels, series, { classNames });
    const path = join(dir, name);
    writeFileSync(path, seg.bytes);
    const py = JSON.parse(runPydicom(PYDICOM_SCRIPT, [path], `read ${path}`));
    assert.equal(py.sopClass, SEGMENTATION_STORAGE);
    assert.equal(py.transferSyntax, '1.2.840.10008.1.2.1');
    assert.deepEqual(py.shape, [seg.frames, series.rows, series.columns]);
    assert.deepEqual(
      py.labels,
      seg.segments.map((x) => x.label),
    );
    // pydicom's frames, placed by their segment and referenced slice, rebuild the label map exactly.
    const frames = Uint8Array.from((py.frames as string).match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    const plane = series.rows * series.columns;
    const back = new Uint8Array(labels.data.length);
    for (let n = 0; n < seg.frames; n++) {
      const c = classNames.indexOf(py.labels[py.segments[n] - 1]);
      const k = series.slices.findIndex((x) => x.sopInstanceUID === py.refs[n]);
      assert.ok(c > 0 && k >= 0, `frame ${n}: segment ${py.segments[n]}, source ${py.refs[n]}`);
      const want = series.slices[k]!.imagePositionPatient;
      assert.ok(
        want.every((v, i) => Math.abs(v - py.positions[n][i]) < 1e-6),
        `frame ${n} position`,
      );
      for (let p = 0; p < plane; p++) if (frames[n * plane + p]) back[k * plane + p] = c;
    }
    assert.deepEqual(back, Uint8Array.from(labels.data as Uint8Array));
    return py;
  };

  it(
    'pydicom reads the synthetic SEG: same frames, references, positions and labels',
    { skip: reason },
    () => {
      const { labels, series } = loadSeries(synthSeries());
      check('synth.dcm', labels, series, CLASSES);
    },
  );

  it('pydicom reads a SEG of the oblique CT series fixture', { skip: reason }, () => {
    const dir2 = fixturePath('dicom', 'series_oblique');
    const slices = readdirSync(dir2).map((f) => parseDicom(new Uint8Array(readFileSync(join(dir2, f))), f));
    const volume = dicomSeriesToVolume(slices, dir2);
    const hu = volume.data as Int16Array;
    const labels: Volume = {
      ...volume,
      dtype: 'uint8',
      data: Uint8Array.from(hu, (v) => (v > 200 ? 2 : v > 0 ? 1 : 0)),
    };
    const py = check('oblique.dcm', labels, volume.source!.dicom!, ['background', 'soft tissue', 'bone']);
    assert.equal(py.patientName, 'Phantom^Series');
  });
});
