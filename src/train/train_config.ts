// The options of a training run, one table for every way they arrive: command-line flags, a training
// config file (`masam train --config train.json`) and a run's run.json (whose `training` is a resolved
// TrainConfig, so `--config runs/x/run.json` re-creates the run). Flags override the file; a resumed run
// keeps its options except the few that do not change what it computes.
import { MasamError } from '../core/errors.js';
import type { Modality } from '../data/intensity.js';
import { type MaSamConfig, PRESETS, type PresetName } from '../models/sam/config.js';
import { type Device, parseDevice } from '../runtime/index.js';
import { RECOMPUTE_POLICIES, type RecomputePolicy } from './executor.js';

/** Every option of `masam train` (JSON keys in camelCase; the flag of `valEvery` is `--val-every`). */
export interface TrainConfig {
  /** The MSD / nnU-Net dataset folder. */
  readonly data: string;
  /** Meta's SAM checkpoint to start from; null with init 'random'. */
  readonly sam: string | null;
  readonly init: 'sam' | 'random';
  readonly preset: PresetName;
  /** Overrides of the preset's MaSamConfig keys. */
  readonly modelConfig: Readonly<Partial<MaSamConfig>>;
  /** null: from the dataset's channel names. */
  readonly modality: Modality | null;
  /** Slices per stack and model input size; null: the preset's. */
  readonly slices: number | null;
  readonly imgSize: number | null;
  /** Optimiser steps in total. */
  readonly steps: number;
  readonly batch: number;
  /** Stacks per micro-batch (the gradient stays the whole batch's); null: the whole batch at once. */
  readonly microBatch: number | null;
  /** Activation recomputation of the executor; null: the Trainer's default. */
  readonly recompute: RecomputePolicy | null;
  readonly lr: number;
  readonly warmup: number;
  readonly seed: number;
  readonly valEvery: number;
  /** Share of cases held out for validation when no fold is given. */
  readonly valFraction: number;
  /** Cross-validation fold 0..4 of splits_final.json (nnU-Net); null: valFraction's split. */
  readonly fold: number | null;
  readonly augment: 'official' | 'none';
  readonly trainable: 'peft' | 'all';
  readonly prompt: 'box' | 'none';
  readonly promptPoints: number;
  /** cpu, cuda, cuda:N, or one CUDA device per worker (`cuda:0,cuda:1`). */
  readonly device: string;
  /** Data-parallel workers (one ORT session set each, the cores divided); null: one, no worker threads. */
  readonly workers: number | null;
  /** ONNX Runtime intra-op threads; null: every core. */
  readonly threads: number | null;
  /** A progress line (to train.log, and to stderr when it is not a terminal) every this many steps. */
  readonly logEvery: number;
  /** Validation lines carry the Dice of every class. */
  readonly logClasses: boolean;
}

/** A bad option; `source` is the flag or the file and key. */
export class TrainConfigError extends MasamError {
  override name = 'TrainConfigError';
}

type Kind =
  | 'path'
  | 'path?'
  | 'int≥1'
  | 'int≥0'
  | 'int≥1?'
  | 'number>0'
  | 'fraction'
  | 'fold'
  | 'boolean'
  | 'object'
  | 'devices'
  | readonly (string | null)[];

const PRESET_NAMES = Object.keys(PRESETS);

/** Each option's kind, in the order --help lists them. */
const OPTIONS: { readonly [K in keyof TrainConfig]-?: Kind } = {
  data: 'path',
  sam: 'path?',
  init: ['sam', 'random'],
  preset: PRESET_NAMES,
  modelConfig: 'object',
  modality: ['ct', 'mri', 'video', null],
  slices: 'int≥1?',
  imgSize: 'int≥1?',
  steps: 'int≥0',
  batch: 'int≥1',
  microBatch: 'int≥1?',
  recompute: [...RECOMPUTE_POLICIES, null],
  lr: 'number>0',
  warmup: 'int≥0',
  seed: 'int≥0',
  valEvery: 'int≥1',
  valFraction: 'fraction',
  fold: 'fold',
  augment: ['official', 'none'],
  trainable: ['peft', 'all'],
  prompt: ['box', 'none'],
  promptPoints: 'int≥0',
  device: 'devices',
  workers: 'int≥1?',
  threads: 'int≥1?',
  logEvery: 'int≥1',
  logClasses: 'boolean',
};

/**
 * Options a resumed run may change: none alters the steps already taken (`steps` sets a new total), and
 * micro-batches and recomputation only change memory and speed, not the gradient.
 */
