// Messages between the viewer page and its segmentation Web Worker. Everything is structured-clone data;
// large byte arrays are transferred, not copied. The page never runs the model itself, so it stays
// responsive while ONNX Runtime works.
import type { ModelInfo } from '../infer/model_info.js';
import type { VolumePromptsJson } from '../infer/prompts.js';

/** 'auto' picks WebGPU when the browser offers an adapter and the model loads there, else WASM. */
export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

export type WorkerRequest =
  | {
      readonly type: 'init';
      /** URL prefix of the served onnxruntime-web WASM files (ending in '/'). */
      readonly wasmPaths: string;
      readonly threads: number;
    }
  | {
      readonly type: 'load-model';
      readonly name: string;
      readonly bytes: Uint8Array;
      /** The `.onnx.data` file of a model with external weights. */
      readonly externalData?: { readonly name: string; readonly bytes: Uint8Array };
      readonly backend: BackendChoice;
    }
  | {
      readonly type: 'segment';
      readonly name: string;
      /** A .nii or .nii.gz file. */
      readonly bytes: Uint8Array;
      /** Slice stride between stack centres (1: every slice, as the CLI's default). */
      readonly stride?: number;
      /**
       * A box-prompted model's prompts, as `masam segment --prompts prompts.json` reads them (voxel indices
       * of this volume, ranges inclusive; the viewer sends `{ box3d: [i1, j1, k1, i2, j2, k2] }` and/or,
       * for a model with point slots, `points: [{ voxel: [i, j, k], label }]`).
       */
      readonly prompts?: VolumePromptsJson;
    };

/** What the worker learnt about a model it loaded. */
export interface LoadedModel {
  readonly name: string;
  readonly info: ModelInfo;
  readonly backend: 'webgpu' | 'wasm';
  /** Why WebGPU was not used when 'auto' or 'webgpu' was asked for. */
  readonly fallbackReason?: string;
  readonly threads: number;
  readonly seconds: number;
}

/** A finished segmentation: the label map as NIfTI (plain for the overlay, gzipped for download). */
export interface SegmentationDone {
  readonly volumeName: string;
  readonly nii: Uint8Array;
  readonly niiGz: Uint8Array;
  /** Voxels per class, index = label value (background first). */
  readonly counts: readonly number[];
  /** Volume of one voxel in mm³ (product of the spacing). */
  readonly voxelVolumeMm3: number;
  readonly shape: readonly number[];
  readonly stacks: number;
  /** Seconds inside segmentVolume (preprocessing, every stack through ORT, averaging, argmax). */
  readonly seconds: number;
  /** Seconds from the request to the result (parsing and NIfTI writing included). */
  readonly totalSeconds: number;
  readonly backend: 'webgpu' | 'wasm';
  readonly threads: number;
}

export type WorkerResponse =
  | { readonly type: 'ready' }
  | { readonly type: 'model'; readonly model: LoadedModel }
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly type: 'done'; readonly result: SegmentationDone }
  | { readonly type: 'error'; readonly during: WorkerRequest['type']; readonly message: string };
