// Locates weft's C helpers, building one with gcc on first use if scripts/setup.sh has not (or
// its source is newer). The binaries live in dist/native/ (gitignored).
//   weft-rtio  container stdio plumbing (src/runtime/native/weft-rtio.c)
//   weft-dns   the embedded DNS's UDP front end and answer cache (src/dns/native/weft-dns.c)
//   weft-nftwatch  reports changes to weft's nftables table (src/kernel/native/weft-nftwatch.c)
//   weft-kernel the kernel agent: netlink, nftables, namespaces (src/kernel/agent/*.c)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemError } from '../common/errors.js';

// source: one C file, or a directory whose *.c files make the program (headers there count for staleness).
const HELPERS = {
  'weft-rtio': { source: 'src/runtime/native/weft-rtio.c', libs: ['-lutil'], env: 'WEFT_RTIO' },
  'weft-dns': { source: 'src/dns/native/weft-dns.c', libs: [], env: 'WEFT_DNS' },
  'weft-nftwatch': { source: 'src/kernel/native/weft-nftwatch.c', libs: [], env: 'WEFT_NFTWATCH' },
  'weft-kernel': { source: 'src/kernel/agent', libs: ['-lmnl', '-lnftables', '-lpthread'], env: 'WEFT_KERNEL' },
} as const;

export type HelperName = keyof typeof HELPERS;

const cached = new Map<HelperName, string>();

/** Repo root: this file is <root>/dist/src/common/native.js once compiled. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw systemError('weft helpers: cannot find the repository root');
}

export function helperPath(name: HelperName): string {
  const known = cached.get(name);
  if (known) return known;
  const spec = HELPERS[name];
  const fromEnv = process.env[spec.env];
  if (fromEnv && existsSync(fromEnv)) {
    cached.set(name, fromEnv);
    return fromEnv;
  }
  const root = repoRoot();
  const bin = join(root, 'dist', 'native', name);
  const src = join(root, spec.source);
  const files = existsSync(src) ? sourceFiles(src) : [];
  const stale = existsSync(bin) && files.some((f) => statSync(f).mtimeMs > statSync(bin).mtimeMs);
  if (!existsSync(bin) || stale) {
    if (!files.length) throw systemError(`${name} helper missing: ${bin}`);
    mkdirSync(dirname(bin), { recursive: true });
    try {
      execFileSync('gcc', ['-O2', '-Wall', '-o', bin, ...files.filter((f) => f.endsWith('.c')), ...spec.libs], { stdio: 'pipe' });
    } catch (err) {
      throw systemError(`building ${name} failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
    }
  }
  cached.set(name, bin);
  return bin;
}

function sourceFiles(src: string): string[] {
  if (!statSync(src).isDirectory()) return [src];
  return readdirSync(src)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort()
    .map((f) => join(src, f));
}
