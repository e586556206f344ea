/**
 * A small dependency-free SVG line chart: named series, axes with round ticks, title, legend, an
 * optional second y axis (e.g. loss on the left, accuracy on the right) and an optional log scale.
 * The output is deterministic (same input, same bytes), so generated plots can be committed.
 *
 * ```ts
 * const svg = lineChart({
 *   title: 'Training',
 *   xLabel: 'epoch',
 *   yLabel: 'loss',
 *   y2Label: 'accuracy',
 *   series: [
 *     { name: 'train loss', points: loss.map((v, i) => [i, v]) },
 *     { name: 'val accuracy', points: acc.map((v, i) => [i, v]), axis: 'right' },
 *   ],
 *   logY: true,
 * });
 * ```
 *
 * A y value that cannot be drawn (NaN, ±Infinity, or <= 0 on a log axis: a diverged or zero
 * loss) leaves a gap in its line rather than failing the whole plot.
 */
import { rangeError, typeError } from '../errors.js';

/** One line of a chart. */
export interface LineSeries {
  /** Its legend entry. */
  name: string;
  /** Its (x, y) points in order. */
  points: ReadonlyArray<readonly [number, number]>;
  /** The y axis the series is read on: `'left'` (default) or `'right'` (drawn dashed). */
  axis?: 'left' | 'right';
}

/** Options of `lineChart`. */
export interface LineChartOptions {
  /** The chart's title. */
  title: string;
  /** The x axis's label. */
  xLabel: string;
  /** The left y axis's label. */
  yLabel: string;
  /** Label of the right y axis; the axis is drawn when a series uses it. */
  y2Label?: string;
  /** The lines. */
  series: readonly LineSeries[];
  /** Log scale for the left y axis. */
  logY?: boolean;
  /** Width in pixels, default 720. */
  width?: number;
  /** Height in pixels, default 400. */
  height?: number;
}

/** Okabe & Ito's colour-blind-safe palette (yellow left out: too light on white). */
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
/** Past the palette, later rounds of colours are told apart by the stroke: dotted, then dash-dot. */
const ROUND_DASH = ['', '2 3', '8 3 2 3'];

function dashOf(i: number, onRight: boolean): string {
  const d = onRight ? '6 3' : ROUND_DASH[Math.floor(i / COLORS.length) % ROUND_DASH.length];
  return d === '' ? '' : ` stroke-dasharray="${d}"`;
}
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
/** Average glyph width at 12px, to lay out the legend without measuring text. */
const CHAR_WIDTH = 6.6;

interface Scale {
  ticks: number[];
  at: (v: number) => number;
  label: (v: number) => string;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** The round step (1, 2 or 5 × 10^k) that cuts `span` into about `count` intervals. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function plainLabel(v: number, step: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e5 || step < 1e-3) return expLabel(v);
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

function expLabel(v: number): string {
  const [m, e] = v.toExponential(2).split('e');
  return `${String(Number(m))}e${Number(e)}`;
}

function linearScale(lo: number, hi: number, p0: number, p1: number): Scale {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const step = niceStep(hi - lo, 6);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; a + i * step <= b + step * 1e-9; i++)
    ticks.push(Math.abs(a + i * step) < step * 1e-9 ? 0 : a + i * step);
  return { ticks, at: (v) => p0 + ((v - a) / (b - a)) * (p1 - p0), label: (v) => plainLabel(v, step) };
}

function logScale(lo: number, hi: number, p0: number, p1: number): Scale {
  let a = Math.floor(Math.log10(lo) + 1e-9);
  let b = Math.ceil(Math.log10(hi) - 1e-9);
  if (b <= a) [a, b] = [a - 1, b + 1];
  const ticks: number[] = [];
  const every = Math.ceil((b - a) / 8);
  for (let k = a; k <= b; k += every) {
    ticks.push(10 ** k);
    // With few decades, 2× and 5× marks keep the axis readable.
    if (b - a <= 2 && k < b) ticks.push(2 * 10 ** k, 5 * 10 ** k);
  }
  ticks.sort((x, y) => x - y);
  const at = (v: number) => p0 + ((Math.log10(v) - a) / (b - a)) * (p1 - p0);
  const label = (v: number) => (v >= 1e-3 && v < 1e5 ? String(Number(v.toPrecision(6))) : expLabel(v));
  return { ticks, at, label };
}

