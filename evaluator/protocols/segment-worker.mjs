// Worker thread entry for ranking-curve segment jobs (see jobs.ts). Workers do not load TypeScript
// on their own, so register tsx first, then load the real worker module.
import { register } from 'tsx/esm/api';

register();
await import('./segment-worker.ts');
