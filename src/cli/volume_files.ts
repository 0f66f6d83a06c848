// Volumes on disk for the CLI: reading by extension and folder content (NIfTI, DICOM, PNG/JPEG frames) and
// checked atomic writes (api/files.ts: a temp file in the target's folder, every byte checked, fsync,
// rename), so no partial file is ever left, even on a full disk.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  commitTemporary,
  removeQuietly,
  tempPathFor,
  writeFileAtomic,
  writeFilesAtomic,
} from '../api/files.js';
import { FormatError, MasamError } from '../core/errors.js';
import {
  type FramesToVolumeOptions,
  decodeFrame,
  frameRgb,
  framesToVolume,
  labelSlice,
  maskToPng,
} from '../io/frames.js';
import { isGzip } from '../io/gzip.js';
import { type NiftiWriteOptions, parseNifti, serializeNifti } from '../io/nifti.js';
import type { Volume } from '../io/volume.js';

const FRAME_EXT = /\.(png|jpe?g)$/i;
const NIFTI_EXT = /\.nii(\.gz)?$/i;

/**
 * Natural name order: digit runs compare as numbers ('frame2' < 'frame10'), the rest by code unit, so the
 * order does not depend on the locale.
 */
export function naturalCompare(a: string, b: string): number {
  const isDigit = (s: string, k: number) => k < s.length && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (isDigit(a, i) && isDigit(b, j)) {
      let ei = i;
      let ej = j;
      while (isDigit(a, ei)) ei++;
      while (isDigit(b, ej)) ej++;
      // Compared as digit strings without leading zeros: no precision limit on long numbers.
      const x = a.slice(i, ei).replace(/^0+(?=\d)/, '');
      const y = b.slice(j, ej).replace(/^0+(?=\d)/, '');
      if (x.length !== y.length) return x.length - y.length;
      if (x !== y) return x < y ? -1 : 1;
      if (ei - i !== ej - j) return ei - i - (ej - j); // same number: fewer leading zeros first
      i = ei;
      j = ej;
    } else {
      if (a[i] !== b[j]) return a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
  }
  return a.length - i - (b.length - j);
}

/** Options of readVolume. */
export interface ReadVolumeOptions {
  /** How frame folders are stacked (default RGB, shape [W, H, T, 3]). */
  readonly channels?: FramesToVolumeOptions['channels'];
}

/** The first `n` bytes of a file (for format sniffing without reading large files whole). */
async function head(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

// The DICOM reader is loaded on demand: its codecs are heavy and most commands never touch DICOM.
const loadDicom = () => import('../io/dicom.js');

async function readDicomSeries(paths: readonly string[], source: string): Promise<Volume> {
  const dicom = await loadDicom();
  const slices = [];
  // parseDicomAsync = parseDicom, plus loading the WASM codecs first when a JPEG syntax needs them.
  for (const p of paths) slices.push(await dicom.parseDicomAsync(await readFile(p), p));
  return dicom.dicomSeriesToVolume(slices, source);
}

async function readFrames(paths: readonly string[], options: ReadVolumeOptions): Promise<Volume> {
  const frames = [];
  for (const p of paths) frames.push(decodeFrame(await readFile(p), p));
  return framesToVolume(frames, { channels: options.channels ?? 'rgb' });
}

async function readFolder(dir: string, options: ReadVolumeOptions): Promise<Volume> {
  const names: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    // Symlinks count when they point at a file (frame folders are often links into a dataset).
    if (
      e.isFile() ||
      (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => undefined))?.isFile())
    ) {
      names.push(e.name);
    }
  }
  names.sort(naturalCompare);
  const frames = names.filter((n) => FRAME_EXT.test(n));
  // DICOM files often have no extension: anything that is not a frame is sniffed for the DICM preamble.
  const others = names.filter((n) => !FRAME_EXT.test(n) && n.toUpperCase() !== 'DICOMDIR');
  const dicomFiles: string[] = [];
  if (others.length > 0) {
    const { isDicom } = await loadDicom();
    for (const n of others) {
      const p = join(dir, n);
      if (/\.dcm$/i.test(n) || isDicom(await head(p, 132))) dicomFiles.push(p);
    }
  }
  if (dicomFiles.length > 0) return readDicomSeries(dicomFiles, dir);
  if (frames.length > 0) {
    return readFrames(
      frames.map((n) => join(dir, n)),
      options,
    );
  }
  throw new FormatError(dir, 'folder holds no DICOM files and no .png/.jpg frames');
}

/** Prints what the reader repaired (e.g. impossible NIfTI geometry, io/geometry.ts) to stderr. */
function warnRepairs(volume: Volume): Volume {
  for (const w of volume.source?.warnings ?? []) console.error(`masam: warning: ${w}`);
  return volume;
}

/**
 * Reads a volume from `path`: a .nii/.nii.gz file (NIfTI), a .dcm or other DICOM file (one slice), a .png
 * or .jpg (one frame), a folder of DICOM files (one series) or a folder of .png/.jpg frames (stacked in
 * natural name order: frame2 before frame10).
 * @throws FormatError when the content is not one of these or is malformed.
 */
