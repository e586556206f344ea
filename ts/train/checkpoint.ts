/**
 * Checkpoints: one folder per save, readable by PyTorch (see python/load_downhill.py).
 *
 * ```
 * model.safetensors   the model's tensors (`layer{i}.weight` [out, in], `layer{i}.bias` [out],
 *                     PyTorch's nn.Linear layout) in arena order; __metadata__: format "pt",
 *                     "downhill.spec" (the ModelSpec as JSON)
 * optimizer.json      JSON.stringify(optimizer.stateDict()): PyTorch's keys (state[i].exp_avg, step,
 *                     param_groups[g].lr, betas, ...), tensors as exact base64 (ts/state.ts)
 * scheduler.json      the scheduler's stateDict() (PyTorch's keys: last_epoch, base_lrs, _last_lr, ...)
 * best.safetensors    the best weights early stopping holds (only while it holds some)
 * checkpoint.json     what ties them together: format, version, the model spec, dtype, backend,
 *                     tensor names, the optimizer's class and its positional param names (the
 *                     order of optimizer.json's state indices), the scheduler's class, and the
 *                     fit loop's position (epoch, step, seed, early-stopping counters, history)
 * ```
 *
 * Restoring checks the whole checkpoint against the model, optimizer and scheduler first (same
 * architecture, tensor names, shapes and dtype; same optimizer and scheduler classes) and writes
 * only when everything fits; if a write still fails, what was written is rolled back.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadOptimizer, optimizerName, type TrainOptimizer } from './fit.js';
import type { FloatArray } from '../backend/types.js';
import type { StateDict } from '../optim/optimizer.js';
import { fromJSON } from '../state.js';
import { CheckpointError } from './errors.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { FitModel, ModelSpecLike } from './types.js';

/** `checkpoint.json`'s `format`: what identifies a downhill checkpoint folder. */
export const CHECKPOINT_FORMAT = 'downhill-checkpoint';
/** `checkpoint.json`'s `version`: the layout this build writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** A scheduler object that can be saved: ts/schedule's LRScheduler subclasses and ReduceLROnPlateau. */
export interface SavableScheduler {
  /** The PyTorch class name, checked when a checkpoint is restored. */
  readonly name: string;
  /** Its state (PyTorch's keys). */
  stateDict(): object;
  /** Restores a state `stateDict()` returned. */
  loadStateDict(state: never): void;
}

/** `checkpoint.json`: what ties a checkpoint folder's files together. */
export interface CheckpointMeta {
  /** Always `CHECKPOINT_FORMAT`. */
  format: typeof CHECKPOINT_FORMAT;
  /** The layout version (`CHECKPOINT_VERSION`). */
  version: number;
  /** The model's architecture. */
  model: ModelSpecLike;
  /** The element type of the saved tensors. */
  dtype: string;
  /** The backend that saved it (restoring on another one is allowed). */
  backend: string;
  /** The tensor names in arena order. */
  tensors: string[];
  /** The optimizer saved in optimizer.json, or `null`. */
  optimizer: {
    /** Its class name. */
    name: string;
    /** Its tensors in positional order: the meaning of optimizer.json's state indices. */
    paramNames: string[];
  } | null;
  /** The scheduler saved in scheduler.json, or `null`. */
  scheduler: {
    /** Its class name. */
    name: string;
  } | null;
  /** The fit loop's position (set by `fit`). */
  fit: unknown;
}

/** A checkpoint folder as read back (`readCheckpoint`). */
export interface Checkpoint {
  /** The folder. */
  dir: string;
  /** Its checkpoint.json. */
  meta: CheckpointMeta;
  /** The model's tensors by name (model.safetensors). */
  tensors: Map<string, FloatArray>;
  /** The optimizer's state dict (optimizer.json), or `null`. */
  optimizer: StateDict | null;
  /** The scheduler's state dict (scheduler.json), or `null`. */
  scheduler: object | null;
  /** The best weights early stopping held (best.safetensors), or `null`. */
  best: Map<string, FloatArray> | null;
}

