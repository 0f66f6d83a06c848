// Optional oracle for NIfTI tests: reads a file with Python's nibabel (when installed) and returns what it
// sees. Tests using it skip, with the reason, where nibabel is missing (CI need not have Python).
import { spawnSync } from 'node:child_process';
import type { Affine } from '../src/io/volume.js';

/** The interpreter to try: $MASAM_PYTHON (e.g. a venv with nibabel), else python3. */
const PYTHON = process.env['MASAM_PYTHON'] ?? 'python3';

let cachedReason: string | undefined | null = null;

/** Why nibabel tests must skip, or undefined when `import nibabel` works. */
export function nibabelSkipReason(): string | undefined {
  if (cachedReason === null) {
    const r = spawnSync(PYTHON, ['-c', 'import nibabel'], { encoding: 'utf8' });
    cachedReason =
      r.error !== undefined
        ? `${PYTHON} is not available (${r.error.message}); set MASAM_PYTHON to a Python with nibabel`
        : r.status !== 0
          ? `nibabel is not installed for ${PYTHON} (import nibabel failed); set MASAM_PYTHON to one that has it`
          : undefined;
  }
  return cachedReason;
}

/** What nibabel reads from a NIfTI file. */
export interface NibabelView {
  readonly shape: number[];
  readonly dtypeOnDisk: string;
  /** img.affine (get_best_affine). */
  readonly affine: Affine;
  /** header.get_qform(), whatever the qform code. */
  readonly qformAffine: Affine;
  readonly sformCode: number;
  readonly qformCode: number;
  readonly zooms: number[];
  /** get_fdata() in Fortran (i fastest) order. */
  readonly fdata: Float64Array;
}

const SCRIPT = `
import json, sys
import nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
h = img.header
data = np.asarray(img.get_fdata(), dtype='<f8').ravel(order='F')
sys.stdout.write(json.dumps({
  'shape': list(img.shape), 'dtypeOnDisk': str(img.get_data_dtype().newbyteorder('=').name),
  'affine': img.affine.tolist(), 'qformAffine': h.get_qform().tolist(),
  'sformCode': int(h['sform_code']), 'qformCode': int(h['qform_code']),
  'zooms': [float(z) for z in h.get_zooms()], 'fdata': data.tobytes().hex()}))
`;

/** Reads `path` with nibabel; throws when Python fails (call nibabelSkipReason first). */
export function nibabelRead(path: string): NibabelView {
  const r = spawnSync(PYTHON, ['-c', SCRIPT, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`nibabel could not read ${path}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Omit<NibabelView, 'fdata'> & { fdata: string };
  const bytes = Uint8Array.from(out.fdata.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  return { ...out, fdata: new Float64Array(bytes.buffer) };
}
