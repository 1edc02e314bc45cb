// The container's root filesystem: an overlay of the image rootfs (lower) and a per-container
// writable layer (upper/work under data-root, so it survives restarts).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { systemError } from '../common/errors.js';

const run = promisify(execFile);

/** Mount points from /proc/self/mountinfo (octal escapes decoded). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export function isMounted(target: string): boolean {
  return mountPoints().includes(target);
}

export async function mountOverlay(lower: string, layerDir: string, target: string): Promise<void> {
  if (isMounted(target)) return;
  const upper = `${layerDir}/upper`;
  const work = `${layerDir}/work`;
  for (const d of [upper, work, target]) mkdirSync(d, { recursive: true });
  try {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target]);
  } catch (err) {
    throw systemError(`overlay mount failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
  }
}

/** Unmounts target (and anything stacked on it); falls back to a lazy unmount when busy. */
export async function unmount(target: string): Promise<void> {
  for (let i = 0; i < 8 && isMounted(target); i++) {
    try {
      await run('umount', [target]);
    } catch {
      await run('umount', ['-l', target]).catch(() => undefined);
    }
  }
}
