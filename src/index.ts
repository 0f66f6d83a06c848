// masam's library entry point: the model API, the engine for custom graphs, formats and metrics.
export {
  type ConfigInput,
  type ExportOnnxOptions,
  type ForwardOptions,
  type ForwardResult,
  type LoadMaSamOptions,
  type LossAndGrads,
  MaSamModel,
  loadMaSam,
} from './api/model.js';
export type { ApiTensor } from './api/tensor.js';
export { grad, valueAndGrad, vjp } from './autodiff/index.js';
export { FormatError, type HostTensor, MasamError, Rng, ShapeError, hostTensor } from './core/index.js';
export { Graph, type Value } from './graph/index.js';
export type { PromptSpec, SlicePrompt, StackPrompts } from './data/prompts.js';
export { type ModelInfo, type Preprocessing, modelInfoFromMetadata } from './infer/model_info.js';
export { type VolumePromptsJson, volumePrompts } from './infer/prompts.js';
export {
  type SegmentOptions,
  type SegmentResult,
  type SegmentRunOptions,
  type SegmenterOptions,
  VolumeSegmenter,
  segmentVolume,
} from './infer/segment.js';
export {
  type SplitStages,
  type StackModel,
  imagePrompt,
  sessionStackModel,
  splitStackModel,
} from './infer/stack_model.js';
export { type DicomReadOptions, parseDicom, dicomSeriesToVolume, initDicomCodecs } from './io/dicom.js';
export { type NiftiReadOptions, parseNifti, serializeNifti } from './io/nifti.js';
export { readPth, writePth } from './io/pth.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export type { Volume } from './io/volume.js';
export * as metrics from './metrics/index.js';
export { type MaSamConfig, PRESETS, type PresetName, resolveConfig } from './models/sam/config.js';
export { exportModel } from './onnx/export.js';
export * as ops from './ops/index.js';
export { OrtSession, compile } from './runtime/index.js';
export { AdamW, learningRate, segmentationLoss } from './train/index.js';
