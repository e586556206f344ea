/** downhill: gradient-descent optimizers and fast CPU training for JS/TS. */
export { ParamStore, Tensor, type Init, type ParamSpecs, type StoreOptions, type TensorSpec } from './params.js';
export {
  Optimizer,
  createOptimizer,
  optimizerNames,
  type AnyOptimizer,
  type GroupSpec,
  type LoadOptions,
  type ParamGroup,
  type Scheduled,
  type StateDict,
} from './optim/optimizer.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { Adagrad, type AdagradOptions } from './optim/adagrad.js';
export { RMSprop, type RMSpropOptions } from './optim/rmsprop.js';
export { Adadelta, type AdadeltaOptions } from './optim/adadelta.js';
export { Adamax, type AdamaxOptions } from './optim/adamax.js';
export { NAdam, type NAdamOptions } from './optim/nadam.js';
export { RAdam, type RAdamOptions } from './optim/radam.js';
export { Adafactor, type AdafactorOptions } from './optim/adafactor.js';
export { Muon, type MuonOptions } from './optim/muon.js';
export { OptaxMuon, type OptaxMuonOptions } from './optim/optax_muon.js';
export { LBFGS, type LBFGSOptions } from './optim/lbfgs.js';
export { LAMB, type LAMBOptions } from './optim/lamb.js';
export { LARS, type LARSOptions } from './optim/lars.js';
export { AdaBelief, type AdaBeliefOptions } from './optim/adabelief.js';
export { Yogi, type YogiOptions } from './optim/yogi.js';
export { ScheduleFreeAdamW, type ScheduleFreeAdamWOptions } from './optim/schedule-free-adamw.js';
export { ScheduleFreeSGD, type ScheduleFreeSGDOptions } from './optim/schedule-free-sgd.js';
export { Lookahead, type LookaheadOptions, type LookaheadStateDict } from './optim/lookahead.js';
export { AdaBound, type AdaBoundOptions } from './optim/adabound.js';
export { Lion, type LionOptions } from './optim/lion.js';
export { combine, Combined, type CombinedOptions, type CombinedStateDict } from './optim/combine.js';
export { minimize, type MinimizeOptions, type MinimizeResult, type OptimizerChoice } from './minimize.js';
export {
  getBackend,
  loadBackend,
  selectBackend,
  requestedBackend,
  type BackendChoice,
  type BackendReport,
  type BackendStatus,
} from './backend/select.js';
export type { Backend, BackendInfo, BackendName, Buffer, DType, FloatArray, Heap, Limits } from './backend/types.js';
export { BackendError } from './errors.js';
export { Rng } from './random.js';
export { VERSION } from './version.js';
export { clipGradNorm, clipGradValue, gradNorm, type ClipNormOptions } from './clip.js';
export { loadWasmFrom, WasmBackend, type WasmHeap } from './backend/wasm.js';
export {
  loadWasmThreads,
  loadWasmThreadsFrom,
  WasmThreadsBackend,
  type PoolWorker,
  type WasmThreadsOptions,
} from './backend/wasm-threads.js';
export { fromJSON, toJSON, type ElementRules } from './state.js';
export { SPECS } from './generated/specs.js';
export type { DomainData, HParamData, RuleData, SlotData, SpecData } from './spec.js';
export * from './schedule/index.js';
export { onWarning } from './warnings.js';
export { lineChart, type LineChartOptions, type LineSeries } from './plot/svg.js';
export {
  accumulate,
  chain,
  Chain,
  clipByGlobalNorm,
  clipByValue,
  ema,
  skipNonFinite,
  swa,
  type Averaging,
  type Transform,
  type TransformContext,
} from './transform.js';
export type { Segment } from './ops.js';
export { groupsBy, weightDecayGroups, NO_DECAY, type TensorTest } from './optim/groups.js';
export {
  Model,
  type Activation,
  type DeviceData,
  type LayerSpec,
  type LossName,
  type LossSpec,
  type ModelOptions,
  type ModelSpec,
  type StepResult,
} from './train/model.js';
export { INIT_NAMES, InitRng, initDense, type InitName } from './train/init.js';
export {
  Dataset,
  epochSeed,
  permutation,
  checkBatchSize,
  type DatasetInit,
  type Standardization,
} from './train/data.js';
export {
  fit,
  evaluate,
  predict,
  predictClasses,
  checkDataFits,
  type BatchLogs,
  type Callbacks,
  type CheckpointOptions,
  type EarlyStoppingOptions,
  type EpochLogs,
  type FitContext,
  type FitMode,
  type FitOptions,
  type FitPosition,
  type FitResult,
  type Metric,
  type StepScheduler,
  type StopReason,
  type TrainOptimizer,
} from './train/fit.js';
export { findLr, type LrFinderOptions, type LrFinderResult } from './train/lr-finder.js';
export { encodeSafetensors, decodeSafetensors, type SafeDType, type SafeTensor } from './train/safetensors.js';
export { DataError, CsvError, CheckpointError } from './train/errors.js';
export type { FitModel, DeviceDataLike, LayerSpecLike, ModelSpecLike } from './train/types.js';
