// The viewer's Web Worker: receives requests from the page (viewer/app.ts) and runs them one at a time
// through SegmentJob (src/viewer/segment_job.ts), so ONNX Runtime never blocks the page.
import { SegmentJob } from '../src/viewer/segment_job.js';
import type { WorkerRequest, WorkerResponse } from '../src/viewer/protocol.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const job = new SegmentJob((message, transfer = []) => scope.postMessage(message, transfer));

// Requests are chained: a segmentation waits for the model load sent before it.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  queue = queue.then(() => job.handle(event.data));
};
