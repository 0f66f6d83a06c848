// The niivue side of the viewer: the image volume, the label overlay with its colour map, slice type,
// slice slider and overlay opacity, the display convention, and the box prompt: a right-drag on a slice
// reports its corners in the volume's voxel indices, and the chosen box is drawn as an overlay. app.ts owns
// the state; this file only draws.
// Display: radiological by default (patient's right on the screen's left, as clinical viewers and masam's
// overlay PNGs), neurological on request. Every index shown (slice number, crosshair voxel) is the volume's
// stored voxel index from 0, as in prompts.json.
import { DRAG_MODE, NVImage, Niivue, SLICE_TYPE } from '@niivue/niivue';
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
  frac?: ArrayLike<number>;
  mm?: ArrayLike<number>;
  /** One value per volume shown, in niivue's volume order. */
  values?: readonly { value: number }[];
}

/** How slices are shown: radiological (patient's right on the screen's left) or neurological (mirrored). */
export type DisplayConvention = 'radiological' | 'neurological';

/** Voxel indices (i, j, k) of the volume as stored, 0-based: the indices of prompts.json. */
export type Voxel = [number, number, number];

/** A box in voxel indices, ranges inclusive: [i1, j1, k1, i2, j2, k2] (prompts.json's "box3d"). */
export type Box3 = [number, number, number, number, number, number];

/** A right-drag on a 2D slice: its two corners and the voxel axis the slice is perpendicular to. */
export interface BoxDrag {
  readonly from: Voxel;
  readonly to: Voxel;
  /** 2: a slice of constant k (axial for an axial scan); 0 or 1: constant i or j (sagittal, coronal). */
  readonly normal: 0 | 1 | 2;
}

/** A point of a 2D slice moved onto the image: canvas pixels and niivue's texture fraction. */
interface ImagePoint {
  readonly pos: [number, number];
  readonly frac: [number, number, number];
}

/**
 * The box overlay's colour map: 1 = the box's outline on each of its slices. (niivue draws every label
 * with a non-zero alpha opaque, so the outline is all it can show without hiding the image.)
 */
const BOX_COLORS = { R: [0, 0], G: [0, 220], B: [0, 255], A: [0, 255], I: [0, 1], labels: ['', 'box'] };

export interface SceneElements {
  readonly canvas: HTMLCanvasElement;
  readonly slice: HTMLInputElement;
  readonly sliceLabel: HTMLElement;
  readonly opacity: HTMLInputElement;
  /** The crosshair read-out; its data-voxel and data-value hold the stored voxel indices and image value. */
  readonly location: HTMLElement;
  /** Shown over the canvas while a box is dragged. */
  readonly boxDrag: HTMLElement;
}

export class Scene {
  private readonly nv: Niivue;
  private image: NVImage | undefined;
  private overlay: NVImage | undefined;
  private boxOverlay: NVImage | undefined;
  /** Class names of the label overlay, for the read-out. */
  private classNames: readonly string[] = [];
  private sliceType: SLICE_TYPE = SLICE_TYPE.MULTIPLANAR;
  private vox: [number, number, number] = [0, 0, 0];
  private readonly defaultDragMode: DRAG_MODE;
  private boxDrawing = false;
  /** The right-drag in progress: its tile, and its corners on the image (canvas pixels, texture fractions). */
  private drag: { tile: number; start: ImagePoint; end: ImagePoint } | undefined;
  /** The voxel under the crosshair (stored indices, as `data-voxel` of the location element), if any. */
  crosshair: Voxel | undefined;
  /** Called when a box has been dragged on a slice (only while box drawing is on). */
  onBoxDrag: ((drag: BoxDrag) => void) | undefined;

