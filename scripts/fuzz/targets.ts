// The fuzzed parsers: for each, its seeds, how an input is mutated and how it is parsed — the same calls the
// CLI makes on a file's bytes (JSON texts go through JSON.parse with the CLI's "not valid JSON" error).
// A run returns the parsed value or throws; the child process (child.ts) judges the outcome.
import type { Rng } from '../../src/core/rng.js';
import { MasamError } from '../../src/core/errors.js';
import { listCases, parseDatasetJson } from '../../src/data/dataset.js';
import { modelInfoFromMetadata } from '../../src/infer/model_info.js';
import { promptsForVolume } from '../../src/infer/prompts.js';
import { dicomSeriesToVolume, groupDicomSeries, parseDicomAsync } from '../../src/io/dicom.js';
import { parseDicomSeg, segToLabelVolume } from '../../src/io/dicom_seg_read.js';
import { gunzip } from '../../src/io/gzip.js';
import { parseNifti } from '../../src/io/nifti.js';
import { parseNrrd } from '../../src/io/nrrd.js';
import { readPthTensors } from '../../src/io/pth.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readZip, writeStoredZip } from '../../src/io/zip.js';
import { inspectModel } from '../../src/onnx/inspect.js';
import { onnx } from '../../src/onnx/proto.js';
import { packBundle, unpackBundle } from './bundle.js';
import { mutateJson } from './json_mutate.js';
import { mutateBytes } from './mutate.js';
import * as seeds from './seeds.js';

export interface FuzzTarget {
  readonly name: string;
  /** What is parsed, for the report. */
  readonly what: string;
  /** Valid (or deliberately hostile) starting inputs; generated once per process. */
  readonly seeds: () => Uint8Array[];
  /** A mutated input from `seed`; `other` is another seed of the same target, for splicing. */
  readonly mutate: (seed: Uint8Array, rng: Rng, other: Uint8Array) => Uint8Array;
  /** Parses `input` as masam does; returns the parsed value or throws. */
  readonly run: (input: Uint8Array) => Promise<unknown>;
  /** The decompression cap `run` passes to the parser, if any (counts in the allocation allowance). */
  readonly declaredBytes?: number;
}

/** Caps for the container targets, far above any seed's content: a bomb must stop at the cap. */
const INFLATE_CAP = 4 * 1024 ** 2;

/** JSON text → value, with the CLI's error (cli/commands/segment.ts readPrompts, cli/dataset_files.ts). */
function parseJsonText(input: Uint8Array, source: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(input));
  } catch (err) {
    throw new MasamError(`${source}: not valid JSON (${(err as Error).message})`);
  }
}

