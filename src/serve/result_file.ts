// The file an `/infer` result travels in, chosen by MONAI Label's writer parameters in `params`
// (monailabel/transform/writer.py): `result_extension` '.nii.gz' (default), '.nii' or '.nrrd';
// `result_dtype` 'uint8' (default: masam's labels are uint8) or 'uint16'; `result_compress` (NRRD only:
// gzip encoding when true; raw by default, as MONAI Label's writer, since OHIF's MONAI Label mode asks for
// `result_compress: false` and reads the voxels straight out of the NRRD).
import { serializeNifti } from '../io/nifti.js';
import { serializeNrrd } from '../io/nrrd.js';
import type { Volume } from '../io/volume.js';
import { ServeError } from './serve_error.js';

const EXTENSIONS = ['.nii.gz', '.nii', '.nrrd'] as const;
const DTYPES = ['uint8', 'uint16'] as const;

export interface ResultFile {
  /** `label` plus the extension. */
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

function option<T extends string>(
  params: Readonly<Record<string, unknown>>,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = params[key];
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v.toLowerCase()))
    throw new ServeError(400, `params.${key} must be one of ${allowed.join(', ')}, not ${JSON.stringify(v)}`);
  return v.toLowerCase() as T;
}

/** How a result is to be written. */
export interface ResultFormat {
  readonly extension: (typeof EXTENSIONS)[number];
  readonly dtype: (typeof DTYPES)[number];
  readonly compress: boolean;
}

/** The format `params` ask for (read before inference runs). @throws ServeError 400 for a value not offered */
export function resultFormat(params: Readonly<Record<string, unknown>>): ResultFormat {
  const compress = params['result_compress'] ?? false;
  if (typeof compress !== 'boolean')
    throw new ServeError(400, 'params.result_compress must be true or false');
  return {
    extension: option(params, 'result_extension', EXTENSIONS, '.nii.gz'),
    dtype: option(params, 'result_dtype', DTYPES, 'uint8'),
    compress,
  };
}

/** `labels` written in `format`. */
export function resultFile(labels: Volume<'uint8'>, format: ResultFormat): ResultFile {
  const { extension, dtype, compress } = format;
  const volume: Volume =
    dtype === 'uint16' ? { ...labels, data: Uint16Array.from(labels.data), dtype: 'uint16' } : labels;
  const name = `label${extension}`;
  if (extension === '.nrrd') {
    const bytes = serializeNrrd(volume, { encoding: compress ? 'gzip' : 'raw', type: dtype });
    return { name, contentType: 'application/octet-stream', bytes };
  }
  const gzip = extension === '.nii.gz';
  return {
    name,
    contentType: gzip ? 'application/gzip' : 'application/octet-stream',
    bytes: serializeNifti(volume, { gzip }),
  };
}