  private constructor(
    nv: Niivue,
    private readonly el: SceneElements,
  ) {
    this.nv = nv;
    this.defaultDragMode = nv.opts.dragMode;
    nv.onLocationChange = (loc: unknown) => this.onLocation(loc as Location);
    el.slice.addEventListener('input', () => this.moveToSlice(Number(el.slice.value)));
    el.opacity.addEventListener('input', () => {
      if (this.overlay) this.nv.setOpacity(this.nv.volumes.indexOf(this.overlay), Number(el.opacity.value));
    });
    el.canvas.addEventListener('mousedown', (e) => this.dragStart(e));
    window.addEventListener('mousemove', (e) => this.dragMove(e));
    window.addEventListener('mouseup', (e) => this.dragEnd(e));
  }

  static async create(el: SceneElements, convention: DisplayConvention): Promise<Scene> {
    const nv = new Niivue({
      isRadiologicalConvention: convention === 'radiological',
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
    this.boxOverlay = undefined;
    this.crosshair = undefined;
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
    this.classNames = classNames;
    this.nv.addVolume(overlay);
    this.raiseBox();
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

  /**
   * Box drawing on or off: while on, a right-drag on a 2D slice reports a box (onBoxDrag) instead of
   * niivue's contrast adjustment.
   */
  setBoxDrawing(on: boolean): void {
    if (on === this.boxDrawing) return;
    this.boxDrawing = on;
    this.nv.setDragMode(on ? DRAG_MODE.callbackOnly : this.defaultDragMode);
    if (!on) this.cancelDrag();
  }

  /**
   * Draws `box` (voxel indices, inclusive) over the image: its rectangle i1..i2 × j1..j2 outlined on each
   * slice k1..k2 (on a coronal or sagittal view, two lines spanning the slices). `undefined` removes it.
   */
  showBox(box: Box3 | undefined): void {
    const image = this.image;
    if (!image) return;
    if (!box) {
      if (this.boxOverlay) this.nv.removeVolume(this.boxOverlay);
      this.boxOverlay = undefined;
      return;
    }
    const [, nx = 1, ny = 1, nz = 1] = image.hdr?.dims ?? [];
    let overlay = this.boxOverlay;
    if (!overlay) {
      overlay = NVImage.zerosLike(image);
      overlay.hdr!.dims = [3, nx, ny, nz, 1, 1, 1, 1];
      overlay.hdr!.datatypeCode = 2; // DT_UINT8
      overlay.hdr!.numBitsPerVoxel = 8;
      overlay.hdr!.scl_slope = 1;
      overlay.hdr!.scl_inter = 0;
      overlay.img = new Uint8Array(nx * ny * nz);
      overlay.setColormapLabel(BOX_COLORS);
      overlay.opacity = 1;
    }
    const img = overlay.img as Uint8Array;
    img.fill(0);
    const [i1, j1, k1, i2, j2, k2] = box;
    for (let k = k1; k <= k2; k++) {
      for (let j = j1; j <= j2; j++) {
        const row = (k * ny + j) * nx;
        if (j === j1 || j === j2) img.fill(1, row + i1, row + i2 + 1);
        else img[row + i1] = img[row + i2] = 1;
      }
    }
    if (this.boxOverlay) this.nv.updateGLVolume();
    else {
      this.boxOverlay = overlay;
      this.nv.addVolume(overlay);
    }
  }

  /** Shows slices in the radiological or the neurological convention. */
  setConvention(convention: DisplayConvention): void {
    this.nv.setRadiologicalConvention(convention === 'radiological');
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
    const voxel = loc.frac && loc.frac[0]! >= 0 ? this.fracToVoxel(loc.frac) : undefined;
    this.crosshair = voxel;
    const dataset = this.el.location.dataset;
    const value = this.valueOf(this.image, loc);
    if (voxel) dataset['voxel'] = voxel.join(',');
    else delete dataset['voxel'];
    if (value !== undefined) dataset['value'] = String(value);
    else delete dataset['value'];
    // Spelled out, unlike niivue's "x×y×z = value": the voxel, its world position and what is there.
    const parts: string[] = [];
    if (voxel) parts.push(`voxel ${voxel.join(' ')}`);
    if (loc.mm && loc.mm.length >= 3) {
      parts.push(`${[0, 1, 2].map((a) => loc.mm![a]!.toFixed(1)).join(', ')} mm (RAS)`);
    }
    if (value !== undefined) parts.push(`value ${Number(value.toPrecision(6))}`);
    const label = this.valueOf(this.overlay, loc);
    if (label !== undefined) {
      const v = Math.round(label);
      parts.push(`label ${v} ${this.classNames[v] ?? ''}`.trim());
    }
    this.el.location.textContent = parts.length > 0 ? parts.join(' · ') : '–';
  }

  /** The value of `volume` at the crosshair, from niivue's location event. */
  private valueOf(volume: NVImage | undefined, loc: Location): number | undefined {
    const index = volume ? this.nv.volumes.indexOf(volume) : -1;
    const value = index >= 0 ? loc.values?.[index]?.value : undefined;
    return value !== undefined && Number.isFinite(value) ? value : undefined;
  }

  /** Bring the box overlay above the label overlay. */
  private raiseBox(): void {
    if (!this.boxOverlay) return;
    this.nv.removeVolume(this.boxOverlay);
    this.nv.addVolume(this.boxOverlay);
  }

  /**
   * niivue's texture fraction (RAS-reoriented, [0, 1] per axis) → the voxel indices of the volume as stored.
   * niivue shows every volume reoriented to RAS (permRAS: for each RAS axis, the stored axis, 1-based,
   * negative when flipped); masam's voxel indices are the stored ones.
   */
  private fracToVoxel(frac: ArrayLike<number>): Voxel | undefined {
    const image = this.image;
    const perm = image?.permRAS;
    const dims = image?.hdr?.dims;
    if (!perm || !dims) return undefined;
    const voxel: Voxel = [0, 0, 0];
    for (let r = 0; r < 3; r++) {
      const axis = Math.abs(perm[r]!) - 1;
      const n = dims[axis + 1] ?? 1;
      const ras = Math.min(n - 1, Math.max(0, Math.round(frac[r]! * n - 0.5)));
      voxel[axis] = perm[r]! < 0 ? n - 1 - ras : ras;
    }
    return voxel;
  }

  /** The mouse position in canvas pixels, as niivue counts them. */
  private canvasPos(e: MouseEvent): [number, number] {
    const rect = this.el.canvas.getBoundingClientRect();
    const dpr = this.nv.uiData.dpr ?? window.devicePixelRatio ?? 1;
    return [(e.clientX - rect.left) * dpr, (e.clientY - rect.top) * dpr];
  }

  /**
   * The image point nearest `pos` on a slice tile: a drag that leaves the image (or the canvas) stops at
   * its edge. Undefined when the tile shows no slice.
   */
  private imagePoint(tile: number, [x, y]: [number, number]): ImagePoint | undefined {
    const slice = this.nv.screenSlices[tile];
    if (!slice) return undefined;
    const [left = 0, top = 0, width = 0, height = 0] = slice.leftTopWidthHeight;
    const [x0, x1] = width < 0 ? [left + width, left] : [left, left + width];
    const inside = (v: number, lo: number, hi: number) => Math.min(hi - 1e-3, Math.max(lo + 1e-3, v));
    const f = this.nv.screenXY2TextureFrac(inside(x, x0, x1), inside(y, top, top + height), tile, false);
    if (f[0] === -1 && f[1] === -1 && f[2] === -1) return undefined;
    const clamp = (v: number) => Math.min(1 - 1e-6, Math.max(1e-6, v));
    const frac: [number, number, number] = [clamp(f[0]!), clamp(f[1]!), clamp(f[2]!)];
    const back = this.nv.frac2canvasPosWithTile(frac, slice.axCorSag);
    return { pos: back ? [back.pos[0]!, back.pos[1]!] : [x, y], frac };
  }

  private dragStart(e: MouseEvent): void {
    if (!this.boxDrawing || e.button !== 2 || !this.image) return;
    const pos = this.canvasPos(e);
    const tile = this.nv.tileIndex(pos[0], pos[1]);
    const type = this.nv.screenSlices[tile]?.axCorSag;
    if (type === undefined || type > SLICE_TYPE.SAGITTAL) return; // 3D render or outside the slices
    const start = this.imagePoint(tile, pos);
    if (!start) return;
    this.drag = { tile, start, end: start };
    this.drawDrag();
  }

  private dragMove(e: MouseEvent): void {
    if (!this.drag) return;
    this.drag.end = this.imagePoint(this.drag.tile, this.canvasPos(e)) ?? this.drag.end;
    this.drawDrag();
  }

  private dragEnd(e: MouseEvent): void {
    const drag = this.drag;
    if (!drag || e.button !== 2) return;
    this.cancelDrag();
    // Where the context menu opens on release (Windows), a drag that ended off the canvas would open it.
    const noMenu = (ev: Event) => ev.preventDefault();
    window.addEventListener('contextmenu', noMenu, { capture: true });
    setTimeout(() => window.removeEventListener('contextmenu', noMenu, { capture: true }), 300);
    const end = this.imagePoint(drag.tile, this.canvasPos(e)) ?? drag.end;
    const [x0, y0] = drag.start.pos;
    const [x1, y1] = end.pos;
    if (Math.hypot(x1 - x0, y1 - y0) < 2) return; // a click, not a drag
    const slice = this.nv.screenSlices[drag.tile];
    const perm = this.image?.permRAS;
    const from = this.fracToVoxel(drag.start.frac);
    const to = this.fracToVoxel(end.frac);
    if (!slice || !perm || !from || !to) return;
    // The RAS axis through the slice: z for axial, y for coronal, x for sagittal; then the stored axis.
    const rasNormal = slice.axCorSag === SLICE_TYPE.AXIAL ? 2 : slice.axCorSag === SLICE_TYPE.CORONAL ? 1 : 0;
    const normal = (Math.abs(perm[rasNormal]!) - 1) as 0 | 1 | 2;
    this.onBoxDrag?.({ from, to, normal });
  }

  private cancelDrag(): void {
    this.drag = undefined;
    this.el.boxDrag.hidden = true;
  }

  /** The dragged rectangle over the canvas (CSS pixels). */
  private drawDrag(): void {
    const drag = this.drag;
    if (!drag) return;
    const dpr = this.nv.uiData.dpr ?? window.devicePixelRatio ?? 1;
    const [x0, y0] = drag.start.pos;
    const [x1, y1] = drag.end.pos;
    const style = this.el.boxDrag.style;
    style.left = `${this.el.canvas.offsetLeft + Math.min(x0, x1) / dpr}px`;
    style.top = `${this.el.canvas.offsetTop + Math.min(y0, y1) / dpr}px`;
    style.width = `${Math.abs(x1 - x0) / dpr}px`;
    style.height = `${Math.abs(y1 - y0) / dpr}px`;
    this.el.boxDrag.hidden = false;
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
    // The slider runs along niivue's RAS axis; the label names the stored axis and index (from 0), as the
    // crosshair read-out and prompts.json do.
    const axis = SLIDER_AXIS[this.sliceType];
    const perm = this.image?.permRAS;
    const stored = perm ? Math.abs(perm[axis]!) - 1 : axis;
    const n = dims[stored + 1] ?? 1;
    slice.disabled = n <= 1;
    slice.max = String(n - 1);
    slice.value = String(this.vox[axis]);
    const index = perm && perm[axis]! < 0 ? n - 1 - this.vox[axis] : this.vox[axis];
    sliceLabel.textContent = `${'ijk'[stored]} ${index} of 0–${n - 1}`;
    sliceLabel.dataset['axis'] = 'ijk'[stored];
    sliceLabel.dataset['index'] = String(index);
  }
}

/** A fresh ArrayBuffer with the bytes (niivue may keep or detach what it is given). */
function copyBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