/** What `saveCheckpoint` writes besides the model. */
export interface SaveOptions {
  /** The optimizer to save in optimizer.json. */
  optimizer?: TrainOptimizer | null;
  /** The scheduler to save in scheduler.json. */
  scheduler?: SavableScheduler | null;
  /** The fit loop's position, stored in checkpoint.json. */
  fit?: unknown;
  /** Weights to store as best.safetensors (a copy of the whole arena). */
  best?: FloatArray | null;
}

function modelTensors(
  model: FitModel,
  values?: FloatArray,
): Record<string, { shape: readonly number[]; data: FloatArray }> {
  const out: Record<string, { shape: readonly number[]; data: FloatArray }> = {};
  for (const t of model.params.tensors) {
    out[t.name] = { shape: t.shape, data: values ? values.subarray(t.offset, t.offset + t.size) : t.data.slice() };
  }
  return out;
}

/**
 * Writes a checkpoint folder. The files are written into a temporary folder beside `dir` that is
 * then renamed, so a crash mid-save leaves the previous checkpoint intact.
 */
export function saveCheckpoint(dir: string, model: FitModel, options: SaveOptions = {}): void {
  const { optimizer, scheduler, fit, best } = options;
  const spec = model.spec;
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: spec,
    dtype: model.params.dtype,
    backend: model.params.backend.name,
    tensors: model.params.names,
    optimizer: optimizer
      ? { name: optimizerName(optimizer), paramNames: optimizer.paramGroups.flatMap((g) => [...g.params]) }
      : null,
    scheduler: scheduler ? { name: scheduler.name } : null,
    fit: fit ?? null,
  };
  const metadata = { format: 'pt', 'downhill.spec': JSON.stringify(spec) };
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'model.safetensors'), encodeSafetensors(modelTensors(model), metadata));
  if (best) writeFileSync(join(tmp, 'best.safetensors'), encodeSafetensors(modelTensors(model, best), metadata));
  if (optimizer) writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(optimizer.stateDict()));
  if (scheduler) writeFileSync(join(tmp, 'scheduler.json'), JSON.stringify(scheduler.stateDict()));
  writeFileSync(join(tmp, 'checkpoint.json'), `${JSON.stringify(meta, null, 1)}\n`);
  // Swap in: the old folder is moved aside first and removed only once the new one is in place.
  const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** `dir/epoch-NNNN` for epoch `epoch`, keeping only the newest `keep` saves when given. */
export function saveEpochCheckpoint(
  dir: string,
  epoch: number,
  keep: number | undefined,
  model: FitModel,
  options: SaveOptions,
): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `epoch-${String(epoch).padStart(4, '0')}`);
  saveCheckpoint(target, model, options);
  if (keep !== undefined) {
    const saved = readdirSync(dir)
      .filter((n) => /^epoch-\d+$/.test(n))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    for (const n of saved.slice(0, Math.max(0, saved.length - keep)))
      rmSync(join(dir, n), { recursive: true, force: true });
  }
  return target;
}

/** The checkpoint folder `path` names: itself, or its newest `epoch-*` sub-folder. */
export function resolveCheckpoint(path: string): string {
  if (!existsSync(path)) throw new CheckpointError(`${path}: no such checkpoint folder`, path);
  if (existsSync(join(path, 'checkpoint.json'))) return path;
  if (statSync(path).isDirectory()) {
    const subs = readdirSync(path)
      .filter((n) => /^epoch-\d+$/.test(n) && existsSync(join(path, n, 'checkpoint.json')))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    if (subs.length > 0) return join(path, subs[subs.length - 1]);
  }
  throw new CheckpointError(`${path}: not a checkpoint (no checkpoint.json, no epoch-* folders)`, path);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read (${(e as Error).message})`, file);
  }
}

function readTensors(file: string): Map<string, FloatArray> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read (${(e as Error).message})`, file);
  }
  const { tensors } = decodeSafetensors(bytes, file);
  const out = new Map<string, FloatArray>();
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F64')
      throw new CheckpointError(`${file}: tensor ${name} is ${t.dtype}, not F32 or F64`, file);
    out.set(name, t.data as FloatArray);
  }
  return out;
}

