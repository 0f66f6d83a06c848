// Decoders for encapsulated DICOM pixel data (PS3.5 §8.2, Annex A.4): JPEG baseline/extended through
// libjpeg-turbo (WASM), 12-bit JPEG extended through dicom_jpeg12.ts, JPEG lossless through
// jpeg-lossless-decoder-js, JPEG 2000 through OpenJPEG (WASM). The WASM codecs load once, asynchronously.
import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';
import { decodeJpegDct } from './dicom_jpeg12.js';

/** Samples of one decoded frame, row-major, before BitsStored masking and rescale. */
export interface DecodedFrame {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** True when `samples` already hold signed values (OpenJPEG reports a signed codestream). */
  readonly signed: boolean;
  readonly samples: Uint8Array | Uint16Array | Int16Array;
}

/** How to find the `.wasm` files when a bundler moved them (browser); Node finds them beside the package. */
export interface DicomCodecOptions {
  /** Emscripten's `locateFile(path, prefix)`: returns the URL of `path` (e.g. 'openjpegwasm_decode.wasm'). */
  readonly locateFile?: (path: string, prefix: string) => string;
}

interface EmscriptenFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

/** What libjpeg-turbo's JPEGDecoder and OpenJPEG's J2KDecoder (embind classes) have in common. */
interface EmbindDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): EmscriptenFrameInfo;
  delete(): void;
}

interface LoadedCodecs {
  readonly newJpegDecoder: () => EmbindDecoder;
  readonly newJ2kDecoder: () => EmbindDecoder;
  /** Recent messages the WASM modules printed to stderr (OpenJPEG explains its failures there). */
  readonly errors: string[];
}

let loaded: LoadedCodecs | undefined;
let loading: Promise<void> | undefined;

/**
 * Load the WASM codecs (libjpeg-turbo for 8-bit JPEG, OpenJPEG for JPEG 2000). Idempotent: later calls return
 * the same promise. Until it resolves, `parseDicom` throws a FormatError for those transfer syntaxes;
 * `parseDicomAsync` calls it for you. Uncompressed, RLE, JPEG lossless and 12-bit JPEG need no init.
 */
export function initDicomCodecs(options: DicomCodecOptions = {}): Promise<void> {
  loading ??= (async () => {
    const errors: string[] = [];
    const moduleOptions: Record<string, unknown> = {
      print: () => {}, // OpenJPEG logs "[INFO] ..." for every frame
      printErr: (msg: string) => {
        errors.push(msg);
        if (errors.length > 20) errors.shift();
      },
    };
    if (options.locateFile) moduleOptions['locateFile'] = options.locateFile;
    const [jpegFactory, j2kFactory] = await Promise.all([
      import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'),
      import('@cornerstonejs/codec-openjpeg/decodewasmjs'),
    ]);
    const [jpeg, j2k] = await Promise.all([
      jpegFactory.default(moduleOptions),
      j2kFactory.default(moduleOptions),
    ]);
    loaded = {
      newJpegDecoder: () => new jpeg.JPEGDecoder(),
      newJ2kDecoder: () => new j2k.J2KDecoder(),
      errors,
    };
  })();
  loading.catch(() => {
    loading = undefined; // let a later call retry
  });
  return loading;
}

/** True once `initDicomCodecs()` has resolved. */
export function dicomCodecsReady(): boolean {
  return loaded !== undefined;
}

/** Thrown when a frame needs a WASM codec that `initDicomCodecs()` has not loaded yet. */
export class CodecNotReadyError extends Error {
  override name = 'CodecNotReadyError';
}

function runEmbind(decoder: EmbindDecoder, frame: Uint8Array, errors: string[]): DecodedFrame {
  errors.length = 0;
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const bytes = decoder.getDecodedBuffer().slice(); // copy out of WASM memory before delete()
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const n = info.width * info.height * info.componentCount;
    if (bytes.length < n * bytesPerSample) throw new Error(`decoder returned ${bytes.length} bytes`);
    let samples: Uint8Array | Uint16Array | Int16Array = bytes;
    if (bytesPerSample === 2) {
      samples = info.isSigned ? new Int16Array(bytes.buffer, 0, n) : new Uint16Array(bytes.buffer, 0, n);
    }
    return {
      width: info.width,
      height: info.height,
      components: info.componentCount,
      signed: info.isSigned && bytesPerSample === 2,
      samples,
    };
  } catch (e) {
    // embind surfaces C++ exceptions as numbers; the module's stderr usually says more.
    const detail = e instanceof Error ? e.message : `native exception ${String(e)}`;
    const printed = errors.length > 0 ? ` (${errors.join('; ')})` : '';
    throw new Error(`${detail}${printed}`);
  } finally {
    decoder.delete();
  }
}

function requireCodecs(what: string): LoadedCodecs {
  if (!loaded) {
    throw new CodecNotReadyError(
      `${what} needs the WASM codecs: call \`await initDicomCodecs()\` before parseDicom, or use parseDicomAsync`,
    );
  }
  return loaded;
}

/** Sample precision P from the first SOFn marker of a JPEG stream, or undefined if none is found. */
export function jpegPrecision(frame: Uint8Array): number | undefined {
  let pos = 2;
  while (pos + 4 < frame.length) {
    if (frame[pos] !== 0xff) {
      pos++;
      continue;
    }
    const marker = frame[pos + 1]!;
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return frame[pos + 4];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) pos += 2;
    else pos += 2 + ((frame[pos + 2]! << 8) | frame[pos + 3]!);
  }
  return undefined;
}

/**
 * JPEG baseline (process 1) and extended (processes 2 and 4): 8-bit streams go to libjpeg-turbo (needs
 * `initDicomCodecs()`), 12-bit streams to the bundled islow decoder (synchronous, bit-exact with libjpeg).
 */
export function decodeJpegLossy(frame: Uint8Array): DecodedFrame {
  if (jpegPrecision(frame) === 12) {
    const out = decodeJpegDct(frame);
    return { width: out.width, height: out.height, components: 1, signed: false, samples: out.data };
  }
  const codecs = requireCodecs('8-bit JPEG');
  return runEmbind(codecs.newJpegDecoder(), frame, codecs.errors);
}

/** JPEG 2000 (lossless-only and lossy) through OpenJPEG; needs `initDicomCodecs()`. */
export function decodeJpeg2000(frame: Uint8Array): DecodedFrame {
  const codecs = requireCodecs('JPEG 2000');
  return runEmbind(codecs.newJ2kDecoder(), frame, codecs.errors);
}

/** JPEG lossless (process 14, any predictor) through jpeg-lossless-decoder-js; synchronous, pure JS. */
export function decodeJpegLossless(frame: Uint8Array): DecodedFrame {
  const decoder = new JpegLosslessDecoder();
  const samples = decoder.decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length);
  // The codestream's own frame header, so the caller can compare it with Rows × Columns.
  return { width: decoder.xDim, height: decoder.yDim, components: decoder.numComp, signed: false, samples };
}
