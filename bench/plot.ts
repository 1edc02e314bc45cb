import type { DaemonKind } from '../test/helpers/daemons.js';
import { ENGINE_KINDS, ENGINE_LABEL } from './lib.js';
import { SCALE_OPS, type ScaleResult } from './scale.js';

// Cost against scale as a hand-written SVG: one panel per operation, x = networks (= containers)
// in the store, log scale; y = median ms per operation, log scale; one line per engine.

const COLORS: Record<DaemonKind, string> = { weft: '#1b9e77', docker: '#2166ac', podman: '#b2182b' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function scaleSvg(results: ScaleResult[]): string {
  const W = 330;
  const H = 250;
  const cols = 3;
  const panels = SCALE_OPS;
  const rows = Math.ceil(panels.length / cols);
  const m = { l: 52, r: 12, t: 26, b: 36 };
  const out: string[] = [];
  const totalW = W * cols;
  const totalH = H * rows + 30;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  // Legend
  let lx = 10;
  for (const k of ENGINE_KINDS.filter((k) => results.some((r) => r.kind === k && r.levels.length))) {
    out.push(`<line x1="${lx}" y1="14" x2="${lx + 24}" y2="14" stroke="${COLORS[k]}" stroke-width="2.5"/><text x="${lx + 30}" y="18">${ENGINE_LABEL[k]}</text>`);
    lx += 100;
  }
  out.push(`<text x="${lx + 10}" y="18" fill="#555">median ms per operation vs networks (= containers) in the store, log-log</text>`);
  panels.forEach(([key, label], pi) => {
    const ox = (pi % cols) * W;
    const oy = 30 + Math.floor(pi / cols) * H;
    const series = results
      .filter((r) => r.levels.length)
      .map((r) => ({ kind: r.kind, pts: r.levels.map((l) => ({ x: l.networks, y: l.ops.find((o) => o.op === key && o.n > 0)?.median })).filter((p): p is { x: number; y: number } => p.y !== undefined && p.y > 0) }));
    const xs = series.flatMap((s) => s.pts.map((p) => p.x));
    const ys = series.flatMap((s) => s.pts.map((p) => p.y));
    out.push(`<text x="${ox + m.l}" y="${oy + 16}" font-weight="bold">${esc(label)}</text>`);
    if (!xs.length) return;
    const x0 = Math.log10(Math.min(...xs));
    const x1 = Math.max(x0 + 0.5, Math.log10(Math.max(...xs)));
    const y0 = Math.floor(Math.log10(Math.min(...ys)));
    const y1 = Math.max(y0 + 1, Math.ceil(Math.log10(Math.max(...ys))));
    const px = (x: number) => ox + m.l + ((Math.log10(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
    const py = (y: number) => oy + H - m.b - ((Math.log10(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
    out.push(`<rect x="${ox + m.l}" y="${oy + m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`);
    for (let e = y0; e <= y1; e++) {
      const y = py(10 ** e);
      out.push(`<line x1="${ox + m.l}" y1="${y}" x2="${ox + W - m.r}" y2="${y}" stroke="#eee"/><text x="${ox + m.l - 4}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`);
    }
    for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
      out.push(`<text x="${px(x)}" y="${oy + H - m.b + 14}" text-anchor="middle">${x}</text>`);
    }
    out.push(`<text x="${ox + m.l + (W - m.l - m.r) / 2}" y="${oy + H - 6}" text-anchor="middle" fill="#555">networks + containers</text>`);
    for (const s of series) {
      if (!s.pts.length) continue;
      out.push(`<polyline fill="none" stroke="${COLORS[s.kind]}" stroke-width="2" points="${s.pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
      for (const p of s.pts) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${COLORS[s.kind]}"><title>${ENGINE_LABEL[s.kind]} @${p.x}: ${p.y.toFixed(2)} ms</title></circle>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
