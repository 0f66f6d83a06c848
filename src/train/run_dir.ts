// The run folder of a training run: what each file is, its checkpoints, logs and lock.
//   run.json            config, class names, preprocessing and the training options (resume reads it;
//                       `masam train --config run.json` re-creates the run)
//   metrics.jsonl       one JSON line per step and per validation; `step` counts the optimiser steps done
//                       (1..N), so a resumed run cuts it back to its checkpoint and each step appears once
//   train.log           the lines a run prints (progress every few steps, validations, resumes)
//   latest.safetensors  every weight + AdamW moments, with step, rng state, best score and elapsed seconds
//                       in its metadata (one file, written atomically: weights and state never disagree)
//   best.safetensors    every weight at the best validation Dice
//   model/              the exported inference model of the best weights, split (encoder.onnx + decoder.onnx,
//                       api/model.ts exportSplit; segment and the viewer use it); runs from before the
//                       split hold one graph, model.onnx
//   masam.pth           the best weights in the official MA-SAM save format (loads in the PyTorch code)
//   curves.png          training loss and validation Dice
//   cache/              prepared slices per case, keyed by the source files and settings
//   train.lock          the PID of the process training in the folder (run_lock.ts)
// Writing goes through a RunFileWriter the caller supplies (the checked, atomic writers of the Node API),
// since this layer may not import them.
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MasamError } from '../core/errors.js';
import type { HostTensor } from '../core/host_tensor.js';
import type { Modality } from '../data/intensity.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { MaSamConfig } from '../models/sam/config.js';
import type { Weights } from '../nn/index.js';
import { LOCK_NAME, type RunLock, acquireRunLock } from './run_lock.js';
import type { TrainerState } from './trainer.js';

/** How the run folder's files are written: atomically and checked (api/files.ts provides these). */
export interface RunFileWriter {
  writeAtomic(path: string, bytes: Uint8Array): Promise<void>;
  /** Appends text; a failed append leaves no partial line. */
  append(path: string, text: string): Promise<void>;
  /** Removes the temporary files that a killed writer left in `dir`; returns their paths. */
  removeStaleTemporaries(dir: string): Promise<string[]>;
}

export interface RunInfo {
  readonly config: MaSamConfig;
  readonly classNames: readonly string[];
  readonly preprocessing: { readonly modality: Modality };
  readonly training: Readonly<Record<string, unknown>>;
}

/** What latest.safetensors holds besides the tensors. */
export interface LatestState extends TrainerState {
  readonly bestScore: number;
  readonly bestStep: number;
  /** Training seconds so far (absent in checkpoints written before it was kept). */
  readonly seconds?: number;
}

/** One line of metrics.jsonl: a training step (loss …) or a validation (val_mean …). */
export interface MetricsRecord {
  readonly step: number;
  readonly [key: string]: unknown;
}

/** The files a run folder may hold; a fresh run refuses a folder holding anything else. */
const RUN_FILES = new Set([
  'run.json',
  'metrics.jsonl',
  'train.log',
  'curves.png',
  'cache',
  'splits_final.json',
  LOCK_NAME,
]);
/** Files that mean training happened: a fresh run must not overwrite them. */
const CHECKPOINTS = ['latest.safetensors', 'best.safetensors', 'model', 'model.onnx', 'masam.pth'];

export class RunDir {
  constructor(
    readonly path: string,
    readonly writer: RunFileWriter,
  ) {}

  file(name: string): string {
    return join(this.path, name);
  }

  /**
   * Creates the folder if needed, takes its lock and removes temporary files that a killed run left
   * (in the folder and in cache/). Call before writing anything; release the lock when done.
   * @returns the lock and notes worth printing (a stale lock taken over, temporaries removed).
   */
  async open(): Promise<{ lock: RunLock; notes: string[] }> {
    await mkdir(this.path, { recursive: true });
    const lock = await acquireRunLock(this.path);
    const notes = lock.note ? [lock.note] : [];
    try {
      const removed = [
        ...(await this.writer.removeStaleTemporaries(this.path)),
        ...(await this.writer.removeStaleTemporaries(this.file('cache'))),
        ...(await this.writer.removeStaleTemporaries(this.file('model'))),
      ];
      if (removed.length > 0)
        notes.push(`removed ${removed.length} temporary file(s) a killed run left: ${removed.join(', ')}`);
    } catch (err) {
      await lock.release();
      throw err;
    }
    return { lock, notes };
  }

  /**
   * Whether a fresh run may start here: the folder is missing, empty, or holds only what a run writes
   * before its first checkpoint (a run killed early, or one that stopped on a dataset error).
   * @throws MasamError naming what is in the way.
   */
  async checkFreshStart(): Promise<void> {
    const names = await readdir(this.path).catch(() => [] as string[]);
    const trained = CHECKPOINTS.filter((n) => names.includes(n));
    if (trained.length > 0)
      throw new MasamError(
        `${this.path} already holds a trained run (${trained.join(', ')}): continue it with --resume, or use another --out`,
      );
    const foreign = names.filter((n) => !RUN_FILES.has(n) && !n.startsWith('.'));
    if (foreign.length > 0)
      throw new MasamError(
        `${this.path} is not empty and not a masam run folder (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}): choose another --out`,
      );
  }

  /** Whether checkpoint `name` exists (a run killed before its first checkpoint has none). */
  async hasCheckpoint(name: string): Promise<boolean> {
    return (await readdir(this.path).catch(() => [] as string[])).includes(name);
  }

  async writeInfo(info: RunInfo): Promise<void> {
    await this.writer.writeAtomic(
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

  async log(record: MetricsRecord): Promise<void> {
    await this.writer.append(this.file('metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  /** Appends lines to train.log. */
  async logText(lines: readonly string[]): Promise<void> {
    if (lines.length > 0) await this.writer.append(this.file('train.log'), `${lines.join('\n')}\n`);
  }

  /** Every record of metrics.jsonl (a torn last line, left by a kill, is skipped). */
  async readMetrics(): Promise<MetricsRecord[]> {
    const text = await readFile(this.file('metrics.jsonl'), 'utf8').catch(() => '');
    const records: MetricsRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const r = JSON.parse(line) as MetricsRecord;
        if (typeof r.step === 'number') records.push(r);
      } catch {
        // a line cut short by kill -9; the run restarts from a checkpoint before it anyway
      }
    }
    return records;
  }

  /**
   * Cuts metrics.jsonl back to the records of steps ≤ `step` (those of the checkpoint a run resumes
   * from), so the steps a killed run logged after it are not logged twice.
   * @returns the records kept.
   */
  async truncateMetrics(step: number): Promise<MetricsRecord[]> {
    const kept = (await this.readMetrics()).filter((r) => r.step <= step);
    const text = kept.map((r) => `${JSON.stringify(r)}\n`).join('');
    await this.writer.writeAtomic(this.file('metrics.jsonl'), new TextEncoder().encode(text));
    return kept;
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
    await this.writer.writeAtomic(this.file(name), writeSafetensors(entries, metadata));
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

  /** Sets every weight of `weights` from checkpoint tensors. @throws MasamError naming a missing weight. */
  loadWeights(weights: Weights, tensors: ReadonlyMap<string, HostTensor>, name: string): void {
    for (const key of weights.keys()) {
      const t = tensors.get(key);
      if (!t) throw new MasamError(`${this.file(name)}: weight '${key}' is missing`);
      weights.set(key, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
    }
  }
}
