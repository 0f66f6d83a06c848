// Valid starting inputs for each fuzzed format: the reference fixtures (../shared/fixtures) and small files
// generated here with masam's own writers, so every writer-supported variant (NIfTI-2, big-endian, scaled
// integers, 4D, deflated DICOM, Parameters in .pth, safetensors metadata, …) is mutated, plus two hostile
// seeds: decompression bombs whose headers declare far less than they inflate to.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, deflateRawSync } from 'node:zlib';
import { gzipSync, zipSync } from 'fflate';
import { type DType, hostTensor } from '../../src/core/index.js';
import { Rng } from '../../src/core/rng.js';
import { concatBytes } from '../../src/io/bytes.js';
import { dicomSeriesToVolume, parseDicom } from '../../src/io/dicom.js';
import { serializeDicomSeg } from '../../src/io/dicom_seg.js';
import { serializeNifti } from '../../src/io/nifti.js';
import { serializeNrrd } from '../../src/io/nrrd.js';
import { writePth } from '../../src/io/pth.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import type { Volume } from '../../src/io/volume.js';
import { writeStoredZip } from '../../src/io/zip.js';
import { resolveConfig } from '../../src/models/sam/config.js';
import { onnx, valueInfo } from '../../src/onnx/proto.js';
import { TS, words16, writeDicom } from '../../test/dicom_synth.js';
import { packBundle } from './bundle.js';

/** The shared fixtures folder beside the repository (as test/fixtures.ts finds it). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'fixtures');

const fixture = (...parts: string[]) => new Uint8Array(readFileSync(join(FIXTURES, ...parts)));
const text = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 1));

function volume(dtype: DType, shape: number[], rng: Rng, scale = 100): Volume {
  const t = hostTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) {
    const v = Math.round(rng.range(-1, 1) * scale);
    if (t.data instanceof BigInt64Array) t.data[i] = BigInt(v);
    else t.data[i] = dtype.startsWith('uint') || dtype === 'bool' ? Math.abs(v) % 200 : v;
  }
  const affine = [
    [-0.8, 0.1, 0, 10],
    [0, 0.9, 0.2, -20],
    [0.05, 0, 2.5, 30],
    [0, 0, 0, 1],
  ] as unknown as Volume['affine'];
  return { data: t.data, dtype, shape, spacing: shape.map(() => 1), affine } as Volume;
}

/** Small NIfTI images of the writer's variants (uncompressed or gzipped). */
function generatedNifti(gz: boolean): Uint8Array[] {
  const rng = new Rng(1);
  return [
    serializeNifti(volume('float32', [8, 6, 4], rng), { gzip: gz }),
    serializeNifti(volume('int16', [7, 5, 3], rng), { gzip: gz, littleEndian: false }),
    serializeNifti(volume('uint8', [6, 6, 2], rng), { gzip: gz, version: 2 }),
    serializeNifti(volume('float64', [4, 3, 2, 3], rng), { gzip: gz, sformCode: 0 }),
  ];
}

/**
 * Raw DEFLATE of `mib` MiB of zeros, about 1 KiB per MiB: one sync-flushed (byte-aligned, non-final) block
 * of 16 MiB repeated, then an empty final block — built in milliseconds instead of compressing it all.
 */