const RESUMABLE: ReadonlySet<keyof TrainConfig> = new Set([
  'data',
  'steps',
  'microBatch',
  'recompute',
  'valEvery',
  'device',
  'workers',
  'threads',
  'logEvery',
  'logClasses',
]);

/** `valEvery` → `--val-every`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function describe(kind: Kind): string {
  if (Array.isArray(kind)) return (kind as readonly (string | null)[]).map(String).join(' | ');
  return {
    path: 'a path',
    'path?': 'a path or null',
    'int≥1': 'a whole number ≥ 1',
    'int≥0': 'a whole number ≥ 0',
    'int≥1?': 'a whole number ≥ 1 or null',
    'number>0': 'a number > 0',
    fraction: 'a number between 0 and 1',
    fold: 'a fold 0..4 or null',
    boolean: 'true or false',
    object: 'an object of MaSamConfig keys',
    devices: 'cpu, cuda, cuda:N or a list cuda:0,cuda:1,…',
  }[kind as string]!;
}

/** Checks one value against its kind; `text` values come from flags and are converted. */
function convert(kind: Kind, value: unknown, where: string, text: boolean): unknown {
  let v = value;
  if (text && typeof v === 'string') {
    if (kind === 'object') {
      try {
        v = JSON.parse(v);
      } catch (err) {
        throw new TrainConfigError(`${where}: not valid JSON (${(err as Error).message})`);
      }
    } else if (['int≥1', 'int≥0', 'int≥1?', 'number>0', 'fraction', 'fold'].includes(kind as string)) {
      v = v.trim() === '' ? Number.NaN : Number(v);
    }
  }
  const bad = () =>
    new TrainConfigError(`${where} must be ${describe(kind)}, got ${JSON.stringify(value) ?? String(value)}`);
  if (Array.isArray(kind)) {
    if (!kind.includes(v as string | null)) throw bad();
    return v;
  }
  const int = typeof v === 'number' && Number.isInteger(v);
  switch (kind) {
    case 'path':
      if (typeof v !== 'string' || v === '') throw bad();
      return v;
    case 'path?':
      if (v !== null && (typeof v !== 'string' || v === '')) throw bad();
      return v;
    case 'int≥1':
      if (!int || (v as number) < 1) throw bad();
      return v;
    case 'int≥0':
      if (!int || (v as number) < 0) throw bad();
      return v;
    case 'int≥1?':
      if (v !== null && (!int || (v as number) < 1)) throw bad();
      return v;
    case 'number>0':
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad();
      return v;
    case 'fraction':
      if (typeof v !== 'number' || !(v > 0 && v < 1)) throw bad();
      return v;
    case 'fold':
      if (v !== null && (!int || (v as number) < 0 || (v as number) > 4)) throw bad();
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw bad();
      return v;
    case 'object':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
      return v;
    case 'devices':
      if (typeof v !== 'string') throw bad();
      try {
        trainingDevices(v);
      } catch {
        throw bad();
      }
      return v;
  }
  throw bad();
}

/**
 * The options in a training config file: an object of TrainConfig keys, or a run's run.json (its
 * `training`, with its model `config` as the model configuration).
 * @throws TrainConfigError naming the file and the key.
 */
export function trainConfigFromJson(json: unknown, source: string): Partial<TrainConfig> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TrainConfigError(`${source}: a training config is a JSON object of options`);
  let record = json as Record<string, unknown>;
  let modelConfig: unknown;
  if (typeof record['training'] === 'object' && typeof record['config'] === 'object') {
    // a run.json: its resolved model config replaces preset and overrides
    const { prompts, ...training } = record['training'] as Record<string, unknown>;
    // runs made before `prompt` was kept record only the derived PromptSpec
    const points = (prompts as { points?: unknown } | null | undefined)?.points;
    if (training['prompt'] === undefined && typeof points === 'number')
      Object.assign(training, { prompt: 'box', promptPoints: points });
    modelConfig = record['config'];
    record = training;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    const kind = (OPTIONS as Record<string, Kind>)[key];
    if (kind === undefined) {
      const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = camel in OPTIONS ? ` (did you mean "${camel}"?)` : '';
      throw new TrainConfigError(`${source}: unknown option "${key}"${hint}`);
    }
    out[key] = convert(kind, value, `${source}: "${key}"`, false);
  }
  if (modelConfig !== undefined)
    out['modelConfig'] = convert('object', modelConfig, `${source}: "config"`, false);
  return out as Partial<TrainConfig>;
}

