// Worker thread entry for evaluator fit jobs (see jobs.ts). Workers do not load TypeScript
// on their own, so register tsx first, then load the real worker module.
import { register } from 'tsx/esm/api';

register();
await import('./fit-worker.ts');
