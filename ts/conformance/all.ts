/** Every case kind downhill runs: importing this registers their runners. */
import { registerRunner } from './index.js';
import './optimizer.js';
import './gradient.js';
import './lbfgs.js';
import './lookahead.js';
import { runSchedulerCase } from './scheduler.js';

registerRunner('scheduler', (c) => runSchedulerCase(c));

export { loadCases, runCase, type CaseResult, type Loaded } from './index.js';
