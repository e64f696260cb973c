// Worker-thread entry for neighbour searches: tsx must be registered before the TypeScript
// worker body can be imported (worker threads do not inherit the parent's loader hooks).
import { register } from 'tsx/esm/api';
register();
await import('./neighbour-worker-body.ts');