function deflatedZeros(mib: number): Uint8Array {
  const block = deflateRawSync(new Uint8Array(16 * 1024 ** 2), {
    level: 9,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  return concatBytes([...Array.from({ length: mib / 16 }, () => block), deflateRawSync(new Uint8Array(0))]);
}

/** A gzip member around raw DEFLATE data, CRC and size left 0 (a bounded reader stops before the trailer). */
function gzipMember(deflated: Uint8Array): Uint8Array {
  const header = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255);
  return concatBytes([header, deflated, new Uint8Array(8)]);
}

/** A .nii.gz whose header declares a 1×1×10 uint8 image but which inflates to 256 MiB. */
function niftiBomb(): Uint8Array {
  const small = serializeNifti(volume('uint8', [1, 1, 10], new Rng(2)));
  return concatBytes([gzipSync(small), gzipMember(deflatedZeros(256))]);
}

export function niftiSeeds(): Uint8Array[] {
  const files = readdirSync(join(FIXTURES, 'nifti')).filter((f) => f.endsWith('.nii'));
  return [...files.map((f) => fixture('nifti', f)), ...generatedNifti(false)];
}

export function niftiGzSeeds(): Uint8Array[] {
  const files = readdirSync(join(FIXTURES, 'nifti')).filter((f) => f.endsWith('.nii.gz'));
  return [...files.map((f) => fixture('nifti', f)), ...generatedNifti(true), niftiBomb()];
}

/** A .nrrd of header lines, the blank line and `data`. */
function nrrdText(lines: readonly string[], data: Uint8Array | string): Uint8Array {
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return concatBytes([new TextEncoder().encode(`${lines.join('\n')}\n\n`), body]);
}

/**
 * NRRD files: masam's writer (uint8/uint16/float/int16, raw and gzip), a Slicer-style big-endian header
 * with segment keys, a CRLF ascii file with spacings, and a gzip bomb whose sizes declare 10 bytes.
 */
export function nrrdSeeds(): Uint8Array[] {
  const rng = new Rng(3);
  const bigEndian = new Uint8Array(4 * 24);
  for (let i = 0; i < 24; i++) new DataView(bigEndian.buffer).setInt32(4 * i, ((i * 7919) % 50) - 20, false);
  const slicer = [
    'NRRD0004',
    '# Complete NRRD file format specification at:',
    'type: int',
    'dimension: 3',
    'space: left-posterior-superior',
    'sizes: 4 3 2',
    'space directions: (0.7,0,0) (0,0.7,0.1) (0,0,2.5)',
    'kinds: domain domain domain',
    'endian: big',
    'encoding: raw',
    'space origin: (-120.5,80,-33)',
    'Segment0_Name:=liver',
    'Segment0_LabelValue:=1',
  ];
  const ascii = [
    'NRRD0004',
    'type: double',
    'dimension: 3',
    'sizes: 2 2 2',
    'spacings: 0.5 nan 3',
    'encoding: text',
  ];
  const bombHeader = ['NRRD0004', 'type: uint8', 'dimension: 3', 'sizes: 1 1 10', 'encoding: gzip'];
  return [
    serializeNrrd(volume('uint8', [6, 5, 4], rng)),
    serializeNrrd(volume('uint16', [5, 4, 3], rng), { encoding: 'gzip' }),
    serializeNrrd(volume('float32', [4, 3, 2], rng)),
    serializeNrrd(volume('int16', [3, 3, 3], rng), { encoding: 'gzip', type: 'int16' }),
    nrrdText(slicer, bigEndian),
    new TextEncoder().encode(`${ascii.join('\r\n')}\r\n\r\n1 -2.5 3e2\n.5 nan INF -inf 7\n`),
    nrrdText(bombHeader, gzipMember(deflatedZeros(256))),
  ];
}

function synthSlice(k: number, ts: string, rows = 6, columns = 5): Uint8Array {
  const values = Array.from({ length: rows * columns }, (_, i) => (i * 37 + k * 11) % 4000);
  return writeDicom({
    rows,
    columns,
    transferSyntax: ts,
    pixelData: words16(values, ts !== TS.explicitBE),
    attrs: {
      '00080060': 'CT',
      '0020000D': '1.2.826.0.1.3680043.9.9999.2',
      '0020000E': '1.2.826.0.1.3680043.9.9999.3',
      '00200013': String(k + 1),
      '00200032': `-10\\-20\\${(2.5 * k).toFixed(1)}`,
      '00200037': '1\\0\\0\\0\\1\\0',
      '00280030': '0.7\\0.8',
      '00281052': '-1024',
      '00281053': '1',
    },
  });
}

export function dicomSeeds(): Uint8Array[] {
  const files = [
    'CT_small.dcm',
    'MR_small.dcm',
    'MR_small_RLE.dcm',
    'MR_small_bigendian.dcm',
    'JPEG-lossy.dcm',
  ];
  return [
    ...files.map((f) => fixture('dicom', f)),
    synthSlice(0, TS.implicitLE),
    synthSlice(1, TS.explicitLE),
    synthSlice(2, TS.explicitBE),
    synthSlice(3, TS.deflated),
    dicomBomb(),
  ];
}

/** A deflated-syntax DICOM whose Rows × Columns are 4×4 but whose data set inflates to 256 MiB. */
function dicomBomb(): Uint8Array {
  const slice = writeDicom({
    rows: 4,
    columns: 4,
    transferSyntax: TS.deflated,
    pixelData: new Uint8Array(32),
  });
  // The deflated data set follows the meta group; a stream of zeros stands in for it.
  return concatBytes([slice.subarray(0, dataSetStart(slice)), deflatedZeros(256)]);
}

/** Where the data set starts: after the preamble, (0002,0000) UL (12 bytes) and the meta group it sizes. */
function dataSetStart(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return 132 + 12 + view.getUint32(132 + 8, true);
}

export function dicomSeriesSeeds(): Uint8Array[] {
  const dir = join(FIXTURES, 'dicom', 'series_oblique');
  const oblique = readdirSync(dir)
    .sort()
    .map((f) => fixture('dicom', 'series_oblique', f));
  return [
    packBundle(oblique),
    packBundle([0, 1, 2, 3].map((k) => synthSlice(k, TS.explicitLE, 4, 3))),
    packBundle([2, 0, 1].map((k) => synthSlice(k, TS.implicitLE, 3, 4))),
  ];
}

/** The oblique fixture series as a Volume with its DICOM references: the grid the dicom-seg seeds lie on. */
export function obliqueSeries(): Volume {
  const dir = join(FIXTURES, 'dicom', 'series_oblique');
  const slices = readdirSync(dir)
    .sort()
    .map((f) => parseDicom(fixture('dicom', 'series_oblique', f), f));
  return dicomSeriesToVolume(slices, 'series_oblique');
}

/** DICOM-SEGs of the oblique series written by serializeDicomSeg: three classes, and one class. */
export function dicomSegSeeds(): Uint8Array[] {
  const series = obliqueSeries();
  const [nx, ny] = series.shape as [number, number, number];
  const labels = new Uint8Array(series.data.length);
  for (let i = 0; i < labels.length; i++) {
    const [x, y] = [i % nx, Math.floor(i / nx) % ny];
    labels[i] = x < nx / 3 ? 1 : y < ny / 2 ? 2 : 0;
  }
  const label: Volume = { ...series, dtype: 'uint8', data: labels };
  const seg = (data: Uint8Array, classNames: string[]) =>
    serializeDicomSeg({ ...label, data }, series.source!.dicom!, { classNames, name: 'seed' }).bytes;
  return [
    seg(labels, ['background', 'liver', 'spleen']),
    seg(
      labels.map((v) => (v === 1 ? 1 : 0)),
      ['background', 'tumour'],
    ),
  ];
}

export function pthSeeds(): Uint8Array[] {
  const rng = new Rng(3);
  const tensor = (dtype: DType, shape: number[]) => {
    const t = hostTensor(dtype, shape);
    for (let i = 0; i < t.data.length; i++)
      t.data[i] = (t.data instanceof BigInt64Array ? BigInt(rng.int(100)) : rng.range(-2, 2)) as never;
    return t;
  };
  return [
    fixture('tiny-a', 'masam.pth'),
    writePth([
      { key: 'q_FacTs_000', tensor: tensor('float32', [2, 2]), parameter: true },
      { key: 'image_encoder.pos_embed', tensor: tensor('float32', [1, 2, 2, 3]) },
      { key: 'mask_decoder.num', tensor: tensor('int64', [3]) },
      { key: 'd', tensor: tensor('float64', [2]) },
    ]),
    writePth([{ key: 'only', tensor: tensor('float32', [5]) }], { archiveName: 'epoch_1' }),
  ];
}

export function safetensorsSeeds(): Uint8Array[] {
  const rng = new Rng(4);
  const f32 = hostTensor(
    'float32',
    [3, 4],
    Float32Array.from({ length: 12 }, () => rng.range(-1, 1)),
  );
  const i64 = hostTensor('int64', [2], BigInt64Array.of(1n, -7n));
  const u8 = hostTensor('uint8', [5], Uint8Array.of(1, 2, 3, 4, 5));
  return [
    fixture('tiny-a', 'inputs.safetensors'),
    writeSafetensors([['w', f32]], { step: '12', note: 'seed' }),
    writeSafetensors([
      ['a', i64],
      ['b', u8],
      ['c', f32],
    ]),
    writeSafetensors([]),
  ];
}

export function zipSeeds(): Uint8Array[] {
  const enc = new TextEncoder();
  const records = [
    { name: 'archive/data.pkl', data: enc.encode('pickle bytes') },
    { name: 'archive/data/0', data: new Uint8Array(256).map((_, i) => i) },
    { name: 'archive/version', data: enc.encode('3\n') },
  ];
  return [
    writeStoredZip(records),
    zipSync(Object.fromEntries(records.map((r) => [r.name, r.data])), { level: 6 }),
    zipSync({ 'a.txt': enc.encode('hello '.repeat(500)), 'dir/b.bin': new Uint8Array(100) }, { level: 9 }),
    fixture('tiny-a', 'masam.pth'),
  ];
}

/** A gzip stream that inflates to 256 MiB from about 260 KiB. */
function gzipBomb(): Uint8Array {
  return gzipMember(deflatedZeros(256));
}

export function gzipSeeds(): Uint8Array[] {
  const rng = new Rng(5);
  const random = Uint8Array.from({ length: 4096 }, () => rng.int(256));
  const textual = new TextEncoder().encode('masam fuzz seed\n'.repeat(300));
  return [
    gzipSync(textual),
    gzipSync(random, { level: 1 }),
    concatBytes([gzipSync(textual.subarray(0, 100)), gzipSync(random.subarray(0, 100))]),
    gzipSync(new Uint8Array(0)),
    fixture('nifti', 'labels_uint8.nii.gz'),
    gzipBomb(),
  ];
}

export function promptsSeeds(): Uint8Array[] {
  return [
    text({ box3d: [10, 12, 3, 40, 30, 9] }),
    text({
      boxes: [
        { slice: 4, box: [5, 6, 20, 25] },
        { slice: 5, box: [0, 0, 63, 47] },
      ],
    }),
    text({
      points: [
        { voxel: [10, 11, 4], label: 1 },
        { voxel: [30, 20, 4], label: 0 },
      ],
    }),
    text({ box3d: [0, 0, 0, 63, 47, 19], points: [{ voxel: [1, 2, 3], label: 1 }] }),
  ];
}

/** A dataset.json with the folder listing it is checked against: { dataset, imagesTr, labelsTr }. */
export function datasetSeeds(): Uint8Array[] {
  return [
    text({
      dataset: {
        name: 'Task09_Spleen',
        labels: { '0': 'background', '1': 'spleen' },
        modality: { '0': 'CT' },
        numTraining: 2,
        training: [
          { image: './imagesTr/spleen_2.nii.gz', label: './labelsTr/spleen_2.nii.gz' },
          { image: './imagesTr/spleen_3.nii.gz', label: './labelsTr/spleen_3.nii.gz' },
        ],
        test: ['./imagesTs/spleen_1.nii.gz'],
      },
      imagesTr: ['spleen_2.nii.gz', 'spleen_3.nii.gz'],
      labelsTr: ['spleen_2.nii.gz', 'spleen_3.nii.gz'],
    }),
    text({
      dataset: {
        channel_names: { '0': 'T2', '1': 'ADC' },
        labels: { background: 0, PZ: 1, TZ: 2 },
        numTraining: 2,
        file_ending: '.nii.gz',
      },
      imagesTr: ['p_00_0000.nii.gz', 'p_00_0001.nii.gz', 'p_01_0000.nii.gz', 'p_01_0001.nii.gz'],
      labelsTr: ['p_00.nii.gz', 'p_01.nii.gz'],
    }),
    text({
      dataset: {
        channel_names: { '0': 'CT' },
        labels: { background: 0, liver: 1 },
        numTraining: 1,
        file_ending: '.nii',
        description: 'one case',
      },
      imagesTr: ['c_1_0000.nii', '.DS_Store'],
      labelsTr: ['c_1.nii'],
    }),
  ];
}

/** Model metadata as MaSamModel.exportOnnx writes it, for a plain and a box-prompted tiny model. */
function masamMetadata(prompted: boolean): Record<string, string> {
  const config = resolveConfig(JSON.parse(readFileSync(join(FIXTURES, 'tiny-a', 'config.json'), 'utf8')));
  return {
    'masam.config': JSON.stringify(config),
    'masam.class_names': JSON.stringify(['background', 'liver', 'spleen', 'kidney']),
    'masam.preprocessing': JSON.stringify(
      prompted ? { modality: 'mri' } : { modality: 'ct', window: [-200, 250] },
    ),
    'masam.slices': '5',
    ...(prompted && { 'masam.prompts': JSON.stringify({ points: 2 }) }),
  };
}

function onnxModel(metadata: Record<string, string>, extraInputs: boolean): Uint8Array {
  const inputs = [valueInfo('image', 'float32', [1, 5, 3, 128, 128])];
  if (extraInputs)
    inputs.push(valueInfo('boxes', 'float32', [5, 4]), valueInfo('point_labels', 'float32', [5, 2]));
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'masam-fuzz',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'seed',
      node: [{ opType: 'Identity', input: ['image'], output: ['masks'], name: 'id' }],
      input: inputs,
      output: [valueInfo('masks', 'float32', [1, 5, 3, 128, 128])],
      initializer: [
        { name: 'w', dataType: 1, dims: [2], rawData: new Uint8Array(new Float32Array([1, 2]).buffer) },
      ],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  }).finish();
}

export function onnxSeeds(): Uint8Array[] {
  return [onnxModel(masamMetadata(false), false), onnxModel(masamMetadata(true), true)];
}

/** The fixed model metadata the prompts target reads prompts against (a box + 2-point model). */
export function promptedModelMetadata(): Record<string, string> {
  return masamMetadata(true);
}
