/** Every case kind downhill runs: importing this registers their runners. */
import './optimizer.js';
import './lookahead.js';

export { loadCases, runCase, type CaseResult, type Loaded } from './index.js';
