/** The SVG line chart used for schedule plots and training reports. */
import { describe, expect, it } from 'vitest';
import { lineChart, type LineChartOptions } from '../ts/plot/svg.js';

const base: LineChartOptions = {
  title: 'loss & <accuracy>',
  xLabel: 'epoch',
  yLabel: 'loss',
  series: [
    {
      name: 'train',
      points: [
        [0, 0],
        [10, 1],
      ],
    },
  ],
};

/** Numbers of the `d` attribute of the nth path. */
function pathNumbers(svg: string, n: number): number[] {
  const d = [...svg.matchAll(/<path d="([^"]*)"/g)][n][1];
  return (d.match(/-?[\d.]+/g) ?? []).map(Number);
}

describe('lineChart', () => {
  it('is one deterministic SVG document with escaped text', () => {
    const svg = lineChart(base);
    expect(svg).toBe(lineChart(base));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="400"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>loss &#38; &#60;accuracy&#62;</title>');
    expect(svg).not.toMatch(/<accuracy>/);
  });

  it('maps the data range onto the axes', () => {
    const svg = lineChart(base);
    // The axis path runs from the top-left corner down to the origin and right: M x0 y1 V y0 H x1.
    const [x0, y1, y0, x1] = pathNumbers(svg, 0);
    expect(pathNumbers(svg, 1)).toEqual([x0, y0, x1, y1]);
    for (const t of ['0', '2', '4', '6', '8', '10', '0.2', '1.0']) expect(svg).toContain(`>${t}</text>`);
  });

  it('draws a legend entry per series and a right axis only when a series uses it', () => {
    const two = lineChart({
      ...base,
      y2Label: 'accuracy',
      series: [
        ...base.series,
        {
          name: 'val acc',
          points: [
            [0, 0.5],
            [10, 0.9],
          ],
          axis: 'right',
        },
      ],
    });
    expect(two).toContain('>train</text>');
    expect(two).toContain('>val acc</text>');
    expect(two).toContain('rotate(90)');
    expect(two).toContain('stroke-dasharray');
    expect(lineChart(base)).not.toContain('rotate(90)');
  });

  it('leaves gaps where a value cannot be drawn', () => {
    const svg = lineChart({
      ...base,
      logY: true,
      series: [
        {
          name: 'loss',
          points: [
            [0, 1],
            [1, 0.1],
            [2, NaN],
            [3, 0.01],
            [4, 0],
            [5, Infinity],
            [6, 0.001],
          ],
        },
      ],
    });
    const d = [...svg.matchAll(/<path d="([^"]*)"/g)][1][1];
    expect(d.match(/M/g)).toHaveLength(3);
    for (const t of ['0.001', '0.01', '0.1', '1']) expect(svg).toContain(`>${t}</text>`);
  });

  it('sets a long title smaller rather than past the edge', () => {
    const svg = lineChart({ ...base, title: 'x'.repeat(300) });
    const size = Number(/font-size="(\d+)" font-weight="600">(x+)…?</.exec(svg)?.[1]);
    expect(size).toBe(10);
    expect(svg).toContain('…</text>');
  });

  const bad: [string, unknown, ErrorConstructor, RegExp][] = [
    ['no options', undefined, TypeError, /^options: /],
    ['title', { ...base, title: 3 }, TypeError, /^options\.title: /],
    ['series', { ...base, series: 'x' }, TypeError, /^options\.series: /],
    ['series name', { ...base, series: [{ points: [] }] }, TypeError, /^options\.series\[0\]\.name: /],
    [
      'point',
      { ...base, series: [{ name: 'a', points: [[0, 1], [1]] }] },
      TypeError,
      /^options\.series\[0\]\.points\[1\]: /,
    ],
    ['x', { ...base, series: [{ name: 'a', points: [[NaN, 1]] }] }, RangeError, /^options\.series\[0\]\.points\[0\]: /],
    [
      'axis',
      { ...base, series: [{ name: 'a', points: [], axis: 'top' }] },
      RangeError,
      /^options\.series\[0\]\.axis: /,
    ],
    ['width', { ...base, width: 10 }, RangeError, /^options\.width: /],
  ];
  for (const [what, o, cls, msg] of bad)
    it(`rejects a bad ${what}`, () => {
      expect(() => lineChart(o as LineChartOptions)).toThrow(cls);
      expect(() => lineChart(o as LineChartOptions)).toThrow(msg);
    });
});
