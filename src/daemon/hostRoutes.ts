import type { Kernel } from '../kernel/types.js';

/** Destinations of the namespace's routes, minus default routes and weft's own bridges (IPAM skips pools that overlap them). */
export async function readHostRoutes(kernel: Kernel): Promise<string[]> {
  const out: string[] = [];
  const families = await Promise.all(([4, 6] as const).map((family) => kernel.routes(family).catch(() => [])));
  for (const routes of families) {
    for (const r of routes) {
      if (!r.dst || r.dst === 'default') continue;
      if (r.dev && (r.dev.startsWith('br-') || r.dev.startsWith('weft'))) continue;
      out.push(r.dst);
    }
  }
  return out;
}
