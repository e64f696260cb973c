/**
 * dist/ carries a .js.map beside each compiled module, and a bug report's stack trace names the
 * TypeScript lines (src/util/source-stack.ts), at no start-up cost (maps are read only then).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '..', 'dist');

describe('source maps for dist/', () => {
  it('a stack trace from a compiled module points at the .ts source line', async () => {
    // A frame as Node prints it for dist/ (vitest maps its own traces, so one is written here):
    // the compiled line of `function fitTable`, mapped back, is the .ts line declaring it.
    const compiled = join(dist, 'src', 'util', 'output.js');
    const jsLines = readFileSync(compiled, 'utf8').split('\n');
    const at = jsLines.findIndex((l) => /^function fitTable\(/.test(l) || /^export function fitTable\(/.test(l));
    expect(at).toBeGreaterThanOrEqual(0);
    const stack = `TypeError: boom\n    at fitTable (${pathToFileURL(compiled).href}:${at + 1}:1)\n    at node:internal/x:1:1`;
    const { describeFailure } = await import(join(dist, 'src', 'util', 'errors.js'));
    const err = Object.assign(new TypeError('boom'), { stack });
    const text: string = describeFailure(err, 'test').text;
    const frame = /at fitTable \((\/[^\s()]+\/src\/util\/output\.ts):(\d+):(\d+)\)/.exec(text);
    expect(frame, text).not.toBeNull();
    const tsLine = readFileSync(frame![1], 'utf8').split('\n')[Number(frame![2]) - 1];
    expect(tsLine).toMatch(/function fitTable\(/);
    expect(text).toContain('at node:internal/x:1:1'); // frames without a map stay as they are
    expect(text).not.toContain('dist/src/util/output.js');
  });

  it('each compiled module has its map, mappings only, naming its own source', () => {
    for (const rel of ['src/cli/main', 'evaluator/models/registry', 'compute/rng']) {
      const map = JSON.parse(readFileSync(join(dist, `${rel}.js.map`), 'utf8'));
      expect(map.sourcesContent).toBeUndefined();
      expect(map.sources).toHaveLength(1);
      expect(existsSync(join(dist, rel, '..', map.sources[0]))).toBe(true);
      expect(readFileSync(join(dist, `${rel}.js`), 'utf8')).toMatch(/\/\/# sourceMappingURL=[\w.-]+\.js\.map\n?$/);
    }
    // The launcher does not turn on Node's source maps (they would be read at every module load).
    expect(readFileSync(join(import.meta.dirname, '..', 'bin', 'sieve.mjs'), 'utf8')).not.toMatch(/setSourceMapsEnabled\(true\)|enable-source-maps/);
  });
});
