/**
 * `downhill train`: the main job from the command line (see mainjob.ts). Human-readable lines go
 * to stdout, or to stderr with `--json`, which prints exactly one JSON document on stdout.
 */
import { BACKEND_NAMES, type BackendChoice } from '../backend/select.js';
import { resolveMain, runMainJob } from './mainjob.js';

export const TRAIN_USAGE = `downhill train [--optimizer NAME] [--epochs N] [--batch-size N] [--lr X] [--seed N]
               [--backend auto|native|wasm|js] [--out DIR] [--json]
                                              MNIST MLP 784-128-10 with Adam, then every optimizer
                                              compared; report in DIR (default report/)`;

/** The flags `downhill train` takes (`true`: boolean). */
export const TRAIN_FLAGS: Record<string, boolean> = {
  json: true,
  optimizer: false,
  epochs: false,
  'batch-size': false,
  lr: false,
  seed: false,
  backend: false,
  out: false,
};

export class TrainUsageError extends Error {}

function int(flags: Map<string, string | true>, k: string, min: number): number | undefined {
  const v = flags.get(k);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isSafeInteger(n) || n < min)
    throw new TrainUsageError(`--${k}: ${String(v)} is not an integer >= ${min}`);
  return n;
}

export async function trainCommand(
  positional: string[],
  flags: Map<string, string | true>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  if (positional.length > 0) throw new TrainUsageError(`train takes no arguments, got ${positional.join(' ')}`);
  const json = flags.has('json');
  const lrFlag = flags.get('lr');
  const lr = lrFlag === undefined ? undefined : Number(lrFlag);
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr)))
    throw new TrainUsageError(`--lr: ${String(lrFlag)} is not a number > 0`);
  const backend = flags.get('backend');
  if (backend !== undefined && backend !== 'auto' && !BACKEND_NAMES.includes(backend as never)) {
    throw new TrainUsageError(
      `--backend: unknown ${JSON.stringify(backend)}; one of auto, ${BACKEND_NAMES.join(', ')}`,
    );
  }
  const optimizer = flags.get('optimizer');
  if (optimizer === true) throw new TrainUsageError('--optimizer needs a value');
  if (optimizer !== undefined) {
    try {
      resolveMain(optimizer, lr);
    } catch (e) {
      throw new TrainUsageError(`--${(e as Error).message}`);
    }
  }
  const dir = flags.get('out');
  if (dir === true || dir === '') throw new TrainUsageError('--out needs a folder');
  const result = await runMainJob({
    optimizer,
    epochs: int(flags, 'epochs', 1),
    batchSize: int(flags, 'batch-size', 1),
    seed: int(flags, 'seed', 0),
    lr,
    backend: backend as BackendChoice | undefined,
    out: dir,
    log: json ? err : out,
  });
  if (json) {
    const row = (r: (typeof result.comparison)[number]) => ({
      optimizer: r.label,
      class: r.optimizer,
      lr: r.lr,
      options: r.options,
      status: r.status,
      reason: r.reason,
      finalLoss: r.finalLoss,
      testLoss: r.testLoss,
      testAccuracy: r.testAccuracy,
      seconds: r.seconds,
      stateBytes: r.stateBytes,
    });
    out(
      JSON.stringify({
        testAccuracy: result.testAccuracy,
        testLoss: result.testLoss,
        seconds: result.seconds,
        backend: result.backend,
        optimizer: result.optimizer,
        lr: result.lr,
        epochs: result.epochs,
        batchSize: result.batchSize,
        seed: result.seed,
        totalSeconds: result.totalSeconds,
        report: result.report,
        comparison: result.comparison.map(row),
      }),
    );
  }
  return 0;
}
