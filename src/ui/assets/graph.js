// The graph's look and layout for the topology page: cytoscape elements and styles built from
// GET /topology's JSON, and deterministic positions (networks in a row per host, each container
// under the networks it is on), so that a redraw after a change moves only what changed.

const ROW = { overlay: -260, network: 0, container: 260 };
const NET_GAP = 280;
const NET_WIDTH = 230;
const SMALL_WIDTH = 140;
const NET_MARGIN = 50;
const CONTAINER_GAP = 200;
const HOST_GAP = 220;

export const STYLE = [
  { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'font-size': 12, 'text-valign': 'center', 'text-halign': 'center', color: '#1d2330' } },
  { selector: 'node.host', style: { shape: 'round-rectangle', 'background-color': '#eef2f7', 'border-color': '#94a3b8', 'border-width': 1, 'text-valign': 'top', 'text-halign': 'center', 'font-size': 13, 'font-weight': 600, padding: 28 } },
  { selector: 'node.network', style: { shape: 'round-rectangle', width: NET_WIDTH, height: 64, 'background-color': '#dbeafe', 'border-color': '#2563eb', 'border-width': 2 } },
  { selector: 'node.network.multihost', style: { 'background-color': '#ede9fe', 'border-color': '#7c3aed', 'border-style': 'dashed' } },
  { selector: 'node.network.internal', style: { 'background-color': '#fef9c3', 'border-color': '#ca8a04' } },
  { selector: 'node.network.idle', style: { opacity: 0.55, width: SMALL_WIDTH, height: 44, 'font-size': 10 } },
  { selector: 'node.container', style: { shape: 'ellipse', width: 120, height: 56, 'background-color': '#dcfce7', 'border-color': '#16a34a', 'border-width': 2 } },
  { selector: 'node.container.stopped', style: { 'background-color': '#f3f4f6', 'border-color': '#9ca3af', 'border-style': 'dashed', color: '#6b7280' } },
  { selector: 'node.picked', style: { 'border-color': '#ea580c', 'border-width': 5 } },
  // The interface's label sits at the container's end, where it belongs (and apart from its neighbours').
  { selector: 'edge', style: { width: 2, 'line-color': '#64748b', 'source-label': 'data(label)', 'source-text-offset': 62, 'font-size': 10, 'text-wrap': 'wrap', 'text-background-color': '#fff', 'text-background-opacity': 0.9, 'text-background-padding': 2, 'curve-style': 'bezier', color: '#334155' } },
  { selector: 'edge.multihost', style: { 'line-color': '#7c3aed', 'line-style': 'dashed' } },
  { selector: 'edge.planned', style: { 'line-style': 'dotted', 'line-color': '#cbd5e1', 'source-label': '' } },
];

function networkLabel(n) {
  const kind = [n.driver, n.device].filter(Boolean).join(' · ');
  const subnets = n.subnets.map((s) => (s.gateway ? `${s.subnet} gw ${s.gateway}` : s.subnet));
  return [n.name, kind, ...subnets].join('\n');
}

function edgeLabel(ep) {
  return [`${ep.ifname} ${ep.ipv4 || ep.ipv6}`, ep.mac].filter(Boolean).join('\n');
}

/** Elements for the topology: hosts as compound nodes around their networks and containers. */
export function elementsOf(t) {
  const out = [];
  const hosts = new Set(t.hosts.map((h) => h.id));
  for (const h of t.hosts) out.push({ group: 'nodes', data: { id: `h:${h.id}`, label: h.addr ? `${h.hostname} (${h.addr})` : h.hostname, kind: 'host', ref: h.id }, classes: 'host' });
  const used = new Set(t.endpoints.map((e) => e.network));
  for (const n of t.networks) {
    const classes = ['network', n.multiHost && 'multihost', n.internal && 'internal', !used.has(n.id) && 'idle'].filter(Boolean).join(' ');
    const parent = n.host && hosts.has(n.host) ? `h:${n.host}` : undefined;
    out.push({ group: 'nodes', data: { id: `n:${n.id}`, parent, label: networkLabel(n), kind: 'network', ref: n.id }, classes });
  }
  const multi = new Set(t.networks.filter((n) => n.multiHost).map((n) => n.id));
  for (const c of t.containers) {
    const parent = hosts.has(c.host) ? `h:${c.host}` : undefined;
    out.push({ group: 'nodes', data: { id: `c:${c.id}`, parent, label: `${c.name}\n${c.image}`, kind: 'container', ref: c.id }, classes: c.state === 'running' ? 'container' : 'container stopped' });
    // A stopped container's networks are drawn dotted: where it will be once started.
    if (c.interfaces.length === 0) {
      for (const net of c.attachments) {
        if (t.networks.some((n) => n.id === net)) out.push({ group: 'edges', data: { id: `a:${c.id}:${net}`, source: `c:${c.id}`, target: `n:${net}`, label: '' }, classes: 'planned' });
      }
    }
  }
  for (const ep of t.endpoints) {
    out.push({ group: 'edges', data: { id: `e:${ep.id}`, source: `c:${ep.container}`, target: `n:${ep.network}`, label: edgeLabel(ep), kind: 'endpoint', ref: ep.id }, classes: multi.has(ep.network) ? 'multihost' : '' });
  }
  return out;
}

/** Deterministic positions: networks in a row, each container under the networks it joins. */
export function positionsOf(t) {
  const pos = {};
  const used = new Set(t.endpoints.map((e) => e.network));
  const order = (n) => (n.predefined && n.device ? 0 : n.predefined ? 2 : 1);
  let hostX = 0;
  for (const h of t.hosts) {
    const nets = t.networks.filter((n) => n.host === h.id).sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
    const netX = {};
    // Networks nobody is on (host, none, unused ones) are drawn small and close together.
    let x = hostX;
    let lastNet = hostX;
    let prevWidth = 0;
    nets.forEach((n, i) => {
      const width = used.has(n.id) ? NET_WIDTH : SMALL_WIDTH;
      if (i > 0) x += (prevWidth + width) / 2 + NET_MARGIN;
      prevWidth = width;
      netX[n.id] = x;
      lastNet = x;
      pos[`n:${n.id}`] = { x, y: ROW.network };
    });
    const wanted = t.containers
      .filter((c) => c.host === h.id)
      .map((c) => {
        const nets2 = (c.interfaces.length ? c.interfaces.map((i) => i.network) : c.attachments).filter((id) => id in netX);
        const x = nets2.length ? nets2.reduce((s, id) => s + netX[id], 0) / nets2.length : hostX;
        return { c, x };
      })
      .sort((a, b) => a.x - b.x || a.c.name.localeCompare(b.c.name));
    let prev = -Infinity;
    let lastX = hostX;
    for (const { c, x } of wanted) {
      const at = Math.max(x - CONTAINER_GAP / 2, prev + CONTAINER_GAP);
      pos[`c:${c.id}`] = { x: at, y: ROW.container };
      prev = at;
      lastX = Math.max(lastX, at);
    }
    const right = Math.max(lastNet, lastX);
    hostX = right + HOST_GAP + NET_GAP;
  }
  t.networks.filter((n) => !n.host).forEach((n, i) => (pos[`n:${n.id}`] = { x: i * NET_GAP, y: ROW.overlay }));
  return pos;
}

