/** downhill: gradient-descent optimizers and fast CPU training for JS/TS. */
export { ParamStore, Tensor, type Init, type ParamSpecs, type TensorSpec } from './params.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { AdamW } from './optim/adamw.js';
export { Optimizer, type BaseOptions, type GroupSpec, type ParamGroup, type StateDict } from './optim/optimizer.js';
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
export type { Backend, BackendInfo, BackendName, Buffer } from './backend/types.js';
export { BackendError } from './errors.js';
export { Rng } from './random.js';
export { VERSION } from './version.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export { loadWasmFrom, WasmBackend } from './backend/wasm.js';
