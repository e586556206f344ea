/**
 * The "Optimizer paths" tab: a 2-D function, several optimizers with their options (from the
 * specs) and an optional schedule; Run animates their paths over the contour plot beside the
 * loss curves, and a table gives where each run is (with full-precision data attributes the
 * browser test reads).
 */
import { lineChart, type BackendName, type DType } from 'downhill';
import { colorOf, ContourPlot } from './contour';
import { FUNCTIONS, functionById, type Point } from './functions';
import {
  describeDomain,
  OPTIMIZERS,
  LEFT_OUT,
  optimizerByName,
  startValue,
  specDefault,
  type HParam,
  type OptionValue,
} from './optimizers';
import { createRuns, type RaceConfig, type Run, type RunConfig } from './race';
import { SCHEDULES, scheduleById } from './schedules';
import { byId, checkbox, el, field, numberInput, readNumber, select, slider, uid } from './ui';

/** The runs the page opens with. */
const FIRST_RUNS = ['SGD', 'Adam', 'RMSprop', 'LBFGS'];
/** Options shown outside the "more options" fold. */
const MAIN_OPTIONS = new Set(['lr', 'momentum']);

interface Card {
  name: string;
  box: HTMLFieldSetElement;
  legend: HTMLLegendElement;
  remove: HTMLButtonElement;
  error: HTMLParagraphElement;
  inputs: Map<string, { h: HParam; input: HTMLInputElement | HTMLSelectElement }>;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** lr and every option that differs from the spec's default: what tells two runs apart. */
function summarize(run: RunConfig): string {
  const entry = optimizerByName(run.optimizer);
  return entry.hparams
    .filter((h) => h.name === 'lr' || run.options[h.name] !== specDefault(h))
    .map((h) => `${h.name} ${String(run.options[h.name])}`)
    .join(', ');
}

export function initPaths(backend: BackendName): { shown(): void } {
  const form = byId<HTMLFormElement>('paths-controls');
  const canvas = byId<HTMLCanvasElement>('contour');
  const status = byId<HTMLParagraphElement>('paths-status');
  const chart = byId<HTMLDivElement>('loss-chart');
  const tbody = byId<HTMLTableElement>('results').tBodies[0];
  const plot = new ContourPlot(canvas);

  // --- Function ---------------------------------------------------------------------------
  const fnSelect = select(
    FUNCTIONS.map((f) => ({ value: f.id, label: f.label })),
    'rosenbrock',
  );
  fnSelect.id = 'fn';
  const fnAbout = el('p', { class: 'hint', id: uid('about') });
  const fnParams = el('div', { class: 'fn-params' });
  let fnSliders: Map<string, HTMLInputElement> = new Map();
  const fnSet = el(
    'fieldset',
    {},
    el('legend', { text: 'Function' }),
    field('test function', fnSelect),
    fnAbout,
    fnParams,
  );

  // --- Start, steps, speed, precision -------------------------------------------------------
  const x0 = numberInput(0, { step: 'any' });
  x0.id = 'start-x';
  const y0 = numberInput(0, { step: 'any' });
  y0.id = 'start-y';
  const steps = numberInput(500, { min: 1, max: 20000, step: 1 });
  steps.id = 'steps';
  const speed = slider('speed (steps per frame)', { min: 1, max: 100, step: 1, value: 4, id: 'speed' });
  const dtype = select(
    [
      { value: 'float32', label: 'float32 (the library default)' },
      { value: 'float64', label: 'float64' },
    ],
    'float32',
  );
  dtype.id = 'dtype';
  const runSet = el(
    'fieldset',
    {},
    el('legend', { text: 'Start and steps' }),
    el('div', { class: 'pair' }, field('start x', x0), field('start y', y0)),
    el('p', { class: 'hint', text: 'Or click (tap) the plot to move the start.' }),
    field('steps', steps),
    speed.box,
    field('parameter precision', dtype),
  );

  // --- Schedule ------------------------------------------------------------------------------
  const schedSelect = select(
    SCHEDULES.map((s) => ({ value: s.id, label: s.label })),
    'none',
  );
  schedSelect.id = 'schedule';
  const schedParams = el('div');
  let schedInputs = new Map<string, HTMLInputElement>();
  const schedSet = el(
    'fieldset',
    {},
    el('legend', { text: 'Learning-rate schedule' }),
    field('schedule (applied to every run’s lr)', schedSelect),
    schedParams,
  );
  const showSchedule = () => {
    const s = scheduleById(schedSelect.value);
    schedParams.replaceChildren();
    schedInputs = new Map();
    for (const p of s.params) {
      const input = numberInput(p.default, { min: p.min, max: p.max, step: p.step });
      input.id = `schedule-${p.name}`;
      schedInputs.set(p.name, input);
      schedParams.append(field(p.label, input));
    }
    if (s.fn) schedParams.append(el('p', { class: 'hint', text: `downhill’s ${s.fn}()` }));
  };
  schedSelect.addEventListener('change', showSchedule);
  showSchedule();

  // --- Optimizers ----------------------------------------------------------------------------
  const cards: Card[] = [];
  const cardList = el('div', { class: 'cards', id: 'runs' });
  const addSelect = select(
    OPTIMIZERS.map((o) => ({ value: o.name, label: o.name })),
    'Adam',
  );
  addSelect.id = 'add-optimizer';
  const addButton = el('button', { type: 'button', id: 'add-run', text: 'Add' });
  const leftOut = Object.entries(LEFT_OUT)
    .map(([n, why]) => `${n} (${why})`)
    .join('; ');
  const optSet = el(
    'fieldset',
    {},
    el('legend', { text: 'Optimizers' }),
    cardList,
    el('div', { class: 'add-row' }, field('optimizer to add', addSelect), addButton),
    el('p', {
      class: 'hint',
      text: `Every optimizer of downhill that moves a single point, with its options from the core’s specs; not here: ${leftOut}. “maximize” is left out: it would climb.`,
    }),
  );

  const renumber = () => {
    cards.forEach((c, i) => {
      c.legend.replaceChildren(
        el('span', { class: 'swatch', style: `background:${colorOf(i)}`, 'aria-hidden': 'true' }),
        `${i + 1}. ${c.name}`,
      );
      c.remove.setAttribute('aria-label', `Remove run ${i + 1} (${c.name})`);
      c.box.dataset.run = String(i);
    });
  };

  const controlFor = (name: string, h: HParam): { box: HTMLElement; input: HTMLInputElement | HTMLSelectElement } => {
    const v = startValue(name, h);
    const hint = `${h.doc}${h.domain ? ` (${describeDomain(h)})` : ''} Default ${String(specDefault(h))}.`;
    if (h.kind === 'bool') {
      const c = checkbox(h.name, v === true, hint);
      c.input.dataset.option = h.name;
      return c;
    }
    if (h.kind === 'choice') {
      const s = select(
        (h.choices ?? []).map((c) => ({ value: c, label: c })),
        String(v),
      );
      s.dataset.option = h.name;
      return { box: field(h.name, s, hint), input: s };
    }
    const lo = h.domain ? Number(h.domain.lo) : undefined;
    const hi = h.domain ? Number(h.domain.hi) : undefined;
    const input = numberInput(typeof v === 'number' ? v : null, {
      min: h.domain && !h.domain.loOpen ? lo : undefined,
      max: h.domain && !h.domain.hiOpen ? hi : undefined,
      step: h.kind === 'int' ? 1 : 'any',
    });
    if (h.domain?.nullable) input.placeholder = 'none';
    input.dataset.option = h.name;
    return { box: field(h.name, input, hint), input };
  };

  const addCard = (name: string) => {
    const entry = optimizerByName(name);
    const legend = el('legend');
    const remove = el('button', { type: 'button', class: 'remove', text: 'Remove' });
    const error = el('p', { class: 'error', role: 'alert', hidden: true });
    const inputs: Card['inputs'] = new Map();
    const main = el('div', { class: 'options' });
    const more = el('div', { class: 'options' });
    for (const h of entry.hparams) {
      const c = controlFor(name, h);
      inputs.set(h.name, { h, input: c.input });
      (MAIN_OPTIONS.has(h.name) ? main : more).append(c.box);
    }
    const box = el('fieldset', { class: 'card', 'data-optimizer': name }, legend, main);
    if (more.childElementCount > 0) {
      box.append(el('details', {}, el('summary', { text: `more options (${more.childElementCount})` }), more));
    }
    box.append(el('p', { class: 'hint', text: entry.spec.summary }), error, remove);
    const card: Card = { name, box, legend, remove, error, inputs };
    remove.addEventListener('click', () => {
      const i = cards.indexOf(card);
      cards.splice(i, 1);
      box.remove();
      renumber();
      (cards[Math.min(i, cards.length - 1)]?.remove ?? addSelect).focus();
    });
    cards.push(card);
    cardList.append(box);
    renumber();
  };
  addButton.addEventListener('click', () => {
    addCard(addSelect.value);
    const last = cards[cards.length - 1];
    (last.inputs.get('lr')?.input ?? last.remove).focus();
  });
  for (const n of FIRST_RUNS) if (OPTIMIZERS.some((o) => o.name === n)) addCard(n);

  // --- Buttons -------------------------------------------------------------------------------
  const runButton = el('button', { type: 'submit', id: 'run', class: 'primary', text: 'Run' });
  const pauseButton = el('button', { type: 'button', id: 'pause', text: 'Pause', disabled: true });
  const stepButton = el('button', { type: 'button', id: 'step', text: 'Step' });
  const resetButton = el('button', { type: 'button', id: 'reset', text: 'Reset' });
  form.append(fnSet, runSet, schedSet, optSet);
  // The buttons sit above the plot (on a phone: at the top of the page), outside the form they submit.
  runButton.setAttribute('form', form.id);
  byId<HTMLDivElement>('paths-buttons').append(runButton, pauseButton, stepButton, resetButton);

  // --- State and drawing ---------------------------------------------------------------------
  let runs: Run[] = [];
  let race: RaceConfig | null = null;
  let playing = false;
  let frame = 0;
  let lastChart = 0;

  const settings = () => Object.fromEntries([...fnSliders].map(([k, input]) => [k, Number(input.value)]));
  const startPoint = (): Point => [Number(x0.value), Number(y0.value)];

  const showFunction = (resetStart: boolean) => {
    const fn = functionById(fnSelect.value);
    fnAbout.textContent = fn.about;
    if (resetStart) {
      fnParams.replaceChildren();
      fnSliders = new Map();
      for (const p of fn.params) {
        const s = slider(p.label, {
          min: p.min,
          max: p.max,
          step: p.step,
          value: p.default,
          unit: p.unit,
          id: `fn-${p.name}`,
        });
        s.input.addEventListener('input', () => showFunction(false));
        fnSliders.set(p.name, s.input);
        fnParams.append(s.box);
      }
      x0.value = String(fn.start[0]);
      y0.value = String(fn.start[1]);
    }
    plot.setFunction(fn, settings());
    clearRuns();
    draw(true);
  };

  const readRun = (card: Card, i: number): RunConfig => {
    const options: Record<string, OptionValue> = {};
    for (const [name, { h, input }] of card.inputs) {
      if (h.kind === 'bool') options[name] = (input as HTMLInputElement).checked;
      else if (h.kind === 'choice') options[name] = input.value;
      else options[name] = readNumber(input as HTMLInputElement);
    }
    return { optimizer: card.name, options, label: `${i + 1}. ${card.name}` };
  };

  const readRace = (): RaceConfig => {
    const s = scheduleById(schedSelect.value);
    const n = Math.floor(Number(steps.value));
    return {
      fn: functionById(fnSelect.value),
      settings: settings(),
      start: startPoint(),
      steps: Number.isFinite(n) && n >= 1 ? n : 1,
      backend,
      dtype: dtype.value as DType,
      schedule: s,
      scheduleParams: Object.fromEntries([...schedInputs].map(([k, input]) => [k, Number(input.value)])),
    };
  };

  function clearRuns(): void {
    playing = false;
    cancelAnimationFrame(frame);
    for (const r of runs) r.dispose();
    runs = [];
    race = null;
    for (const c of cards) c.error.hidden = true;
    setState('idle', 'Pick a function and optimizers, then press Run.');
  }

  function setState(state: 'idle' | 'running' | 'paused' | 'done', text: string): void {
    status.dataset.state = state;
    status.textContent = text;
    pauseButton.disabled = state === 'idle' || state === 'done';
    pauseButton.textContent = state === 'paused' ? 'Resume' : 'Pause';
  }

  function renderChart(): void {
    const fn = functionById(fnSelect.value);
    const width = Math.max(280, Math.min(760, Math.floor(chart.clientWidth || 600)));
    chart.innerHTML = lineChart({
      title: `${fn.label}: f − f* by step`,
      xLabel: 'step',
      yLabel: 'f − f*',
      logY: true,
      width,
      height: Math.max(220, Math.round(width * 0.55)),
      series: runs.map((r) => ({
        name: r.config.label,
        points: r.fs.map((f, k) => [k, f - fn.fmin] as [number, number]),
      })),
    });
  }

  function renderTable(): void {
    tbody.replaceChildren(
      ...runs.map((r, i) => {
        const last = r.xs.length - 1;
        const x = last >= 0 ? r.xs[last] : NaN;
        const y = last >= 0 ? r.ys[last] : NaN;
        const f = last >= 0 ? r.fs[last] : NaN;
        const summary = summarize(r.config);
        const tr = el(
          'tr',
          {
            'data-run': i,
            'data-optimizer': r.config.optimizer,
            'data-steps': r.steps,
            'data-x': String(x),
            'data-y': String(y),
            'data-f': String(f),
            'data-status': r.status,
            'data-options': JSON.stringify(r.config.options),
          },
          el(
            'th',
            { scope: 'row' },
            el('span', { class: 'swatch', style: `background:${colorOf(i)}`, 'aria-hidden': 'true' }),
            r.config.label,
            el('small', { class: 'summary', text: summary }),
          ),
          el('td', { text: String(r.steps) }),
          el('td', { text: fmt(x) }),
          el('td', { text: fmt(y) }),
          el('td', { text: fmt(f) }),
          el('td', { text: r.status === 'failed' || r.status === 'diverged' ? `${r.status}: ${r.message}` : r.status }),
        );
        return tr;
      }),
    );
  }

  function draw(chartNow: boolean): void {
    plot.draw(
      runs.map((r, i) => ({ xs: r.xs, ys: r.ys, index: i })),
      race?.start ?? startPoint(),
    );
    renderTable();
    const now = performance.now();
    if (chartNow || now - lastChart > 150) {
      renderChart();
      lastChart = now;
    }
  }

  function describe(): string {
    const active = runs.filter((r) => r.status !== 'failed');
    const most = Math.max(0, ...runs.map((r) => r.steps));
    const best = active
      .filter((r) => r.fs.length > 0 && Number.isFinite(r.fs[r.fs.length - 1]))
      .sort((a, b) => a.fs[a.fs.length - 1] - b.fs[b.fs.length - 1])[0];
    const lead = best ? ` Lowest f: ${best.config.label} (${fmt(best.fs[best.fs.length - 1])}).` : '';
    return `Step ${most} of ${race?.steps ?? 0} on ${backend === 'wasm' ? 'WebAssembly' : 'pure TypeScript'}.${lead}`;
  }

  function tick(): void {
    if (!playing) return;
    const k = Math.max(1, Number(speed.input.value));
    for (let i = 0; i < k; i++) for (const r of runs) r.step();
    const finished = runs.every((r) => r.status !== 'running');
    draw(finished);
    if (finished) {
      playing = false;
      setState('done', `Done. ${describe()}`);
      return;
    }
    setState('running', describe());
    frame = requestAnimationFrame(tick);
  }

  async function prepare(): Promise<boolean> {
    clearRuns();
    race = readRace();
    runs = await createRuns(race, cards.map(readRun));
    runs.forEach((r, i) => {
      const c = cards[i];
      c.error.hidden = r.status !== 'failed';
      c.error.textContent = r.status === 'failed' ? r.message : '';
    });
    if (runs.length === 0) {
      setState('idle', 'Add at least one optimizer.');
      return false;
    }
    return true;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void prepare().then((ok) => {
      if (!ok) return;
      playing = true;
      setState('running', describe());
      frame = requestAnimationFrame(tick);
    });
  });
  pauseButton.addEventListener('click', () => {
    if (playing) {
      playing = false;
      cancelAnimationFrame(frame);
      setState('paused', `Paused. ${describe()}`);
    } else if (runs.some((r) => r.status === 'running')) {
      playing = true;
      setState('running', describe());
      frame = requestAnimationFrame(tick);
    }
  });
  stepButton.addEventListener('click', () => {
    const go = () => {
      playing = false;
      cancelAnimationFrame(frame);
      for (const r of runs) r.step();
      draw(true);
      const finished = runs.every((r) => r.status !== 'running');
      setState(finished ? 'done' : 'paused', `${finished ? 'Done' : 'Paused'}. ${describe()}`);
    };
    if (race === null) void prepare().then((ok) => ok && go());
    else go();
  });
  resetButton.addEventListener('click', () => {
    clearRuns();
    draw(true);
  });
  fnSelect.addEventListener('change', () => showFunction(true));
  for (const input of [x0, y0]) {
    input.addEventListener('change', () => {
      clearRuns();
      draw(true);
    });
  }
  canvas.addEventListener('click', (e) => {
    const r = canvas.getBoundingClientRect();
    const p = plot.toData(e.clientX - r.left, e.clientY - r.top);
    if (!p) return;
    x0.value = String(+p[0].toFixed(3));
    y0.value = String(+p[1].toFixed(3));
    clearRuns();
    draw(true);
  });

  const figure = canvas.parentElement as HTMLElement;
  const fit = () => {
    const w = Math.min(figure.clientWidth, 620);
    if (w <= 0) return;
    plot.resize(w);
    draw(true);
  };
  new ResizeObserver(fit).observe(figure);
  showFunction(true);

  return {
    shown() {
      fit();
    },
  };
}
