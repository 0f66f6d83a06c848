// `masam info <file|folder> [--json]`: what a volume is — shape, dtype, spacing, affine, orientation code
// (nibabel's aff2axcodes) and value range — for NIfTI files, DICOM series and frame folders.
import { aff2axcodes } from '../../io/geometry.js';
import { niftiDatatypeName, niftiHeaderOf } from '../../io/nifti.js';
import type { Affine, Volume } from '../../io/volume.js';
import { type Command, UsageError, parseCommandArgs } from '../command.js';
import { readVolume } from '../volume_files.js';

/** What `masam info --json` prints. */
export interface VolumeInfo {
  readonly path: string;
  /** 'nifti', 'dicom', 'frames', … (Volume.source.format). */
  readonly format: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly spacing: readonly number[];
  readonly affine: Affine;
  /** Where the voxel axes point, e.g. 'RAS' or 'LPS'. */
  readonly orientation: string;
  /** Smallest and largest value, NaNs ignored; null when every value is NaN. */
  readonly range: readonly [number, number] | null;
  /** NIfTI header details, for NIfTI files only. */
  readonly nifti?: {
    readonly version: 1 | 2;
    readonly datatype: string;
    readonly sclSlope: number;
    readonly sclInter: number;
    readonly qformCode: number;
    readonly sformCode: number;
  };
}

/** Min and max of the data, ignoring NaN (int64 compared as numbers). */
export function valueRange(volume: Volume): [number, number] | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const data = volume.data;
  const n = data.length;
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) {
      const v = Number(data[i]!);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? [min, max] : null;
}

/** The facts `masam info` reports about `volume`, read from `path`. */
export function describeVolume(volume: Volume, path: string): VolumeInfo {
  const h = niftiHeaderOf(volume);
  return {
    path,
    format: volume.source?.format ?? 'unknown',
    shape: volume.shape,
    dtype: volume.dtype,
    spacing: volume.spacing,
    affine: volume.affine,
    orientation: aff2axcodes(volume.affine),
    range: valueRange(volume),
    ...(h && {
      nifti: {
        version: h.version,
        datatype: niftiDatatypeName(h.datatype),
        sclSlope: h.sclSlope,
        sclInter: h.sclInter,
        qformCode: h.qformCode,
        sformCode: h.sformCode,
      },
    }),
  };
}

/** Up to 6 significant digits, without trailing zeros. */
function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

/** The human-readable form of `masam info`. */
export function formatInfo(info: VolumeInfo): string {
  const list = (xs: readonly number[]) => `[${xs.map(num).join(', ')}]`;
  const lines = [
    `path         ${info.path}`,
    `format       ${info.format}`,
    `shape        ${list(info.shape)}`,
    `dtype        ${info.dtype}`,
    `spacing      ${list(info.spacing)} mm`,
    `orientation  ${info.orientation}`,
    `range        ${info.range === null ? 'all NaN' : list(info.range)}`,
    `affine       ${list(info.affine[0])}`,
    ...info.affine.slice(1).map((row) => `             ${list(row)}`),
  ];
  const h = info.nifti;
  if (h !== undefined) {
    // As nibabel: slope 0 or NaN, and (1, 0), mean the stored values are the values.
    const none = h.sclSlope === 0 || !Number.isFinite(h.sclSlope) || (h.sclSlope === 1 && h.sclInter === 0);
    const scaling = none ? 'none' : `${num(h.sclSlope)}·x + ${num(h.sclInter)}`;
    lines.push(
      `nifti        NIfTI-${h.version}, ${h.datatype} on disk, scaling ${scaling}, ` +
        `sform_code ${h.sformCode}, qform_code ${h.qformCode}`,
    );
  }
  return lines.join('\n');
}

/** The `info` subcommand (listed in main.ts). */
export const info: Command = {
  name: 'info',
  summary: 'show shape, dtype, spacing, affine, orientation and value range of a volume',
  usage: [
    'Usage: masam info <file|folder> [--json]',
    '',
    'Reads a .nii / .nii.gz file, a DICOM file or series folder, or a folder of .png/.jpg frames, and',
    'prints its shape, dtype, voxel spacing (mm), affine (voxel → RAS+ mm), orientation code and value range.',
    '',
    'Options:',
    '  --json    print one JSON object instead of text',
  ].join('\n'),
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
      throw new UsageError(`expected one file or folder, got ${positionals.length}`);
    const path = positionals[0]!;
    const result = describeVolume(await readVolume(path), path);
    console.log(values.json ? JSON.stringify(result, null, 2) : formatInfo(result));
    return 0;
  },
};

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
}
