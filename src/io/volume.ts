// Volume: voxel data + geometry, the contract between readers (NIfTI, DICOM, frames), preprocessing and
// writers. Geometry follows NIfTI/nibabel conventions: `affine` maps voxel indices (i, j, k) to RAS+
// millimetres, and data is stored with i fastest (Fortran order, as on disk in NIfTI).
import type { DType, TypedArrayOf } from '../core/dtype.js';
import type { DicomSeriesInfo } from './dicom_seg.js';

/** 4×4 row-major affine, voxel (i, j, k, 1) → RAS+ world (x, y, z, 1) in mm. */
export type Affine = readonly [
  readonly [number, number, number, number],
  readonly [number, number, number, number],
  readonly [number, number, number, number],
  readonly [number, number, number, number],
];

export interface Volume<D extends DType = DType> {
  /** Voxel values, index i fastest: element (i, j, k, t) sits at i + nx·(j + ny·(k + nz·t)). */
  readonly data: TypedArrayOf[D];
  readonly dtype: D;
  /** [nx, ny, nz] or [nx, ny, nz, nt] (nibabel's shape order). */
  readonly shape: readonly number[];
  /** Voxel size in mm along i, j, k (and the time step for 4D). */
  readonly spacing: readonly number[];
  readonly affine: Affine;
  /** What a writer needs from the source (e.g. the NIfTI header fields, DICOM series UIDs). */
  readonly source?: VolumeSource;
}

export interface VolumeSource {
  /** 'nifti' | 'dicom' | 'frames' | 'phantom' … */
  readonly format: string;
  /** Free-form header fields a writer can reuse (e.g. qform/sform codes, descrip, series UID). */
  readonly header?: Readonly<Record<string, unknown>>;
  /** A DICOM series' slice references and patient/study attributes, for a DICOM-SEG of it (dicom_seg.ts). */
  readonly dicom?: DicomSeriesInfo;
  /** What the reader repaired (e.g. a zero voxel size read as 1, geometry.ts), one line each, for the user. */
  readonly warnings?: readonly string[];
}

export const IDENTITY_AFFINE: Affine = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
