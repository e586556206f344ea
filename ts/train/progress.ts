/**
 * The training progress bar (`cli-progress`), on stderr. It is shown only where someone watches:
 * stdout and stderr are terminals and `CI` is not set, so `downhill train --json | jq`, logs
 * and CI runs get no escape codes.
 */
import type { SingleBar } from 'cli-progress';

/** Whether `'auto'` shows the bar here. */
export function progressWanted(): boolean {
  if (typeof process === 'undefined') return false;
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') return false;
  return process.stdout.isTTY === true && process.stderr.isTTY === true;
}

export interface ProgressPayload {
  epoch: number;
  epochs: number;
  loss: string;
  metric: string;
}

/** A bar over all steps of a run; no-op when disabled. `cli-progress` is loaded only when shown (it needs Node). */
export async function createProgress(enabled: boolean): Promise<Progress> {
  if (!enabled) return new Progress(null);
  const cliProgress = (await import('cli-progress')).default;
  return new Progress(
    new cliProgress.SingleBar(
      {
        format:
          'epoch {epoch}/{epochs} |{bar}| {percentage}% | step {value}/{total} | loss {loss}{metric} | ETA {eta_formatted}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 200,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    ),
  );
}

export class Progress {
  readonly #bar: SingleBar | null;
  constructor(bar: SingleBar | null) {
    this.#bar = bar;
  }
  get enabled(): boolean {
    return this.#bar !== null;
  }
  start(total: number, value: number, payload: ProgressPayload): void {
    this.#bar?.start(total, value, payload);
  }
  update(value: number, payload: Partial<ProgressPayload>): void {
    this.#bar?.update(value, payload);
  }
  stop(): void {
    this.#bar?.stop();
  }
}
