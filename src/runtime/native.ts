// Locates the weft-rtio helper (src/runtime/native/weft-rtio.c), building it with gcc on first use
// if scripts/setup.sh has not. The binary lives in dist/native/ (gitignored).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemError } from '../engine/errors.js';

let cached: string | null = null;

/** Repo root: this file is <root>/dist/src/runtime/native.js once compiled. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw systemError('weft-rtio: cannot find the repository root');
}

export function helperPath(): string {
  if (cached) return cached;
  const fromEnv = process.env.WEFT_RTIO;
  if (fromEnv && existsSync(fromEnv)) return (cached = fromEnv);
  const root = repoRoot();
  const bin = join(root, 'dist', 'native', 'weft-rtio');
  const src = join(root, 'src', 'runtime', 'native', 'weft-rtio.c');
  const stale = existsSync(bin) && existsSync(src) && statSync(src).mtimeMs > statSync(bin).mtimeMs;
  if (!existsSync(bin) || stale) {
    if (!existsSync(src)) throw systemError(`weft-rtio helper missing: ${bin}`);
    mkdirSync(dirname(bin), { recursive: true });
    try {
      execFileSync('gcc', ['-O2', '-Wall', '-o', bin, src, '-lutil'], { stdio: 'pipe' });
    } catch (err) {
      throw systemError(`building weft-rtio failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
    }
  }
  return (cached = bin);
}
