/**
 * `downhill/node`: the parts of the training helpers that need Node (files, the `mnist` package,
 * the progress bar): everything of the main entry, plus the MNIST and CSV loaders, checkpoint
 * folders and the main job. The main entry (`downhill`) stays loadable in browsers.
 */
export * from './index.js';
export { loadMnist, mnistDir, MNIST_PIXELS, type Mnist, type MnistOptions } from './train/mnist.js';
export { loadCsv, type Column, type CsvOptions } from './train/csv.js';
export {
  saveCheckpoint,
  saveEpochCheckpoint,
  readCheckpoint,
  resolveCheckpoint,
  checkCheckpoint,
  restoreCheckpoint,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointMeta,
  type SaveOptions,
  type SavableScheduler,
} from './train/checkpoint.js';
export {
  runMainJob,
  writeReport,
  comparisonEntries,
  comparisonTable,
  COMPARISON,
  MNIST_MLP,
  type ComparisonEntry,
  type MainJobOptions,
  type MainJobResult,
  type RunRow,
} from './train/mainjob.js';
