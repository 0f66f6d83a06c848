// The CLI's access to a run folder (train/run_dir.ts): with the checked, atomic writers of api/files.ts,
// and curves.png (training loss and validation Dice), drawn from metrics.jsonl after each validation.
import { appendFileChecked, removeStaleTemporaries, writeFileAtomic } from '../api/files.js';
import { type RunFileWriter, RunDir as TrainRunDir } from '../train/run_dir.js';
import { lineChartPng } from './charts.js';

const WRITER: RunFileWriter = {
  writeAtomic: writeFileAtomic,
  append: appendFileChecked,
  removeStaleTemporaries,
};

/** The run folder at `path`, written through api/files.ts (nothing is read or created yet). */
export class RunDir extends TrainRunDir {
  constructor(path: string) {
    super(path, WRITER);
  }
}

/** Redraws curves.png from metrics.jsonl: training loss and mean validation Dice against the step. */
export async function drawCurves(run: TrainRunDir): Promise<void> {
  const records = await run.readMetrics();
  const loss = records
    .filter((r) => typeof r['loss'] === 'number')
    .map((r): [number, number] => [r.step, r['loss'] as number]);
  const val = records
    .filter((r) => typeof r['val_mean'] === 'number')
    .map((r): [number, number] => [r.step, r['val_mean'] as number]);
  const png = lineChartPng({
    series: [
      { name: 'train loss', points: loss },
      { name: 'val Dice', points: val },
    ],
    title: 'masam train',
    xLabel: 'step',
    yLabel: 'loss / Dice',
  });
  await writeFileAtomic(run.file('curves.png'), png);
}
