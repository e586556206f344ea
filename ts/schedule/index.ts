/**
 * Learning-rate schedules: pure functions of the step (`functions.ts`) and PyTorch-style scheduler
 * objects bound to an optimizer (`schedulers.ts`, `plateau.ts`), both computed by the same rules
 * (`rules.ts`).
 */
export {
  chainSchedules,
  constantFactor,
  constantSchedule,
  cosineAnnealing,
  cosineWarmRestarts,
  cyclic,
  cyclicMomentum,
  exponential,
  lambdaSchedule,
  linear,
  multiplicative,
  multiStep,
  oneCycle,
  oneCycleMomentum,
  polynomial,
  sequential,
  stepSchedule,
  warmup,
  type BaseLr,
  type Schedule,
  type WarmupOptions,
} from './functions.js';
export {
  ChainedScheduler,
  ConstantLR,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  CyclicLR,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  LRScheduler,
  MultiplicativeLR,
  MultiStepLR,
  OneCycleLR,
  PolynomialLR,
  SequentialLR,
  StepLR,
  SWALR,
  type SchedulerStateDict,
  type SequentialOptions,
} from './schedulers.js';
export { ReduceLROnPlateau, type PlateauOptions, type PlateauStateDict } from './plateau.js';
export type { Encoded, MomentumKey, SchedulableGroup, SchedulableOptimizer } from './optimizer.js';
export type {
  ConstantOptions,
  CosineAnnealingOptions,
  CosineWarmRestartsOptions,
  CyclicOptions,
  ExponentialOptions,
  LambdaOptions,
  LinearOptions,
  LrLambda,
  MultiStepOptions,
  OneCycleOptions,
  PolynomialOptions,
  StepOptions,
  SwaOptions,
} from './rules.js';
export { onWarning, type DownhillWarning, type WarningHandler } from '../warnings.js';
