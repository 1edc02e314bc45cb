// weft's topology page: draws GET /topology with cytoscape and redraws from the live stream
// (/topology/stream, Server-Sent Events). Clicking two containers asks /trace for the first
// reaching the second. Plain browser JavaScript: no build step, no network access but weftd.
'use strict';

const ROW = { overlay: -260, network: 0, container: 260 };
const NET_GAP = 280;
const NET_WIDTH = 230;
const SMALL_WIDTH = 140;
const NET_MARGIN = 50;
const CONTAINER_GAP = 200;
const HOST_GAP = 220;

const state = { topology: null, seq: 0, updatedAt: 0, picked: [], trace: null };
window.weft = state; // read by the end-to-end test and handy in the console

const cy = cytoscape({
  container: document.getElementById('graph'),
  wheelSensitivity: 0.3,
  minZoom: 0.2,
  maxZoom: 3,
  style: [
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
  ],
});
state.cy = cy;

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function networkLabel(n) {
  const kind = [n.driver, n.device].filter(Boolean).join(' · ');
  const subnets = n.subnets.map((s) => (s.gateway ? `${s.subnet} gw ${s.gateway}` : s.subnet));
  return [n.name, kind, ...subnets].join('\n');
}

function edgeLabel(ep) {
  return [`${ep.ifname} ${ep.ipv4 || ep.ipv6}`, ep.mac].filter(Boolean).join('\n');
}