export async function readVolume(path: string, options: ReadVolumeOptions = {}): Promise<Volume> {
  const info = await stat(path);
  if (info.isDirectory()) return readFolder(path, options);
  if (NIFTI_EXT.test(path)) return warnRepairs(parseNifti(await readFile(path), path));
  if (FRAME_EXT.test(path)) return readFrames([path], options);
  const bytes = await readFile(path);
  const dicom = await loadDicom();
  if (/\.dcm$/i.test(path) || dicom.isDicom(bytes)) {
    return dicom.dicomSeriesToVolume([await dicom.parseDicomAsync(bytes, path)], path);
  }
  // An unknown extension: NIfTI is recognised by its gzip magic or its sizeof_hdr.
  const size = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0, true) : 0;
  if (isGzip(bytes) || size === 348 || size === 540) return warnRepairs(parseNifti(bytes, path));
  throw new FormatError(path, 'unknown file type (expected .nii, .nii.gz, DICOM, .png or .jpg)');
}

/**
 * `volume` as the bytes of a NIfTI file at `path`: gzipped when `path` ends in .nii.gz.
 * @throws MasamError when `path` does not end in .nii or .nii.gz.
 */
export function niftiBytesFor(path: string, volume: Volume, options: NiftiWriteOptions = {}): Uint8Array {
  const m = NIFTI_EXT.exec(path);
  if (m === null) throw new MasamError(`${path}: a volume is written as .nii or .nii.gz`);
  return serializeNifti(volume, { gzip: m[1] !== undefined, ...options });
}

/**
 * Writes `volume` as NIfTI, gzipped when `path` ends in .nii.gz, atomically (see writeFileAtomic).
 * @throws MasamError when `path` does not end in .nii or .nii.gz; WriteError when the write fails.
 */
export async function writeVolumeAtomic(
  path: string,
  volume: Volume,
  options: NiftiWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, niftiBytesFor(path, volume, options));
}

/**
 * Writes each frame t of a [W, H, T] label volume as `<prefix><t>.png` (8-bit label values, t zero-padded)
 * into `dir`, creating it; all files are written atomically as one set (writeFilesAtomic).
 * @returns the paths written.
 */
export async function writeMaskPngs(dir: string, volume: Volume, prefix = 'mask_'): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const n = volume.shape[2] ?? 1;
  const width = Math.max(4, String(n - 1).length);
  const files: [string, Uint8Array][] = [];
  for (let t = 0; t < n; t++) {
    files.push([
      join(dir, `${prefix}${String(t).padStart(width, '0')}.png`),
      maskToPng(labelSlice(volume, t)),
    ]);
  }
  await writeFilesAtomic(files);
  return files.map(([p]) => p);
}

/** Options of writeMp4Atomic. */
export interface Mp4Options {
  /** Frames per second; default 25. */
  readonly fps?: number;
  /** The ffmpeg executable; default $MASAM_FFMPEG, else `ffmpeg` on PATH. */
  readonly ffmpeg?: string;
}

/**
 * Encodes a uint8 frame volume ([W, H, T, 3] or [W, H, T]) as H.264/MPEG-4 video through ffmpeg (yuv420p,
 * odd sizes padded by one pixel), atomically.
 * @throws MasamError when ffmpeg is not found or fails.
 */
export async function writeMp4Atomic(path: string, volume: Volume, options: Mp4Options = {}): Promise<void> {
  frameRgb(volume, 0); // checks dtype and shape before looking for ffmpeg
  const ffmpeg = options.ffmpeg ?? process.env['MASAM_FFMPEG'] ?? 'ffmpeg';
  const probe = spawnSync(ffmpeg, ['-version'], { stdio: 'ignore' });
  if (probe.error !== undefined) {
    throw new MasamError(
      `cannot write ${path}: ffmpeg was not found ('${ffmpeg}': ${probe.error.message}). Install ffmpeg and put it ` +
        'on PATH (or set MASAM_FFMPEG), or write .nii.gz instead',
    );
  }
  const [w = 1, h = 1, n = 1] = volume.shape;
  const tmp = tempPathFor(path);
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  args.push('-s', `${w}x${h}`, '-r', String(options.fps ?? 25), '-i', '-');
  // yuv420p (what players expect) needs even sizes.
  args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-pix_fmt', 'yuv420p', '-f', 'mp4', tmp);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new MasamError(`ffmpeg failed (exit ${code}) writing ${path}: ${stderr.trim()}`));
      });
      child.stdin.on('error', () => undefined); // a dying ffmpeg closes its stdin; 'close' reports why
      (async () => {
        for (let t = 0; t < n; t++) {
          if (!child.stdin.write(frameRgb(volume, t))) await new Promise((r) => child.stdin.once('drain', r));
        }
        child.stdin.end();
      })().catch(reject);
    });
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
  await commitTemporary(tmp, path);
}
