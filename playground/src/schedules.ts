/**
 * The learning-rate schedules the paths tab offers: the library's schedule functions, applied to
 * every optimizer's own lr (each run's lr option becomes `schedule(step)`).
 */
import { cosineAnnealing, exponential, oneCycle, stepSchedule, warmup, type Schedule } from 'downhill';

export interface ScheduleParam {
  name: string;
  label: string;
  default: number;
  min: number;
  max?: number;
  step: number | 'any';
}

export interface ScheduleChoice {
  id: string;
  label: string;
  /** The library function, for the label of the control. */
  fn: string;
  params: readonly ScheduleParam[];
  /** The schedule for a run whose lr is `lr`, over `steps` steps; `null` means a constant lr. */
  build(lr: number, steps: number, p: Readonly<Record<string, number>>): Schedule | null;
}

export const SCHEDULES: readonly ScheduleChoice[] = [
  { id: 'none', label: 'constant lr', fn: '', params: [], build: () => null },
  {
    id: 'cosine',
    label: 'cosine annealing to 0 over the run',
    fn: 'cosineAnnealing',
    params: [],
    build: (lr, steps) => cosineAnnealing({ lr, tMax: steps }),
  },
  {
    id: 'warmup-cosine',
    label: 'linear warmup, then cosine',
    fn: 'warmup + cosineAnnealing',
    params: [{ name: 'warmupSteps', label: 'warmup steps', default: 50, min: 1, step: 1 }],
    build: (lr, steps, p) =>
      warmup({
        lr,
        warmupSteps: p.warmupSteps,
        then: cosineAnnealing({ lr, tMax: Math.max(1, steps - p.warmupSteps) }),
      }),
  },
  {
    id: 'step',
    label: 'step decay',
    fn: 'stepSchedule',
    params: [
      { name: 'stepSize', label: 'every (steps)', default: 100, min: 1, step: 1 },
      { name: 'gamma', label: 'multiply by', default: 0.5, min: 0, max: 1, step: 'any' },
    ],
    build: (lr, _steps, p) => stepSchedule({ lr, stepSize: p.stepSize, gamma: p.gamma }),
  },
  {
    id: 'exponential',
    label: 'exponential decay',
    fn: 'exponential',
    params: [{ name: 'gamma', label: 'factor per step', default: 0.995, min: 0, max: 1, step: 'any' }],
    build: (lr, _steps, p) => exponential({ lr, gamma: p.gamma }),
  },
  {
    id: 'one-cycle',
    label: 'one-cycle (peak = lr)',
    fn: 'oneCycle',
    params: [{ name: 'pctStart', label: 'rising fraction', default: 0.3, min: 0, max: 1, step: 'any' }],
    build: (lr, steps, p) => oneCycle({ maxLr: lr, totalSteps: steps, pctStart: p.pctStart }),
  },
];

export function scheduleById(id: string): ScheduleChoice {
  const s = SCHEDULES.find((c) => c.id === id);
  if (!s) throw new RangeError(`schedule: no schedule ${JSON.stringify(id)}`);
  return s;
}