/** Elements for the topology: hosts as compound nodes around their networks and containers. */
function elementsOf(t) {
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
function positionsOf(t) {
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

function render(t) {
  const wanted = elementsOf(t);
  const ids = new Set(wanted.map((e) => e.data.id));
  cy.batch(() => {
    cy.elements().filter((e) => !ids.has(e.id())).remove();
    for (const e of wanted) {
      const have = cy.getElementById(e.data.id);
      if (have.nonempty() && have.isNode() && have.data('parent') !== e.data.parent) have.remove();
      if (cy.getElementById(e.data.id).nonempty()) {
        const cur = cy.getElementById(e.data.id);
        cur.data(e.data);
        cur.classes(e.classes);
      } else {
        cy.add(e);
      }
    }
  });
  for (const id of state.picked) cy.getElementById(`c:${id}`).addClass('picked');
  // The whole graph stays in view until the user pans or zooms it.
  const first = !state.laidOut;
  cy.layout({ name: 'preset', positions: positionsOf(t), fit: !state.userMoved, padding: 40, animate: !first, animationDuration: 150 }).run();
  if (first && cy.nodes().nonempty()) state.laidOut = true;
  $('counts').textContent = `${t.hosts.length} host${t.hosts.length === 1 ? '' : 's'} · ${t.networks.length} networks · ${t.containers.length} containers · ${t.endpoints.length} endpoints`;
  state.picked = state.picked.filter((id) => t.containers.some((c) => c.id === id));
  if (state.selected) showDetails(state.selected.kind, state.selected.ref);
}

function apply(msg) {
  state.topology = msg.topology;
  state.seq = msg.seq;
  state.causes = msg.causes;
  render(msg.topology);
  state.updatedAt = Date.now();
}

function connect() {
  const source = new EventSource('/topology/stream');
  source.addEventListener('topology', (ev) => apply(JSON.parse(ev.data)));
  source.onopen = () => {
    $('status').dataset.state = 'live';
    $('status').textContent = 'live';
  };
  source.onerror = () => {
    $('status').dataset.state = 'down';
    $('status').textContent = 'reconnecting…';
  };
}

// ---- side panel

function dl(pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== '') d.append(el('dt', {}, k), el('dd', {}, v));
  return d;
}

function showDetails(kind, ref) {
  const t = state.topology;
  const body = $('details-body');
  body.className = '';
  body.replaceChildren();
  if (kind === 'network') {
    const n = t.networks.find((x) => x.id === ref);
    if (!n) return body.append(el('span', { className: 'muted' }, 'removed'));
    body.append(
      el('h3', {}, n.name),
      dl([
        ['driver', n.driver],
        ['scope', n.scope],
        ['device', n.device ? `${n.device}${n.realized ? '' : ' (made at the first container)'}` : ''],
        ['subnet', n.subnets.map((s) => s.subnet).join(', ')],
        ['gateway', n.subnets.map((s) => s.gateway).filter(Boolean).join(', ')],
        ['internal', n.internal ? 'yes' : ''],
        ['id', n.id.slice(0, 12)],
      ]),
    );
    const members = t.endpoints.filter((e) => e.network === n.id);
    const names = new Map(t.containers.map((c) => [c.id, c.name]));
    body.append(ifaceTable(members.map((e) => [names.get(e.container) || e.container.slice(0, 12), e])));
  } else if (kind === 'container') {
    const c = t.containers.find((x) => x.id === ref);
    if (!c) return body.append(el('span', { className: 'muted' }, 'removed'));
    const nets = new Map(t.networks.map((n) => [n.id, n.name]));
    body.append(el('h3', {}, c.name), dl([['image', c.image], ['state', c.state], ['network mode', c.networkMode], ['id', c.id.slice(0, 12)]]));
    body.append(ifaceTable(c.interfaces.map((i) => [nets.get(i.network) || i.network.slice(0, 12), i])));
  }
}

function ifaceTable(rows) {
  const table = el('table', { className: 'ifaces' }, el('tr', {}, el('th', {}, ''), el('th', {}, 'if'), el('th', {}, 'address'), el('th', {}, 'MAC')));
  for (const [name, i] of rows) table.append(el('tr', {}, el('td', {}, name), el('td', {}, i.ifname), el('td', {}, [i.ipv4, i.ipv6].filter(Boolean).join(' ')), el('td', {}, i.mac)));
  return table;
}

// ---- trace

function containerName(id) {
  return state.topology?.containers.find((c) => c.id === id)?.name ?? id.slice(0, 12);
}

async function runTrace() {
  const [from, to] = state.picked;
  const result = $('trace-result');
  $('trace-pair').textContent = `${containerName(from)} → ${containerName(to)}`;
  result.dataset.state = 'loading';
  result.replaceChildren(el('span', { className: 'muted' }, 'tracing…'));
  const q = new URLSearchParams({ from: containerName(from), to: containerName(to) });
  const port = $('trace-port').value.trim();
  if (port) q.set('port', port);
  let status = 0;
  let body = null;
  try {
    const res = await fetch(`/trace?${q}`);
    status = res.status;
    body = await res.json().catch(() => null);
  } catch (err) {
    body = { message: String(err) };
  }
  if (state.picked[0] !== from || state.picked[1] !== to) return; // a newer pick replaced this one
  state.trace = { from, to, status, body };
  result.replaceChildren();
  if (status === 404 && (!body || body.message === 'page not found')) {
    result.dataset.state = 'unavailable';
    result.append(el('p', {}, 'trace unavailable: this weftd has no trace endpoint (GET /weft/trace).'));
    return;
  }
  if (status !== 200 || !body || !Array.isArray(body.steps)) {
    result.dataset.state = 'error';
    result.append(el('p', {}, `trace failed (${status}): ${body?.message ?? 'no answer'}`));
    return;
  }
  result.dataset.state = body.reachable ? 'reachable' : 'unreachable';
  result.append(el('div', { className: `verdict ${body.reachable ? 'yes' : 'no'}` }, body.reachable ? `✓ ${containerName(from)} reaches ${containerName(to)}` : `✗ ${containerName(from)} cannot reach ${containerName(to)}`));
  if (body.port) result.append(el('div', { className: 'muted' }, `port ${body.port}`));
  const ol = el('ol');
  for (const s of body.steps) ol.append(el('li', { className: s.ok ? 'ok' : 'fail' }, el('strong', {}, s.step), ': ', s.detail ?? ''));
  result.append(ol);
  const dis = body.disagreements ?? [];
  if (dis.length) result.append(el('div', { className: 'disagree' }, el('strong', {}, 'the kernel disagrees with the records: '), dis.map((d) => (typeof d === 'string' ? d : JSON.stringify(d))).join('; ')));
}

cy.on('scrollzoom dragpan pinchzoom', () => (state.userMoved = true));

cy.on('tap', 'node', (ev) => {
  const kind = ev.target.data('kind');
  const ref = ev.target.data('ref');
  if (kind === 'host') return;
  state.selected = { kind, ref };
  showDetails(kind, ref);
  if (kind !== 'container') return;
  // The last two containers clicked form the pair; a third click starts a new pair.
  state.picked = state.picked.length >= 2 ? [ref] : [...state.picked.filter((id) => id !== ref), ref];
  cy.nodes('.picked').removeClass('picked');
  for (const id of state.picked) cy.getElementById(`c:${id}`).addClass('picked');
  if (state.picked.length === 2) void runTrace();
  else {
    $('trace-pair').textContent = `${containerName(ref)} → (click another container)`;
    $('trace-result').dataset.state = 'idle';
    $('trace-result').replaceChildren();
  }
});

$('trace-port').addEventListener('change', () => {
  if (state.picked.length === 2) void runTrace();
});

connect();
