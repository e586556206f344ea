/**
 * The 2-D test functions of the paths tab. They are the user's model in this page, not library
 * math: plain double-precision TypeScript, value and gradient written out by hand. The browser
 * test imports this file to drive the same run in Node, so both sides feed the optimizers the
 * same gradients.
 */

export type Point = readonly [number, number];

/** A function-specific setting (a slider in the page). */
export interface FunctionParam {
  name: string;
  label: string;
  min: number;
  max: number;
  step: number;
  default: number;
  /** Shown after the value. */
  unit?: string;
}

export interface TestFunction {
  id: string;
  label: string;
  /** One sentence: the formula and what the function shows. */
  about: string;
  params: readonly FunctionParam[];
  /** f(x, y) with the settings `p`. */
  value(x: number, y: number, p: Readonly<Record<string, number>>): number;
  /** ∇f(x, y). */
  grad(x: number, y: number, p: Readonly<Record<string, number>>): [number, number];
  /** The plotted square: [xmin, xmax, ymin, ymax]. */
  view: readonly [number, number, number, number];
  start: Point;
  /** The global minima (marked on the plot) and the minimum value f*. */
  minima: readonly Point[];
  fmin: number;
  /** Gaussian noise of this standard deviation is added to each gradient component (stochastic gradients). */
  noisy?: boolean;
}

const DEG = Math.PI / 180;

/** The rotated bowl: u, v are x, y turned by `angle`; f = (u² + κ·v²) / 2. */
function bowlUV(x: number, y: number, p: Readonly<Record<string, number>>): [number, number, number, number] {
  const c = Math.cos(p.angle * DEG);
  const s = Math.sin(p.angle * DEG);
  return [c * x + s * y, -s * x + c * y, c, s];
}

export const FUNCTIONS: readonly TestFunction[] = [
  {
    id: 'rosenbrock',
    label: 'Rosenbrock',
    about: 'f = (a − x)² + b·(y − x²)²: a curved, flat-bottomed valley; easy to reach, slow to follow to (a, a²).',
    params: [
      { name: 'a', label: 'a', min: 0.5, max: 2, step: 0.1, default: 1 },
      { name: 'b', label: 'b (valley steepness)', min: 1, max: 200, step: 1, default: 100 },
    ],
    value: (x, y, p) => (p.a - x) ** 2 + p.b * (y - x * x) ** 2,
    grad: (x, y, p) => [-2 * (p.a - x) - 4 * p.b * x * (y - x * x), 2 * p.b * (y - x * x)],
    view: [-2, 2, -1, 3],
    start: [-1.5, 2.5],
    minima: [[1, 1]],
    fmin: 0,
  },
  {
    id: 'bowl',
    label: 'Quadratic bowl',
    about:
      'f = (u² + κ·v²) / 2 with (u, v) the point turned by an angle: the condition number κ makes plain gradient descent zig-zag.',
    params: [
      { name: 'kappa', label: 'conditioning κ', min: 1, max: 100, step: 1, default: 10 },
      { name: 'angle', label: 'rotation', min: 0, max: 90, step: 5, default: 30, unit: '°' },
    ],
    value: (x, y, p) => {
      const [u, v] = bowlUV(x, y, p);
      return (u * u + p.kappa * v * v) / 2;
    },
    grad: (x, y, p) => {
      const [u, v, c, s] = bowlUV(x, y, p);
      const gu = u;
      const gv = p.kappa * v;
      return [c * gu - s * gv, s * gu + c * gv];
    },
    view: [-3, 3, -3, 3],
    start: [-2.5, 2],
    minima: [[0, 0]],
    fmin: 0,
  },
  {
    id: 'himmelblau',
    label: 'Himmelblau',
    about:
      'f = (x² + y − 11)² + (x + y² − 7)²: four minima of the same height; which one is reached depends on the path.',
    params: [],
    value: (x, y) => (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    grad: (x, y) => {
      const a = x * x + y - 11;
      const b = x + y * y - 7;
      return [4 * x * a + 2 * b, 2 * a + 4 * y * b];
    },
    view: [-5, 5, -5, 5],
    start: [-0.5, -0.5],
    minima: [
      [3, 2],
      [-2.805118, 3.131312],
      [-3.77931, -3.283186],
      [3.584428, -1.848126],
    ],
    fmin: 0,
  },
  {
    id: 'beale',
    label: 'Beale',
    about:
      'f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²: flat plateaus and steep walls; the minimum is at (3, 0.5).',
    params: [],
    value: (x, y) => (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2,
    grad: (x, y) => {
      const a = 1.5 - x + x * y;
      const b = 2.25 - x + x * y * y;
      const c = 2.625 - x + x * y * y * y;
      return [
        2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y * y * y - 1),
        2 * a * x + 4 * b * x * y + 6 * c * x * y * y,
      ];
    },
    view: [-4.5, 4.5, -4.5, 4.5],
    start: [-1, -1],
    minima: [[3, 0.5]],
    fmin: 0,
  },
  {
    id: 'saddle',
    label: 'Saddle',
    about:
      'f = x² − y² + y⁴/4: a saddle point at the origin between two minima at y = ±√2; starting on the ridge, who escapes, and how fast?',
    params: [],
    value: (x, y) => x * x - y * y + (y * y * y * y) / 4,
    grad: (x, y) => [2 * x, -2 * y + y * y * y],
    view: [-2.5, 2.5, -2.5, 2.5],
    start: [-2, 0.01],
    minima: [
      [0, Math.SQRT2],
      [0, -Math.SQRT2],
    ],
    fmin: -1,
  },
  {
    id: 'noisy',
    label: 'Noisy bowl',
    about:
      'f = (x² + 4y²) / 2, but every gradient has seeded Gaussian noise added (a stochastic gradient): without a decaying lr, SGD keeps jittering.',
    params: [
      { name: 'noise', label: 'gradient noise σ', min: 0, max: 5, step: 0.1, default: 1 },
      { name: 'seed', label: 'noise seed', min: 1, max: 100, step: 1, default: 1 },
    ],
    value: (x, y) => (x * x + 4 * y * y) / 2,
    grad: (x, y) => [x, 4 * y],
    view: [-3, 3, -3, 3],
    start: [-2.5, 2],
    minima: [[0, 0]],
    fmin: 0,
    noisy: true,
  },
];

export function functionById(id: string): TestFunction {
  const f = FUNCTIONS.find((g) => g.id === id);
  if (!f) throw new RangeError(`function: no test function ${JSON.stringify(id)}`);
  return f;
}

/** The function's settings with every missing one at its default. */
export function settingsOf(f: TestFunction, given: Readonly<Record<string, number>> = {}): Record<string, number> {
  return Object.fromEntries(f.params.map((p) => [p.name, given[p.name] ?? p.default]));
}
