// Typed surface of the untyped DICOM codec packages used by src/io/dicom_codecs.ts: the Emscripten/embind
// builds of libjpeg-turbo and OpenJPEG (@cornerstonejs/codec-*) and jpeg-lossless-decoder-js.

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  interface FrameInfo {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  }
  interface JPEGDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    delete(): void;
  }
  interface LibJpegTurboModule {
    JPEGDecoder: new () => JPEGDecoder;
  }
  const factory: (options?: Record<string, unknown>) => Promise<LibJpegTurboModule>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  interface FrameInfo {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  }
  interface J2KDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    delete(): void;
  }
  interface OpenJpegModule {
    J2KDecoder: new () => J2KDecoder;
  }
  const factory: (options?: Record<string, unknown>) => Promise<OpenJpegModule>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor();
    /** Decodes `length` bytes at `offset`; samples of ≤ 8 bits come back as Uint8Array, else Uint16Array. */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
    /** The decoded frame's width, height and component count (set by decode). */
    xDim: number;
    yDim: number;
    numComp: number;
  }
}

// OpenJPEG's full build (decoder + encoder); only tests use it, to make JPEG 2000 files in memory.
declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  interface EncoderFrameInfo {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
    isUsingColorTransform: boolean;
  }
  interface J2KEncoder {
    getDecodedBuffer(info: EncoderFrameInfo): Uint8Array;
    getEncodedBuffer(): Uint8Array;
    setQuality(lossless: boolean, quality: number): void;
    encode(): void;
    delete(): void;
  }
  interface OpenJpegFullModule {
    J2KEncoder: new () => J2KEncoder;
  }
  const factory: (options?: Record<string, unknown>) => Promise<OpenJpegFullModule>;
  export default factory;
}