/** Mutates the data.pkl of a .pth and re-zips it with valid CRCs, so the pickle reader (not the CRC) is hit. */
function mutatePickleInPth(seed: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array {
  const zip = readZip(seed, 'seed');
  const pickleName = (z: typeof zip) => [...z.entries.keys()].find((n) => n.endsWith('/data.pkl'))!;
  const name = pickleName(zip);
  const otherZip = readZip(other, 'other');
  const pickle = mutateBytes(zip.read(name), rng, otherZip.read(pickleName(otherZip)));
  return writeStoredZip(
    [...zip.entries.keys()].map((n) => ({ name: n, data: n === name ? pickle : zip.read(n) })),
  );
}

/** Mutates one file of a bundle (a DICOM series), sometimes dropping or duplicating a file. */
function mutateBundle(seed: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array {
  const files: Uint8Array[] = unpackBundle(seed).map((f) => f.slice());
  const action = rng.uniform();
  if (action < 0.1 && files.length > 1) files.splice(rng.int(files.length), 1);
  else if (action < 0.2) files.push(files[rng.int(files.length)]!);
  else {
    const k = rng.int(files.length);
    const donors = unpackBundle(other);
    files[k] = mutateBytes(files[k]!, rng, donors[rng.int(donors.length)]!);
  }
  return packBundle(files);
}

/** Mutates an ONNX model: bytes, or one metadata value as JSON, or drops a metadata entry. */
function mutateOnnx(seed: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array {
  if (rng.uniform() < 0.4) return mutateBytes(seed, rng, other);
  const model = onnx.ModelProto.decode(seed);
  const props = model.metadataProps;
  const k = rng.int(props.length);
  if (rng.uniform() < 0.15) props.splice(k, 1);
  else {
    const value = new TextEncoder().encode(props[k]!.value ?? '');
    props[k]!.value = new TextDecoder().decode(mutateJson(value, rng));
  }
  return onnx.ModelProto.encode(model).finish();
}

/** The box + 2-point model prompts are read against, and the volume they are placed on. */
const promptedModel = modelInfoFromMetadata(seeds.promptedModelMetadata(), 'model.onnx');
const promptVolume = { shape: [64, 48, 20] };

/** A dataset input: dataset.json and the file names readdir would list (names only, as strings). */
function datasetAndListing(input: Uint8Array) {
  const json = parseJsonText(input, 'dataset.json') as Record<string, unknown> | null;
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : []);
  return {
    dataset: json?.['dataset'],
    listing: { imagesTr: names(json?.['imagesTr']), labelsTr: names(json?.['labelsTr']) },
  };
}

let obliqueSeries: ReturnType<typeof seeds.obliqueSeries> | undefined;
/** The series the dicom-seg target paints onto, read once per process. */
const segSeries = () => {
  obliqueSeries ??= seeds.obliqueSeries();
  return obliqueSeries;
};

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'nifti',
    what: 'NIfTI-1/2 .nii (parseNifti)',
    seeds: seeds.niftiSeeds,
    mutate: mutateBytes,
    run: async (b) => parseNifti(b, 'fuzz.nii'),
  },
  {
    name: 'nifti-gz',
    what: 'NIfTI-1/2 .nii.gz (parseNifti, header-bounded inflate)',
    seeds: seeds.niftiGzSeeds,
    mutate: mutateBytes,
    run: async (b) => parseNifti(b, 'fuzz.nii.gz'),
  },
  {
    name: 'nrrd',
    what: 'NRRD .nrrd, raw/gzip/ascii (parseNrrd with a 4 MiB cap)',
    seeds: seeds.nrrdSeeds,
    mutate: mutateBytes,
    declaredBytes: INFLATE_CAP,
    run: async (b) => parseNrrd(b, 'fuzz.nrrd', { maxBytes: INFLATE_CAP }),
  },
  {
    name: 'dicom',
    what: 'DICOM file → volume (parseDicomAsync, dicomSeriesToVolume)',
    seeds: seeds.dicomSeeds,
    mutate: mutateBytes,
    run: async (b) => dicomSeriesToVolume([await parseDicomAsync(b, 'fuzz.dcm')], 'fuzz.dcm'),
  },
  {
    name: 'dicom-series',
    what: 'DICOM series → volume (groupDicomSeries, dicomSeriesToVolume)',
    seeds: seeds.dicomSeriesSeeds,
    mutate: mutateBundle,
    run: async (b) => {
      const slices = [];
      for (const [i, f] of unpackBundle(b).entries()) slices.push(await parseDicomAsync(f, `img_${i}.dcm`));
      groupDicomSeries(slices);
      return dicomSeriesToVolume(slices, 'series');
    },
  },
  {
    name: 'dicom-seg',
    what: 'DICOM-SEG → label map on its series (parseDicomSeg, segToLabelVolume onto the oblique fixture series)',
    seeds: seeds.dicomSegSeeds,
    mutate: mutateBytes,
    run: async (b) => segToLabelVolume(parseDicomSeg(b, 'fuzz-seg.dcm'), segSeries()),
  },
  {
    name: 'pth',
    what: '.pth checkpoint, whole file (readPthTensors)',
    seeds: seeds.pthSeeds,
    mutate: mutateBytes,
    run: async (b) => readPthTensors(b, 'fuzz.pth'),
  },
  {
    name: 'pickle',
    what: ".pth checkpoint's data.pkl, re-zipped with valid CRCs (readPthTensors)",
    seeds: seeds.pthSeeds,
    mutate: mutatePickleInPth,
    run: async (b) => readPthTensors(b, 'fuzz.pth'),
  },
  {
    name: 'safetensors',
    what: 'safetensors (readSafetensors)',
    seeds: seeds.safetensorsSeeds,
    mutate: mutateBytes,
    run: async (b) => readSafetensors(b, 'fuzz.safetensors'),
  },
  {
    name: 'zip',
    what: 'zip, stored and deflated, every entry read (readZip)',
    seeds: seeds.zipSeeds,
    mutate: mutateBytes,
    declaredBytes: INFLATE_CAP,
    run: async (b) => {
      const zip = readZip(b, 'fuzz.zip', { maxBytes: INFLATE_CAP });
      return [...zip.entries.keys()].map((n) => zip.read(n));
    },
  },
  {
    name: 'gzip',
    what: 'gzip, multi-member (gunzip with a 4 MiB cap)',
    seeds: seeds.gzipSeeds,
    mutate: mutateBytes,
    declaredBytes: INFLATE_CAP,
    run: async (b) => gunzip(b, 'fuzz.gz', INFLATE_CAP),
  },
  {
    name: 'prompts',
    what: 'prompts.json on a 64×48×20 volume, box + 2-point model (promptsForVolume)',
    seeds: seeds.promptsSeeds,
    mutate: mutateJson,
    run: async (b) =>
      promptsForVolume(parseJsonText(b, 'prompts.json'), promptVolume, promptedModel, 'prompts.json', 'vol'),
  },
  {
    name: 'dataset',
    what: 'dataset.json and a folder listing (parseDatasetJson, listCases)',
    seeds: seeds.datasetSeeds,
    mutate: mutateJson,
    run: async (b) => {
      const { dataset, listing } = datasetAndListing(b);
      return listCases(parseDatasetJson(dataset), listing);
    },
  },
  {
    name: 'onnx',
    what: 'ONNX model signature and masam metadata (inspectModel, modelInfoFromMetadata)',
    seeds: seeds.onnxSeeds,
    mutate: mutateOnnx,
    run: async (b) => modelInfoFromMetadata(inspectModel(b, 'fuzz.onnx').metadata, 'fuzz.onnx'),
  },
];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown parser '${name}' (one of ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
