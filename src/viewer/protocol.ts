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
      /** Shown on the page: the model's file or folder name. */
      readonly name: string;
      /**
       * The model's graphs: one `.onnx` (MaSamModel.exportOnnx) or a split model's encoder.onnx and
       * decoder.onnx (exportSplit), in any order: the worker tells them apart by their metadata 'masam.part'.
       */
      readonly graphs: readonly NamedBytes[];
      /**
       * External weights (`<graph>.onnx.data`), matched to the graph that names them; a single data file
       * beside a single graph is taken whatever its name.
       */
      readonly externalData: readonly NamedBytes[];
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
    }
  /**
   * Stops the running segmentation between model calls (the page's Cancel); answered by 'cancelled'. The
   * worker reads it at once, not after the running request.
   */
  | { readonly type: 'cancel' };

/** A file's name and bytes. */
export interface NamedBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** What the worker learnt about a model it loaded. */
export interface LoadedModel {
  readonly name: string;
  readonly info: ModelInfo;
  readonly backend: 'webgpu' | 'wasm';
  /**
   * A split model (encoder + decoder): the worker keeps each stack's image embeddings, so a prompt edit
   * re-runs only the decoder.
   */
  readonly split: boolean;
  /**
   * The model's 'masam.precision': 'fp16' computes in float16 (made for WebGPU; it needs the adapter
   * feature 'shader-f16', and on WASM onnxruntime runs it too, close to float32).
   */
  readonly precision: 'fp32' | 'fp16';
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
  /**
   * Stacks that went through the image encoder in this run: all of them for a one-graph model; for a split
   * model only those whose embeddings were not kept from an earlier run on this volume (0 after a prompt
   * edit).
   */
  readonly encodedStacks: number;
  /** Slice images through the decoder in this run (split models; 0 for a one-graph model). */
  readonly decodedImages: number;
  /** Seconds inside VolumeSegmenter.segment (stacks through ORT, averaging, argmax). */
  readonly seconds: number;
  /** Seconds from the request to the result (reading and preparing a new volume, NIfTI writing included). */
  readonly totalSeconds: number;
  readonly backend: 'webgpu' | 'wasm';
  readonly threads: number;
}

export type WorkerResponse =
  | { readonly type: 'ready' }
  | { readonly type: 'model'; readonly model: LoadedModel }
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly type: 'done'; readonly result: SegmentationDone }
  /** The segmentation stopped at the page's Cancel; embeddings already computed are kept. */
  | { readonly type: 'cancelled' }
  | { readonly type: 'error'; readonly during: WorkerRequest['type']; readonly message: string };
