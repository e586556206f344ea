/**
 * The contour plot of a 2-D function on a canvas: a shaded field of log(f − f* + s), contour
 * lines traced by marching squares on the same grid, axes with round ticks, the minima (★), the
 * start (○) and the optimizers' paths on top.
 */
import type { Point, TestFunction } from './functions';

/** The library's chart palette (ts/plot/svg.ts: Okabe & Ito), so a path and its loss curve share a colour. */
export const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const ROUND_DASH: number[][] = [[], [2, 3], [8, 3, 2, 3]];

export function colorOf(i: number): string {
  return COLORS[i % COLORS.length];
}
export function dashOf(i: number): number[] {
  return ROUND_DASH[Math.floor(i / COLORS.length) % ROUND_DASH.length];
}

export interface PathView {
  xs: readonly number[];
  ys: readonly number[];
  index: number;
}

const GRID = 160;
const LEVELS = 16;
const MARGIN = { left: 40, right: 10, top: 10, bottom: 28 };

/** Light blue (low) to warm grey (high): quiet enough for the coloured paths on top. */
const RAMP: [number, number, number][] = [
  [247, 251, 255],
  [214, 230, 244],
  [190, 205, 222],
  [222, 214, 200],
  [236, 228, 214],
];

function ramp(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(u));
  const f = u - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export class ContourPlot {
  readonly canvas: HTMLCanvasElement;
  #fn: TestFunction | null = null;
  #settings: Readonly<Record<string, number>> = {};
  #field: HTMLCanvasElement | null = null;
  #size = 0;
  #dpr = 1;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
  }

  /** Side of the square data area, CSS pixels. */
  get side(): number {
    return this.#size;
  }

  setFunction(fn: TestFunction, settings: Readonly<Record<string, number>>): void {
    this.#fn = fn;
    this.#settings = { ...settings };
    this.#field = null;
  }

  /** Sizes the canvas to `width` CSS pixels (the data area stays square). */
  resize(width: number): void {
    const side = Math.max(120, Math.floor(width) - MARGIN.left - MARGIN.right);
    const dpr = Math.min(3, Math.max(1, window.devicePixelRatio || 1));
    if (side === this.#size && dpr === this.#dpr) return;
    this.#size = side;
    this.#dpr = dpr;
    const w = side + MARGIN.left + MARGIN.right;
    const h = side + MARGIN.top + MARGIN.bottom;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.#field = null;
  }

  /** Data coordinates of a point on the canvas (CSS pixels from its top-left corner), or null outside the data area. */
  toData(px: number, py: number): Point | null {
    const fn = this.#fn;
    if (!fn) return null;
    const u = (px - MARGIN.left) / this.#size;
    const v = (py - MARGIN.top) / this.#size;
    if (u < 0 || u > 1 || v < 0 || v > 1) return null;
    const [x0, x1, y0, y1] = fn.view;
    return [x0 + u * (x1 - x0), y1 - v * (y1 - y0)];
  }

  #px(x: number, y: number): [number, number] {
    const [x0, x1, y0, y1] = (this.#fn as TestFunction).view;
    return [MARGIN.left + ((x - x0) / (x1 - x0)) * this.#size, MARGIN.top + ((y1 - y) / (y1 - y0)) * this.#size];
  }

  /** The shaded field and its contour lines, drawn once per function, settings and size. */
  #renderField(): HTMLCanvasElement {
    const fn = this.#fn as TestFunction;
    const [x0, x1, y0, y1] = fn.view;
    const n = GRID;
    const gap = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const y = y1 - ((j + 0.5) / n) * (y1 - y0);
      for (let i = 0; i < n; i++) {
        const x = x0 + ((i + 0.5) / n) * (x1 - x0);
        gap[j * n + i] = Math.max(0, fn.value(x, y, this.#settings) - fn.fmin);
      }
    }
    // The offset s puts the contour levels where the function is interesting: log(gap + s) with
    // s a twentieth of the median gap spreads the lines over valleys and walls alike.
    const sorted = Float64Array.from(gap).sort();
    const s = Math.max(1e-12, sorted[Math.floor(sorted.length / 2)] / 20);
    const z = gap.map((g) => Math.log(g + s));
    let zmin = Infinity;
    let zmax = -Infinity;
    for (const v of z) {
      if (Number.isFinite(v)) {
        zmin = Math.min(zmin, v);
        zmax = Math.max(zmax, v);
      }
    }
    const img = new ImageData(n, n);
    for (let k = 0; k < n * n; k++) {
      const [r, g, b] = ramp((z[k] - zmin) / (zmax - zmin || 1));
      img.data[4 * k] = r;
      img.data[4 * k + 1] = g;
      img.data[4 * k + 2] = b;
      img.data[4 * k + 3] = 255;
    }
    const small = document.createElement('canvas');
    small.width = n;
    small.height = n;
    (small.getContext('2d') as CanvasRenderingContext2D).putImageData(img, 0, 0);

    const out = document.createElement('canvas');
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = out.getContext('2d') as CanvasRenderingContext2D;
    ctx.scale(this.#dpr, this.#dpr);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, MARGIN.left, MARGIN.top, this.#size, this.#size);

    // Contour lines: marching squares between grid-cell centres.
    const cell = this.#size / n;
    const at = (i: number, j: number): [number, number] => [
      MARGIN.left + (i + 0.5) * cell,
      MARGIN.top + (j + 0.5) * cell,
    ];
    ctx.lineWidth = 0.8;
    ctx.strokeStyle = 'rgba(40, 50, 70, 0.35)';
    ctx.beginPath();
    for (let l = 1; l < LEVELS; l++) {
      const level = zmin + ((zmax - zmin) * l) / LEVELS;
      for (let j = 0; j < n - 1; j++) {
        for (let i = 0; i < n - 1; i++) {
          const a = z[j * n + i];
          const b = z[j * n + i + 1];
          const c = z[(j + 1) * n + i + 1];
          const d = z[(j + 1) * n + i];
          const pts: [number, number][] = [];
          const edge = (va: number, vb: number, pa: [number, number], pb: [number, number]) => {
            if (va < level !== vb < level) {
              const t = (level - va) / (vb - va);
              pts.push([pa[0] + (pb[0] - pa[0]) * t, pa[1] + (pb[1] - pa[1]) * t]);
            }
          };
          const pa = at(i, j);
          const pb = at(i + 1, j);
          const pc = at(i + 1, j + 1);
          const pd = at(i, j + 1);
          edge(a, b, pa, pb);
          edge(b, c, pb, pc);
          edge(c, d, pc, pd);
          edge(d, a, pd, pa);
          for (let k = 0; k + 1 < pts.length; k += 2) {
            ctx.moveTo(pts[k][0], pts[k][1]);
            ctx.lineTo(pts[k + 1][0], pts[k + 1][1]);
          }
        }
      }
    }
    ctx.stroke();

    // Axes: frame, round ticks, labels.
    ctx.strokeStyle = '#555';
    ctx.lineWidth = 1;
    ctx.strokeRect(MARGIN.left, MARGIN.top, this.#size, this.#size);
    ctx.fillStyle = '#222';
    ctx.font = '11px system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif';
    const ticks = (lo: number, hi: number) => {
      const st = niceStep(hi - lo, this.#size < 260 ? 4 : 6);
      const out: number[] = [];
      for (let v = Math.ceil(lo / st - 1e-9) * st; v <= hi + 1e-9; v += st) out.push(Math.abs(v) < 1e-12 ? 0 : v);
      return out;
    };
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of ticks(x0, x1)) {
      const [px] = this.#px(v, y0);
      ctx.fillText(String(+v.toPrecision(6)), px, MARGIN.top + this.#size + 5);
      ctx.fillRect(px, MARGIN.top + this.#size, 1, 4);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of ticks(y0, y1)) {
      const [, py] = this.#px(x0, v);
      ctx.fillText(String(+v.toPrecision(6)), MARGIN.left - 6, py);
      ctx.fillRect(MARGIN.left - 4, py, 4, 1);
    }
    return out;
  }

  /** Redraws the field, the markers and the paths. */
  draw(paths: readonly PathView[], start: Point): void {
    const fn = this.#fn;
    if (!fn || this.#size === 0) return;
    this.#field ??= this.#renderField();
    const ctx = this.canvas.getContext('2d') as CanvasRenderingContext2D;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.#field, 0, 0);
    ctx.scale(this.#dpr, this.#dpr);
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top, this.#size, this.#size);
    ctx.clip();

    ctx.font = '16px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const m of fn.minima) {
      const [px, py] = this.#px(m[0], m[1]);
      ctx.fillStyle = '#111';
      ctx.fillText('★', px, py);
    }
    const [sx, sy] = this.#px(start[0], start[1]);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#111';
    ctx.beginPath();
    ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
    ctx.stroke();

    for (const p of paths) {
      if (p.xs.length === 0) continue;
      ctx.strokeStyle = colorOf(p.index);
      ctx.setLineDash(dashOf(p.index));
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      for (let k = 0; k < p.xs.length; k++) {
        // Far-off points (a diverging run) are clamped so the canvas path stays drawable.
        const [px, py] = this.#px(p.xs[k], p.ys[k]).map((v) => Math.max(-1e4, Math.min(1e4, v)));
        if (k === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      const last = p.xs.length - 1;
      const [px, py] = this.#px(p.xs[last], p.ys[last]);
      ctx.fillStyle = colorOf(p.index);
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(px, py, 4.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
  }
}
