// `masam convert <in> <out>`: a DICOM series, a frames folder or a NIfTI file → NIfTI (.nii/.nii.gz), and
// frame or mask volumes → MP4 (through ffmpeg) or a folder of 8-bit PNG masks. Every write is atomic; a
// missing output folder is created.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { removeStaleTemporaries } from '../../api/files.js';
import { aff2axcodes } from '../../io/geometry.js';
import type { Volume } from '../../io/volume.js';
import { type Command, UsageError, parseCommandArgs, withExamples } from '../command.js';
import { readVolume, writeMaskPngs, writeMp4Atomic, writeVolumeAtomic } from '../volume_files.js';

const USAGE = withExamples(
  [
    'Usage: masam convert <in> <out> [--gray] [--fps N] [--nifti2]',
    '',
    '<in>   a .nii/.nii.gz file, a DICOM file or series folder, or a folder of .png/.jpg frames',
    '       (frames are stacked in natural name order into a [W, H, T, 3] uint8 volume)',
    '<out>  out.nii or out.nii.gz   NIfTI, geometry kept (sform and qform from the affine)',
    '       out.mp4                 video of a uint8 [W, H, T, 3] or [W, H, T] volume (needs ffmpeg on PATH)',
    '       folder/                 one 8-bit PNG per frame of a [W, H, T] label volume (mask_0000.png, …)',
    '',
    'Options:',
    '  --gray      stack frames as grey [W, H, T] (Rec. 601 luma) instead of RGB',
    '  --fps N     frame rate of .mp4 output (default 25)',
    '  --nifti2    write NIfTI-2 instead of NIfTI-1',
  ].join('\n'),
  ['masam convert dicom/series_3/ nifti/ct.nii.gz', 'masam convert frames/ video.nii.gz'],
);

function parse(args: string[]) {
  return parseCommandArgs({
    args,
    options: {
      gray: { type: 'boolean', default: false },
      fps: { type: 'string' },
      nifti2: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

function describe(volume: Volume): string {
  return `[${volume.shape.join(', ')}] ${volume.dtype}, orientation ${aff2axcodes(volume.affine)}`;
}

/** The `convert` subcommand (listed in main.ts). */
export const convert: Command = {
  name: 'convert',
  summary: 'convert DICOM series / frame folders to NIfTI, volumes to MP4 or PNG masks',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const parsed = parse(args);
    const { values, positionals } = parsed;
    if (positionals.length !== 2)
      throw new UsageError(`expected <in> and <out>, got ${positionals.length} paths`);
    const [input, output] = positionals as [string, string];
    const fps = values.fps === undefined ? 25 : Number(values.fps);
    if (!(fps > 0 && Number.isFinite(fps)))
      throw new UsageError(`--fps must be a positive number, got '${values.fps}'`);
    const isFolder = output.endsWith('/');
    const isNifti = /\.nii(\.gz)?$/i.test(output);
    const isMp4 = /\.mp4$/i.test(output);
    if (!isFolder && !isNifti && !isMp4) {
      throw new UsageError(
        `<out> must end in .nii, .nii.gz or .mp4, or be a folder ending in '/': '${output}'`,
      );
    }
    const volume = await readVolume(input, { channels: values.gray ? 'gray' : 'rgb' });
    const folder = isFolder ? output : dirname(output);
    await mkdir(folder, { recursive: true });
    await removeStaleTemporaries(folder); // left by a convert that was killed
    if (isNifti) {
      await writeVolumeAtomic(output, volume, values.nifti2 ? { version: 2 } : {});
      console.log(`wrote ${output}: ${describe(volume)}`);
    } else if (isMp4) {
      await writeMp4Atomic(output, volume, { fps });
      console.log(`wrote ${output}: ${volume.shape[2] ?? 1} frames at ${fps} fps`);
    } else {
      const paths = await writeMaskPngs(output, volume);
      console.log(`wrote ${paths.length} PNG masks to ${output}`);
    }
    return 0;
  },
};
