// A label map a client saves with `PUT /datastore/label` (MONAI Label's datastore endpoint), as the label
// Volume of its image, and the names of its classes. The file's name picks the format, as MONAI Label does:
//  - `.bin` (OHIF's MONAI Label mode): the raw voxels as uint8, i fastest, exactly the image's voxel count
//    (MONAI Label's binary_to_image reshapes it to the image's shape in Fortran order); the geometry is
//    the image's;
//  - `.nrrd` (3D Slicer can save its segmentation so) and `.nii` / `.nii.gz`: a volume of the image's grid.
// Class names come from `params.label_info` ([{name, idx}], what Slicer and OHIF send), or
// `params.label_names` ({name: idx}, the shape of /info's labels); values left unnamed are "label <v>".
// Every value must be a non-negative integer class index (a DICOM-SEG and a training label need one).
import { parseNifti } from '../io/nifti.js';
import { parseNrrd } from '../io/nrrd.js';
import type { Volume } from '../io/volume.js';
import { ServeError } from './serve_error.js';

/** Largest class index a saved label may hold (SEG segments and colour tables stay small). */
const MAX_CLASS = 255;

export interface UploadedLabel {
  readonly label: Volume;
  /** classNames[v] names value v; [0] is background. */
  readonly classNames: readonly string[];
}

function decode(bytes: Uint8Array, filename: string, image: Volume, what: string, maxBytes: number): Volume {
  const name = filename.toLowerCase();
  if (name.endsWith('.bin')) {
    const voxels = image.shape.slice(0, 3).reduce((a, b) => a * b, 1);
    if (bytes.length !== voxels) {
      throw new ServeError(
        400,
        `${what}: a .bin label holds one uint8 per voxel of the image (${image.shape.slice(0, 3).join('×')} = ` +
          `${voxels} bytes), got ${bytes.length} bytes`,
      );
    }
    return {
      data: Uint8Array.from(bytes),
      dtype: 'uint8',
      shape: image.shape.slice(0, 3),
      spacing: image.spacing.slice(0, 3),
      affine: image.affine,
    };
  }
  try {
    return name.endsWith('.nrrd')
      ? parseNrrd(bytes, what, { maxBytes })
      : parseNifti(bytes, what, { maxBytes });
  } catch (err) {
    const format = name.endsWith('.nrrd') ? 'NRRD' : 'NIfTI';
    throw new ServeError(400, `${what}: not a readable ${format} volume (${(err as Error).message})`);
  }
}

/** The names of `params.label_info` / `params.label_names`, by value. @throws ServeError 400 when malformed */
function namesFromParams(params: Readonly<Record<string, unknown>>): Map<number, string> {
  const names = new Map<number, string>();
  const add = (name: unknown, idx: unknown, key: string) => {
    if (
      typeof name !== 'string' ||
      !Number.isInteger(idx) ||
      (idx as number) < 0 ||
      (idx as number) > MAX_CLASS
    )
      throw new ServeError(
        400,
        `params.${key}: each entry needs a name and an integer idx in 0..${MAX_CLASS}`,
      );
    names.set(idx as number, name);
  };
  const info = params['label_info'];
  if (info !== undefined) {
    if (!Array.isArray(info)) throw new ServeError(400, 'params.label_info must be a list of {name, idx}');
    for (const entry of info) {
      const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      add(e['name'], e['idx'], 'label_info');
    }
  }
  const byName = params['label_names'];
  if (byName !== undefined) {
    if (typeof byName !== 'object' || byName === null || Array.isArray(byName))
      throw new ServeError(400, 'params.label_names must be an object {name: idx}');
    for (const [name, idx] of Object.entries(byName)) add(name, idx, 'label_names');
  }
  return names;
}

/**
 * Decodes and checks a saved label of `image`.
 * @throws ServeError 400 naming `what` for an unreadable file, a grid that is not the image's, values that
 *   are not class indices, or malformed names
 */
export function readUploadedLabel(
  bytes: Uint8Array,
  filename: string,
  image: Volume,
  params: Readonly<Record<string, unknown>>,
  what: string,
  maxBytes: number,
): UploadedLabel {
  const label = decode(bytes, filename, image, what, maxBytes);
  const [a, b] = [image.shape.slice(0, 3).join('×'), label.shape.join('×')];
  if (a !== b) throw new ServeError(400, `${what}: its grid ${b} is not the image's ${a}`);
  let top = 0;
  for (let i = 0; i < label.data.length; i++) {
    const v = Number(label.data[i]);
    if (!Number.isInteger(v) || v < 0 || v > MAX_CLASS) {
      throw new ServeError(400, `${what}: voxel ${i} holds ${v}, not a class index 0..${MAX_CLASS}`);
    }
    if (v > top) top = v;
  }
  const named = namesFromParams(params);
  const classNames = Array.from({ length: top + 1 }, (_, v) =>
    v === 0 ? (named.get(0) ?? 'background') : (named.get(v) ?? `label ${v}`),
  );
  return { label, classNames };
}