function checkOptions(o: unknown): Required<Omit<LineChartOptions, 'y2Label'>> & { y2Label?: string } {
  if (o === null || typeof o !== 'object') throw typeError('options', 'must be an object');
  const r = o as LineChartOptions;
  for (const k of ['title', 'xLabel', 'yLabel'] as const)
    if (typeof r[k] !== 'string') throw typeError(`options.${k}`, `must be a string, got ${typeof r[k]}`);
  if (r.y2Label !== undefined && typeof r.y2Label !== 'string')
    throw typeError('options.y2Label', `must be a string, got ${typeof r.y2Label}`);
  if (r.logY !== undefined && typeof r.logY !== 'boolean') throw typeError('options.logY', 'must be a boolean');
  for (const k of ['width', 'height'] as const) {
    const v = r[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 200))
      throw rangeError(`options.${k}`, `must be a number >= 200, got ${String(v)}`);
  }
  if (!Array.isArray(r.series)) throw typeError('options.series', 'must be an array of series');
  r.series.forEach((s, i) => {
    const arg = `options.series[${i}]`;
    if (s === null || typeof s !== 'object') throw typeError(arg, 'must be an object with name and points');
    if (typeof s.name !== 'string') throw typeError(`${arg}.name`, 'must be a string');
    if (s.axis !== undefined && s.axis !== 'left' && s.axis !== 'right')
      throw rangeError(`${arg}.axis`, `must be 'left' or 'right', got ${String(s.axis)}`);
    if (!Array.isArray(s.points)) throw typeError(`${arg}.points`, 'must be an array of [x, y] pairs');
    (s.points as unknown[]).forEach((p, j) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number')
        throw typeError(`${arg}.points[${j}]`, 'must be an [x, y] pair of numbers');
      if (!Number.isFinite(p[0])) throw rangeError(`${arg}.points[${j}]`, `x must be finite, got ${p[0]}`);
    });
  });
  return {
    title: r.title,
    xLabel: r.xLabel,
    yLabel: r.yLabel,
    y2Label: r.y2Label,
    series: r.series,
    logY: r.logY ?? false,
    width: r.width ?? 720,
    height: r.height ?? 400,
  };
}

