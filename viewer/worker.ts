// The viewer's Web Worker: receives requests from the page (viewer/app.ts) and runs them one at a time
// through SegmentJob (src/viewer/segment_job.ts), so ONNX Runtime never blocks the page. 'cancel' is not
// queued: it must reach the segmentation that is running.
import type { WorkerRequest, WorkerResponse } from '../src/viewer/protocol.js';
import { SegmentJob } from '../src/viewer/segment_job.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const job = new SegmentJob((message, transfer = []) => scope.postMessage(message, transfer));

// Requests are chained: a segmentation waits for the model load sent before it.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === 'cancel') job.cancel();
  else queue = queue.then(() => job.handle(request));
};