/** Reads a checkpoint folder (or the newest `epoch-*` in it) without touching any model. */
export function readCheckpoint(path: string): Checkpoint {
  const dir = resolveCheckpoint(path);
  const metaFile = join(dir, 'checkpoint.json');
  const meta = readJson(metaFile) as CheckpointMeta;
  if (!meta || meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${metaFile}: not a downhill checkpoint`, metaFile);
  if (meta.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${metaFile}: format version ${String(meta.version)}, this downhill reads ${CHECKPOINT_VERSION}`,
      metaFile,
    );
  }
  const tensors = readTensors(join(dir, 'model.safetensors'));
  const optFile = join(dir, 'optimizer.json');
  const schedFile = join(dir, 'scheduler.json');
  const bestFile = join(dir, 'best.safetensors');
  return {
    dir,
    meta,
    tensors,
    optimizer: existsSync(optFile) ? (fromJSONFile(optFile) as StateDict) : null,
    scheduler: existsSync(schedFile) ? (readJson(schedFile) as object) : null,
    best: existsSync(bestFile) ? readTensors(bestFile) : null,
  };
}

function fromJSONFile(file: string): unknown {
  try {
    return fromJSON(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read (${(e as Error).message})`, file);
  }
}

function describeSpec(s: ModelSpecLike): string {
  const layers = s.layers.map(
    (l) =>
      `${l.out}${l.activation && l.activation !== 'identity' ? ` ${l.activation}` : ''}${l.dropout ? ` dropout ${l.dropout}` : ''}`,
  );
  return `${s.inputs} → ${layers.join(' → ')}, loss ${s.loss.name}`;
}

function sameSpec(a: ModelSpecLike, b: ModelSpecLike): boolean {
  const norm = (s: ModelSpecLike) =>
    JSON.stringify({
      inputs: s.inputs,
      layers: s.layers.map((l) => ({ out: l.out, activation: l.activation ?? 'identity', dropout: l.dropout ?? 0 })),
      loss: { name: s.loss.name, reduction: s.loss.reduction ?? 'mean', delta: s.loss.delta ?? 1 },
    });
  return norm(a) === norm(b);
}

/**
 * Checks that `ckpt` fits `model` (and `optimizer`, `scheduler` when given): the same
 * architecture, tensors, shapes and dtype, the same optimizer and scheduler classes, the optimizer
 * over the same tensors in the same order. Throws a `CheckpointError` naming the first difference.
 */
export function checkCheckpoint(
  ckpt: Checkpoint,
  model: FitModel,
  optimizer?: TrainOptimizer | null,
  scheduler?: SavableScheduler | null,
): void {
  const { meta, dir } = ckpt;
  const where = join(dir, 'checkpoint.json');
  if (!sameSpec(meta.model, model.spec)) {
    throw new CheckpointError(
      `${dir}: the checkpoint is of another architecture: it holds ${describeSpec(meta.model)}; the model is ${describeSpec(model.spec)}`,
      where,
    );
  }
  if (meta.dtype !== model.params.dtype) {
    throw new CheckpointError(
      `${dir}: the checkpoint holds ${meta.dtype} tensors; the model is ${model.params.dtype}`,
      where,
    );
  }
  const file = join(dir, 'model.safetensors');
  const checkTensors = (tensors: Map<string, FloatArray>, f: string) => {
    for (const t of model.params.tensors) {
      const v = tensors.get(t.name);
      if (!v)
        throw new CheckpointError(
          `${f}: no tensor ${JSON.stringify(t.name)} (the model has ${model.params.names.join(', ')})`,
          f,
        );
      const want = model.params.dtype === 'float32' ? Float32Array : Float64Array;
      if (!(v instanceof want)) throw new CheckpointError(`${f}: tensor ${t.name} is not ${model.params.dtype}`, f);
      if (v.length !== t.size) {
        throw new CheckpointError(
          `${f}: tensor ${t.name} holds ${v.length} values, the model's [${t.shape.join(', ')}] holds ${t.size}`,
          f,
        );
      }
    }
    for (const name of tensors.keys()) {
      if (!model.params.has(name))
        throw new CheckpointError(`${f}: tensor ${JSON.stringify(name)} is not in the model`, f);
    }
  };
  checkTensors(ckpt.tensors, file);
  if (ckpt.best) checkTensors(ckpt.best, join(dir, 'best.safetensors'));
  if (optimizer) {
    if (!ckpt.optimizer || !meta.optimizer)
      throw new CheckpointError(`${dir}: the checkpoint has no optimizer state`, where);
    if (meta.optimizer.name !== optimizerName(optimizer)) {
      throw new CheckpointError(
        `${dir}: the checkpoint's optimizer is ${meta.optimizer.name}, this one is ${optimizerName(optimizer)}`,
        where,
      );
    }
    const names = optimizer.paramGroups.flatMap((g) => [...g.params]);
    if (JSON.stringify(names) !== JSON.stringify(meta.optimizer.paramNames)) {
      throw new CheckpointError(
        `${dir}: the checkpoint's optimizer steps [${meta.optimizer.paramNames.join(', ')}], this one [${names.join(', ')}]`,
        where,
      );
    }
  }
  if (scheduler) {
    if (!ckpt.scheduler || !meta.scheduler)
      throw new CheckpointError(`${dir}: the checkpoint has no scheduler state`, where);
    if (meta.scheduler.name !== scheduler.name) {
      throw new CheckpointError(
        `${dir}: the checkpoint's scheduler is ${meta.scheduler.name}, this one is ${scheduler.name}`,
        where,
      );
    }
  }
}

