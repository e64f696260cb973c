// Child-process entry of the fuzz harness: registers tsx (as bin/sieve.mjs does) and runs runner.ts.
import { register } from 'tsx/esm/api';
register();
await import('./runner.ts');