/**
 * The options given as flags (parseArgs values keyed by flag name without dashes, e.g. 'val-every').
 * @throws TrainConfigError naming the flag.
 */
export function trainConfigFromFlags(
  values: Readonly<Record<string, string | boolean | undefined>>,
): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(OPTIONS) as (keyof TrainConfig)[]) {
    const value = values[flagOf(key).slice(2)];
    if (value !== undefined) out[key] = convert(OPTIONS[key], value, flagOf(key), true);
  }
  return out as Partial<TrainConfig>;
}

/**
 * Fills defaults (the official recipe) and checks options that depend on each other.
 * @throws TrainConfigError
 */
export function resolveTrainConfig(given: Partial<TrainConfig>): TrainConfig {
  if (given.data === undefined)
    throw new TrainConfigError('--data is required (or "data" in the --config file)');
  const sam = given.sam ?? null;
  const init = given.init ?? (sam ? 'sam' : undefined);
  if (init === undefined) throw new TrainConfigError('give --sam <checkpoint> or --init random');
  if (init === 'sam' && !sam) throw new TrainConfigError('init "sam" needs --sam <checkpoint>');
  const prompt = given.prompt ?? 'none';
  const promptPoints = given.promptPoints ?? 0;
  if (promptPoints > 0 && prompt !== 'box') throw new TrainConfigError('--prompt-points needs --prompt box');
  const batch = given.batch ?? 2;
  const microBatch = given.microBatch ?? null;
  if (microBatch !== null && batch % microBatch !== 0)
    throw new TrainConfigError(`--micro-batch ${microBatch} must divide --batch ${batch}`);
  const devices = trainingDevices(given.device ?? 'cpu');
  if (devices.length > 1 && given.workers != null && given.workers !== devices.length)
    throw new TrainConfigError(`--workers ${given.workers} but --device lists ${devices.length} devices`);
  return {
    data: given.data,
    sam,
    init,
    preset: given.preset ?? (sam ? 'vit_b' : 'small'),
    modelConfig: given.modelConfig ?? {},
    modality: given.modality ?? null,
    slices: given.slices ?? null,
    imgSize: given.imgSize ?? null,
    steps: given.steps ?? 2000,
    batch,
    microBatch,
    recompute: given.recompute ?? null,
    lr: given.lr ?? 0.0008,
    warmup: given.warmup ?? 250,
    seed: given.seed ?? 1234,
    valEvery: given.valEvery ?? 200,
    valFraction: given.valFraction ?? 0.2,
    fold: given.fold ?? null,
    augment: given.augment ?? 'official',
    trainable: given.trainable ?? (sam ? 'peft' : 'all'),
    prompt,
    promptPoints,
    device: given.device ?? 'cpu',
    workers: given.workers ?? null,
    threads: given.threads ?? null,
    logEvery: given.logEvery ?? 10,
    logClasses: given.logClasses ?? false,
  };
}

/**
 * The options of a resumed run: those it was made with (`stored`, from run.json, parsed leniently so
 * runs made before an option existed still resume), changed only where a change keeps the steps taken
 * valid (`steps` sets a new total).
 * @throws TrainConfigError naming an option that cannot change.
 */
export function resumeTrainConfig(stored: TrainConfig, given: Partial<TrainConfig>): TrainConfig {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given) as [keyof TrainConfig, unknown][]) {
    if (JSON.stringify(value) === JSON.stringify(stored[key])) continue;
    if (!RESUMABLE.has(key))
      throw new TrainConfigError(
        `${flagOf(key)} cannot change when resuming (the run was made with ${JSON.stringify(stored[key])}); ` +
          'start a new run to change it',
      );
    changed[key] = value;
  }
  return { ...stored, ...changed };
}

/**
 * run.json's `training`: the resolved options, plus the PromptSpec they imply (what `masam export --run`
 * and `masam info` read).
 */
export function trainingRecord(t: TrainConfig): Readonly<Record<string, unknown>> {
  return { ...t, prompts: t.prompt === 'box' ? { points: t.promptPoints } : null };
}

/**
 * The devices of `--device`: one (cpu, cuda, cuda:N) for every worker, or a list with one CUDA device per
 * worker. @throws naming the bad entry.
 */
export function trainingDevices(device: string): Device[] {
  const list = device.split(',').map((d) => parseDevice(d.trim()));
  if (list.length > 1 && list.some((d) => d === 'cpu'))
    throw new TrainConfigError(`--device ${device}: a list names CUDA devices, one per worker`);
  return list;
}