/**
 * Loads a checkpoint into `model` (and `optimizer` / `scheduler` when given): checked whole
 * first (see `checkCheckpoint`); on a failure while writing, everything is put back as it was.
 */
export function restoreCheckpoint(
  ckpt: Checkpoint | string,
  model: FitModel,
  optimizer?: TrainOptimizer | null,
  scheduler?: SavableScheduler | null,
): Checkpoint {
  const c = typeof ckpt === 'string' ? readCheckpoint(ckpt) : ckpt;
  checkCheckpoint(c, model, optimizer, scheduler);
  const params = model.params;
  const before = params.data.slice();
  const optBefore = optimizer ? optimizer.stateDict() : null;
  const schedBefore = scheduler ? scheduler.stateDict() : null;
  try {
    if (optimizer) loadOptimizer(optimizer, c.optimizer as StateDict);
    if (scheduler) scheduler.loadStateDict(c.scheduler as never);
    for (const t of params.tensors) params.data.set(c.tensors.get(t.name) as FloatArray, t.offset);
  } catch (e) {
    params.data.set(before);
    if (optimizer && optBefore) loadOptimizer(optimizer, optBefore);
    if (scheduler && schedBefore) scheduler.loadStateDict(schedBefore as never);
    throw new CheckpointError(`${c.dir}: ${(e as Error).message}`, c.dir);
  }
  return c;
}

/** The arena laid out from a tensor map (best weights), in the model's layout. */
export function arenaFrom(model: FitModel, tensors: Map<string, FloatArray>): FloatArray {
  const out = model.params.data.slice();
  for (const t of model.params.tensors) out.set(tensors.get(t.name) as FloatArray, t.offset);
  return out;
}
