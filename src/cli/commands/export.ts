// `masam export`: writes a self-contained inference .onnx (encoder + decoder for a fixed number of slices;
// external data past 2 GB) whose metadata carries the config, class names and preprocessing (issue 3).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type ConfigInput, loadMaSam } from '../../api/model.js';
import { MasamError } from '../../core/errors.js';
import type { PromptSpec } from '../../data/prompts.js';
import type { Preprocessing } from '../../infer/model_info.js';
import { type Command, UsageError, parseCommandArgs } from '../command.js';
import { RunDir } from '../run_dir.js';

const USAGE = `Usage:
  masam export --run <run dir> --out <model.onnx> [--checkpoint best|latest] [--slices D]
  masam export --config <preset | config.json> [--sam <sam_vit_*.pth>] [--masam <masam.pth>] --out <model.onnx>
               [--slices D] [--classes background,liver,…] [--modality ct|mri|video] [--seed N]
               [--prompt box [--prompt-points P]]

Writes an ONNX model: input 'image' [1, D, 3, S, S] (0–1 scale) → 'masks' logits [D, K, S, S] and
'iou_predictions'. A box-prompted model (a run trained with --prompt box, or --prompt box for a
checkpoint of the official bbox variant) also takes 'boxes' [D, 4] and, with point slots,
'point_coords' [D, P, 2] and 'point_labels' [D, P]. Weights past 2 GB go to <out>.data beside it.
Runs in onnxruntime-node and -web.`;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a self-contained inference .onnx (for segment, the library and the browser viewer)',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs({
      args,
      options: {
        run: { type: 'string' },
        checkpoint: { type: 'string' },
        config: { type: 'string' },
        sam: { type: 'string' },
        masam: { type: 'string' },
        out: { type: 'string' },
        slices: { type: 'string' },
        classes: { type: 'string' },
        modality: { type: 'string' },
        seed: { type: 'string' },
        prompt: { type: 'string' },
        'prompt-points': { type: 'string' },
      },
    });
    if (!values.out) throw new UsageError('--out is required');
    if (!values.out.endsWith('.onnx')) throw new UsageError('--out must end in .onnx');
    const started = performance.now();
    if (values.run) {
      const run = new RunDir(values.run);
      const info = await run.readInfo();
      const which = values.checkpoint ?? (existsSync(run.file('best.safetensors')) ? 'best' : 'latest');
      const { tensors } = await run.readCheckpoint(`${which}.safetensors`);
      const model = await loadMaSam({ config: info.config });
      for (const name of model.weights.keys()) {
        const t = tensors.get(name);
        if (!t) throw new MasamError(`${run.file(`${which}.safetensors`)}: weight '${name}' is missing`);
        model.weights.set(name, { dtype: 'float32', shape: t.shape, data: t.data as Float32Array });
      }
      const prompts = info.training['prompts'] as PromptSpec | null | undefined;
      await model.exportOnnx(values.out, {
        slices: Number(values.slices ?? info.config.slices),
        classNames: info.classNames,
        preprocessing: info.preprocessing,
        ...(prompts && { prompts }),
      });
    } else {
      if (!values.config) throw new UsageError('give --run <run dir> or --config <preset | config.json>');
      const config: ConfigInput = values.config.endsWith('.json')
        ? (JSON.parse(await readFile(values.config, 'utf8')) as ConfigInput)
        : (values.config as ConfigInput);
      const model = await loadMaSam({
        config,
        ...(values.sam ? { samCheckpoint: values.sam } : {}),
        ...(values.masam ? { masamCheckpoint: values.masam } : {}),
        seed: Number(values.seed ?? 1234),
      });
      const modality = (values.modality ?? 'ct') as Preprocessing['modality'];
      if (!['ct', 'mri', 'video'].includes(modality)) throw new UsageError('--modality is ct, mri or video');
      if (values.prompt !== undefined && values.prompt !== 'box' && values.prompt !== 'none')
        throw new UsageError('--prompt is box or none');
      const points = Number(values['prompt-points'] ?? 0);
      if (!Number.isInteger(points) || points < 0)
        throw new UsageError('--prompt-points must be a whole number ≥ 0');
      if (points > 0 && values.prompt !== 'box') throw new UsageError('--prompt-points needs --prompt box');
      await model.exportOnnx(values.out, {
        slices: Number(values.slices ?? model.config.slices),
        ...(values.classes ? { classNames: values.classes.split(',') } : {}),
        preprocessing: { modality },
        ...(values.prompt === 'box' && { prompts: { points } }),
      });
    }
    console.log(`wrote ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  },
};
