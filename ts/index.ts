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
  type Schedule,
  type Scheduled,
  type StateDict,
} from './optim/optimizer.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { LAMB, type LAMBOptions } from './optim/lamb.js';
export { LARS, type LARSOptions } from './optim/lars.js';
export { AdaBelief, type AdaBeliefOptions } from './optim/adabelief.js';
export { Yogi, type YogiOptions } from './optim/yogi.js';
export { ScheduleFreeAdamW, type ScheduleFreeAdamWOptions } from './optim/schedule-free-adamw.js';
export { ScheduleFreeSGD, type ScheduleFreeSGDOptions } from './optim/schedule-free-sgd.js';
export { Lookahead, type LookaheadOptions, type LookaheadStateDict } from './optim/lookahead.js';
export { AdaBound, type AdaBoundOptions } from './optim/adabound.js';
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
export type { Backend, BackendInfo, BackendName, Buffer, DType, FloatArray, Heap } from './backend/types.js';
export { BackendError } from './errors.js';
export { Rng } from './random.js';
export { VERSION } from './version.js';
export { clipGradNorm, clipGradValue, gradNorm, type ClipNormOptions } from './clip.js';
export { loadWasmFrom, WasmBackend } from './backend/wasm.js';
export { fromJSON, toJSON } from './state.js';
export { SPECS } from './generated/specs.js';
export type { SpecData } from './spec.js';
