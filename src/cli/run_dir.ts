// The run directory of `masam train`: what each file is, and atomic reads/writes of its checkpoints.
//   run.json            config, class names, preprocessing and the training options (resume reads it)
//   metrics.jsonl       one JSON line per logged step and per validation
//   latest.safetensors  every weight + AdamW moments, with step, rng state and best score in its metadata
//                       (one file, written atomically: weights and state can never disagree)
//   best.safetensors    every weight at the best validation Dice
//   model.onnx (+.data) the exported inference model of the best weights (segment and the viewer use it)
//   masam.pth           the best weights in the official MA-SAM save format (loads in the PyTorch code)
//   curves.png          training loss and validation Dice
//   cache/              prepared slices per case, keyed by the source files and settings
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../api/files.js';
import { lineChartPng } from './charts.js';
import { MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import type { Preprocessing } from '../infer/model_info.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { MaSamConfig } from '../models/sam/config.js';
import type { Weights } from '../nn/index.js';
import type { TrainerState } from '../train/trainer.js';

export interface RunInfo {
  readonly config: MaSamConfig;
  readonly classNames: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly training: Readonly<Record<string, unknown>>;
}

export interface LatestState extends TrainerState {
  readonly bestScore: number;
  readonly bestStep: number;
}

export class RunDir {
  constructor(readonly path: string) {}

  file(name: string): string {
    return join(this.path, name);
  }

  async writeInfo(info: RunInfo): Promise<void> {
    await writeFileAtomic(
      this.file('run.json'),
      new TextEncoder().encode(`${JSON.stringify(info, null, 2)}\n`),
    );
  }

  async readInfo(): Promise<RunInfo> {
    try {
      return JSON.parse(await readFile(this.file('run.json'), 'utf8')) as RunInfo;
    } catch (err) {
      throw new MasamError(`${this.path}: not a masam run directory (run.json: ${(err as Error).message})`);
    }
  }

  async log(record: Readonly<Record<string, unknown>>): Promise<void> {
    await appendFile(this.file('metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  /** Redraws curves.png from metrics.jsonl: training loss and mean validation Dice against the step. */
  async drawCurves(): Promise<void> {
    const lines = (await readFile(this.file('metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
    const records = lines.map((l) => JSON.parse(l) as { step: number; loss?: number; val_mean?: number });
    const loss = records.filter((r) => r.loss !== undefined).map((r): [number, number] => [r.step, r.loss!]);
    const val = records
      .filter((r) => r.val_mean !== undefined)
      .map((r): [number, number] => [r.step, r.val_mean!]);
    const png = lineChartPng({
      series: [
        { name: 'train loss', points: loss },
        { name: 'val Dice', points: val },
      ],
      title: 'masam train',
      xLabel: 'step',
      yLabel: 'loss / Dice',
    });
    await writeFileAtomic(this.file('curves.png'), png);
  }

  /** Writes weights (+ optional extra tensors and a JSON state in the metadata) as one atomic file. */
  async saveCheckpoint(
    name: string,
    weights: Weights,
    extra?: ReadonlyMap<string, HostTensor>,
    state?: LatestState,
  ): Promise<void> {
    const entries: [string, HostTensor][] = [...weights];
    if (extra) entries.push(...extra);
    const metadata: Record<string, string> = { format: 'masam' };
    if (state) metadata['masam.state'] = JSON.stringify(state);
    await writeFileAtomic(this.file(name), writeSafetensors(entries, metadata));
  }

  /** Tensors and (for latest.safetensors) the training state of a checkpoint. */
  async readCheckpoint(name: string): Promise<{ tensors: Map<string, HostTensor>; state?: LatestState }> {
    const path = this.file(name);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (err) {
      throw new MasamError(`${path}: cannot read checkpoint (${(err as Error).message})`);
    }
    const { tensors, metadata } = readSafetensors(bytes, path);
    const raw = metadata['masam.state'];
    return raw ? { tensors, state: JSON.parse(raw) as LatestState } : { tensors };
  }
}
