// Pipeline benchmark (issue 5 item 8): a 512×512×150 phantom CT segmented by MA-SAM ViT-B (random weights,
// exported to ONNX like a trained model) with the official overlapping sweep (stride 1) and with
// non-overlapping stacks (stride 5): seconds per volume and per slice, through the same code as segment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMaSam } from '../src/api/model.js';
import { openModel } from '../src/cli/model_files.js';
import { Rng } from '../src/core/index.js';
import { makePhantom } from '../src/data/phantom.js';
import { segmentVolume } from '../src/infer/segment.js';
import type { BenchMetric, BenchResult } from './bench_result.js';

export async function runPipelineBench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'masam-pipeline-'));
  try {
    const path = join(dir, 'vit_b.onnx');
    const model = await loadMaSam({ config: { preset: 'vit_b', num_classes: 13 }, seed: 1 });
    await model.exportOnnx(path, { slices: 5, preprocessing: { modality: 'ct' } });
    const opened = await openModel(path);
    const phantom = makePhantom('ct', new Rng(7), { size: [512, 512, 150] });
    const metrics: BenchMetric[] = [];
    for (const stride of [5, 1]) {
      const r = await segmentVolume(phantom.image, opened.model, {
        stride,
        onProgress: (done, total) => {
          if (done % 10 === 0) process.stderr.write(`stride ${stride}: ${done}/${total} stacks\n`);
        },
      });
      process.stderr.write(`stride ${stride}: ${r.seconds.toFixed(1)} s for ${r.stacks} stacks\n`);
      metrics.push(
        {
          name: `stride${stride}_volume_s`,
          value: r.seconds,
          unit: 's',
          note: `${r.stacks} stacks of 5×512², ViT-B, 512×512×150 phantom CT`,
        },
        {
          name: `stride${stride}_per_slice_s`,
          value: r.seconds / 150,
          unit: 's',
          note: 'volume seconds / 150 slices',
        },
      );
    }
    await opened.release();
    return {
      metrics,
      notes: ['Random ViT-B weights (the speed does not depend on them); ORT CPU, 2 threads; one run each.'],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
