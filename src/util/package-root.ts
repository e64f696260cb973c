/**
 * The package root: the nearest folder above this module that holds package.json. The same
 * answer from the sources (src/util/) and from the compiled output (dist/src/util/), in a
 * clone and in an installed package, so built-in pools, challenges and package.json are
 * found from one place.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`sieve: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
