// The niivue side of the viewer: the image volume, the label overlay with its colour map, slice type,
// slice slider and overlay opacity. app.ts owns the state; this file only draws.
import { NVImage, Niivue, SLICE_TYPE } from '@niivue/niivue';
import { labelColorMap } from '../src/viewer/legend.js';

/** Which voxel axis the slice slider moves for each slice type (multiplanar and 3D use the axial one). */
const SLIDER_AXIS: Record<SLICE_TYPE, 0 | 1 | 2> = {
  [SLICE_TYPE.AXIAL]: 2,
  [SLICE_TYPE.CORONAL]: 1,
  [SLICE_TYPE.SAGITTAL]: 0,
  [SLICE_TYPE.MULTIPLANAR]: 2,
  [SLICE_TYPE.RENDER]: 2,
};

interface Location {
  vox?: ArrayLike<number>;
  string?: string;
}

export interface SceneElements {
  readonly canvas: HTMLCanvasElement;
  readonly slice: HTMLInputElement;
  readonly sliceLabel: HTMLElement;
  readonly opacity: HTMLInputElement;
  readonly location: HTMLElement;
}

export class Scene {
  private readonly nv: Niivue;
  private image: NVImage | undefined;
  private overlay: NVImage | undefined;
  private sliceType: SLICE_TYPE = SLICE_TYPE.MULTIPLANAR;
  private vox: [number, number, number] = [0, 0, 0];

  private constructor(
    nv: Niivue,
    private readonly el: SceneElements,
  ) {
    this.nv = nv;
    nv.onLocationChange = (loc: unknown) => this.onLocation(loc as Location);
    el.slice.addEventListener('input', () => this.moveToSlice(Number(el.slice.value)));
    el.opacity.addEventListener('input', () => {
      if (this.overlay) this.nv.setOpacity(this.nv.volumes.indexOf(this.overlay), Number(el.opacity.value));
    });
  }

  static async create(el: SceneElements): Promise<Scene> {
    const nv = new Niivue({
      backColor: [0.06, 0.07, 0.09, 1],
      crosshairColor: [1, 0.85, 0.2, 0.6],
      // Thin whatever the voxel size: 0.4 % of the field of view (the default is one voxel wide).
      crosshairWidth: 0.4,
      crosshairWidthUnit: 'percent',
      dragAndDropEnabled: false,
      show3Dcrosshair: true,
      isColorbar: false,
    });
    await nv.attachToCanvas(el.canvas);
    nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
    return new Scene(nv, el);
  }

  /**
   * Shows a NIfTI file (`name` must end in .nii or .nii.gz); removes the previous image and overlay.
   * Returns its voxel counts and voxel size (mm) as niivue read them.
   */
  async showImage(name: string, bytes: Uint8Array): Promise<{ dims: number[]; spacing: number[] }> {
    const image = await NVImage.loadFromUrl({ url: copyBuffer(bytes), name });
    for (const v of [...this.nv.volumes]) this.nv.removeVolume(v);
    this.image = image;
    this.overlay = undefined;
    this.nv.addVolume(image);
    const [, nx = 1, ny = 1, nz = 1] = image.dims ?? [];
    this.vox = [Math.floor(nx / 2), Math.floor(ny / 2), Math.floor(nz / 2)];
    this.updateSlider();
    const ndim = image.dims?.[0] ?? 3;
    return {
      dims: (image.dims ?? []).slice(1, ndim + 1),
      spacing: (image.pixDims ?? []).slice(1, Math.min(ndim, 3) + 1),
    };
  }

  /** Overlays a label map (NIfTI bytes) coloured by class; replaces a previous overlay. */
  async showLabels(
    nii: Uint8Array,
    classNames: readonly string[],
    hidden: ReadonlySet<number>,
  ): Promise<void> {
    const overlay = await NVImage.loadFromUrl({
      url: copyBuffer(nii),
      name: 'labels.nii',
      opacity: Number(this.el.opacity.value),
    });
    overlay.setColormapLabel(labelColorMap(classNames, hidden));
    if (this.overlay) this.nv.removeVolume(this.overlay);
    this.overlay = overlay;
    this.nv.addVolume(overlay);
  }

  /** Recolours the overlay, drawing the `hidden` label values transparent. */
  setHidden(classNames: readonly string[], hidden: ReadonlySet<number>): void {
    if (!this.overlay) return;
    this.overlay.setColormapLabel(labelColorMap(classNames, hidden));
    this.nv.updateGLVolume();
  }

  clearLabels(): void {
    if (this.overlay) this.nv.removeVolume(this.overlay);
    this.overlay = undefined;
  }

  setSliceType(type: SLICE_TYPE): void {
    this.sliceType = type;
    this.nv.setSliceType(type);
    this.updateSlider();
  }

  private onLocation(loc: Location): void {
    if (loc.vox && loc.vox.length >= 3) {
      this.vox = [Math.round(loc.vox[0]!), Math.round(loc.vox[1]!), Math.round(loc.vox[2]!)];
      this.updateSlider();
    }
    this.el.location.textContent = loc.string ?? '–';
  }

  private moveToSlice(index: number): void {
    const axis = SLIDER_AXIS[this.sliceType];
    const delta = [0, 0, 0];
    delta[axis] = index - this.vox[axis];
    this.nv.moveCrosshairInVox(delta[0]!, delta[1]!, delta[2]!);
  }

  private updateSlider(): void {
    const dims = this.image?.dims;
    const { slice, sliceLabel } = this.el;
    if (!dims) {
      slice.disabled = true;
      sliceLabel.textContent = '–';
      return;
    }
    const axis = SLIDER_AXIS[this.sliceType];
    const n = dims[axis + 1] ?? 1;
    slice.disabled = n <= 1;
    slice.max = String(n - 1);
    slice.value = String(this.vox[axis]);
    sliceLabel.textContent = `${'ijk'[axis]} ${this.vox[axis] + 1}/${n}`;
  }
}

/** A fresh ArrayBuffer with the bytes (niivue may keep or detach what it is given). */
function copyBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
