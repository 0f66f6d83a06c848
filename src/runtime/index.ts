// runtime/ (Node): ONNX Runtime sessions and the compile cache.
export { clearCompileCache, compile, type CompileOptions, modelHash } from './compile.js';
export { OrtSession, type OrtSessionOptions } from './ort_node.js';
export { type Device, type Session, cudaIndex, parseDevice, validateFeeds } from './session.js';
