/**
 * Checkpoint folders in downhill's browser build: scripts/build-js.mjs bundles this file in place of
 * checkpoint.ts (which reads and writes files with `node:fs`) into dist/browser/index.js. Every
 * function throws a `CheckpointError`; in a browser, keep `JSON.stringify(optimizer.stateDict())`
 * and the model's `encodeSafetensors` bytes yourself.
 */
import type * as Node from './checkpoint.js';
import { CheckpointError } from './errors.js';

function unavailable(): never {
  throw new CheckpointError(
    'checkpoint folders are files and need Node.js; in a browser save optimizer.stateDict() and encodeSafetensors() output yourself',
  );
}

export const CHECKPOINT_FORMAT: typeof Node.CHECKPOINT_FORMAT = 'downhill-checkpoint';
export const CHECKPOINT_VERSION: typeof Node.CHECKPOINT_VERSION = 1;
export const saveCheckpoint: typeof Node.saveCheckpoint = unavailable;
export const saveEpochCheckpoint: typeof Node.saveEpochCheckpoint = unavailable;
export const resolveCheckpoint: typeof Node.resolveCheckpoint = unavailable;
export const readCheckpoint: typeof Node.readCheckpoint = unavailable;
export const checkCheckpoint: typeof Node.checkCheckpoint = unavailable;
export const restoreCheckpoint: typeof Node.restoreCheckpoint = unavailable;
export const arenaFrom: typeof Node.arenaFrom = unavailable;

/** Fails to compile when checkpoint.ts gains a run-time export that has no stand-in here. */
type Missing = Exclude<keyof typeof Node, keyof typeof import('./checkpoint.browser.js')>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;
