import type { Kernel } from '../kernel/kernel.js';

/** Destinations of the namespace's routes, minus default routes and weft's own bridges (IPAM skips pools that overlap them). */
export async function readHostRoutes(kernel: Kernel): Promise<string[]> {
  const out: string[] = [];
  const families = await Promise.all(['-4', '-6'].map((family) => kernel.ipJson<{ dst: string; dev?: string }[]>([family, 'route', 'show']).catch(() => [])));
  for (const routes of families) {
    for (const r of routes) {
      if (!r.dst || r.dst === 'default') continue;
      if (r.dev && (r.dev.startsWith('br-') || r.dev.startsWith('weft'))) continue;
      out.push(r.dst.includes('/') ? r.dst : `${r.dst}/${r.dst.includes(':') ? 128 : 32}`);
    }
  }
  return out;
}