/** Renders the chart as a standalone SVG document. */
export function lineChart(options: LineChartOptions): string {
  const o = checkOptions(options);
  const { width: W, height: H, logY } = o;
  const hasRight = o.series.some((s) => s.axis === 'right');
  const drawable = (y: number, log: boolean) => Number.isFinite(y) && (!log || y > 0);

  // Legend rows under the title, wrapped to the width.
  const items = o.series.map((s, i) => ({ s, i, w: 30 + s.name.length * CHAR_WIDTH + 16 }));
  const rows: (typeof items)[] = [[]];
  let used = 0;
  for (const it of items) {
    if (used + it.w > W - 40 && rows[rows.length - 1].length > 0) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(it);
    used += it.w;
  }
  const legendRows = items.length === 0 ? 0 : rows.length;
  const top = 34 + legendRows * 18 + 10;
  const left = 72;
  const right = hasRight ? 72 : 24;
  const bottom = 50;
  const [x0, x1, y0, y1] = [left, W - right, H - bottom, top];

  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ysOf = (axis: 'left' | 'right', log: boolean) =>
    o.series
      .filter((s) => (s.axis ?? 'left') === axis)
      .flatMap((s) => s.points.map((p) => p[1]).filter((y) => drawable(y, log)));
  const range = (v: number[], dflt: [number, number]): [number, number] =>
    v.length === 0 ? dflt : [v.reduce((a, b) => Math.min(a, b)), v.reduce((a, b) => Math.max(a, b))];
  const [xlo, xhi] = range(xs, [0, 1]);
  const xScale = linearScale(xlo, xhi, x0, x1);
  const leftYs = ysOf('left', logY);
  const yScale = logY ? logScale(...range(leftYs, [0.1, 1]), y0, y1) : linearScale(...range(leftYs, [0, 1]), y0, y1);
  const rightScale = hasRight ? linearScale(...range(ysOf('right', false), [0, 1]), y0, y1) : null;

  // A long title is set smaller, down to 10px, and only then cut (bold glyphs are ~10% wider).
  const perPx = (CHAR_WIDTH / 12) * 1.1;
  const titleSize = Math.max(10, Math.min(15, Math.floor((W - 20) / (Math.max(1, o.title.length) * perPx))));
  const fits = Math.floor((W - 20) / (titleSize * perPx));
  const title = o.title.length <= fits ? o.title : `${o.title.slice(0, fits - 1)}…`;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${escape(FONT)}" font-size="12">`,
    `<title>${escape(o.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${px(W / 2)}" y="22" text-anchor="middle" font-size="${titleSize}" font-weight="600">${escape(title)}</text>`,
  );
  rows.forEach((row, r) => {
    const total = row.reduce((a, it) => a + it.w, 0);
    let x = (W - total) / 2;
    const y = 42 + r * 18;
    for (const it of row) {
      const color = COLORS[it.i % COLORS.length];
      const dash = dashOf(it.i, it.s.axis === 'right');
      out.push(
        `<line x1="${px(x)}" y1="${y - 4}" x2="${px(x + 24)}" y2="${y - 4}" stroke="${color}" stroke-width="2.5"${dash}/>`,
        `<text x="${px(x + 30)}" y="${y}">${escape(it.s.name)}</text>`,
      );
      x += it.w;
    }
  });

  // Grid and tick labels.
  for (const t of xScale.ticks) {
    const x = px(xScale.at(t));
    out.push(
      `<line x1="${x}" y1="${y1}" x2="${x}" y2="${y0}" stroke="#e5e5e5"/>`,
      `<text x="${x}" y="${y0 + 18}" text-anchor="middle" fill="#333333">${escape(xScale.label(t))}</text>`,
    );
  }
  for (const t of yScale.ticks) {
    const y = px(yScale.at(t));
    out.push(
      `<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${x0 - 8}" y="${px(yScale.at(t) + 4)}" text-anchor="end" fill="#333333">${escape(yScale.label(t))}</text>`,
    );
  }
  if (rightScale)
    for (const t of rightScale.ticks)
      out.push(
        `<text x="${x1 + 8}" y="${px(rightScale.at(t) + 4)}" fill="#333333">${escape(rightScale.label(t))}</text>`,
      );
  out.push(
    `<path d="M${x0} ${y1}V${y0}H${x1}${rightScale ? `V${y1}` : ''}" fill="none" stroke="#333333"/>`,
    `<text x="${px((x0 + x1) / 2)}" y="${H - 12}" text-anchor="middle">${escape(o.xLabel)}</text>`,
    `<text transform="translate(18 ${px((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${escape(o.yLabel)}</text>`,
  );
  if (rightScale && o.y2Label !== undefined)
    out.push(
      `<text transform="translate(${W - 14} ${px((y0 + y1) / 2)}) rotate(90)" text-anchor="middle">${escape(o.y2Label)}</text>`,
    );

  // Series, with a gap wherever a value cannot be drawn.
  o.series.forEach((s, i) => {
    const onRight = s.axis === 'right';
    const scale = onRight ? (rightScale as Scale) : yScale;
    const log = !onRight && logY;
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!drawable(y, log)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${px(xScale.at(x))} ${px(scale.at(y))}`;
      pen = true;
    }
    if (d === '') return;
    const dash = dashOf(i, onRight);
    out.push(
      `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" stroke-linejoin="round"${dash}/>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
