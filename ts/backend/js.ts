/** The pure-TypeScript backend: buffers are typed arrays, the core is the mirror in ts/kernels. */
import { call } from '../kernels/ops.js';
import { SPECS } from '../generated/specs.js';
import { ArrayHeap, arrayLimits, loadPhysicalMemory } from './heap.js';
import type { Backend } from './types.js';

export async function loadJs(): Promise<Backend> {
  await loadPhysicalMemory();
  const backend: Backend = {
    name: 'js',
    info: () => ({ name: 'js', simd: 'none', threads: 1 }),
    limits: arrayLimits,
    specsJson: () => JSON.stringify(SPECS),
    createHeap: () => new ArrayHeap(backend, call),
  };
  return backend;
}
