// Rewrites a self-contained ONNX model into the external-data form (weights in a separate file, as
// MaSamModel.exportOnnx writes past 2 GB), so the viewer's `.onnx` + `.onnx.data` path can be tested on a
// small model.
import { onnx } from '../../src/onnx/proto.js';

/** ONNX TensorProto.DataLocation.EXTERNAL. */
const EXTERNAL = 1;

/**
 * Moves every initializer of at least `minBytes` raw bytes into one data blob referenced as `location`
 * (4096-byte aligned offsets, as exportModel lays them out).
 */
export function toExternalData(
  modelBytes: Uint8Array,
  location: string,
  minBytes = 1024,
): { model: Uint8Array; data: Uint8Array } {
  const model = onnx.ModelProto.decode(modelBytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.length < minBytes) continue;
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    t.dataLocation = EXTERNAL;
    t.rawData = new Uint8Array(0);
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { model: onnx.ModelProto.encode(model).finish(), data };
}
