import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** The datasieve package version, recorded in every pool and result. */
export const SIEVE_VERSION: string = pkg.version;
