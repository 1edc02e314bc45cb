// weft's topology page: draws GET /topology with cytoscape and redraws from the live stream
// (/topology/stream, Server-Sent Events). Clicking two containers asks /trace for the first
// reaching the second. Plain browser JavaScript modules: no build step, no network access but
// weftd. cytoscape is the global its dist file defines.
import { STYLE, elementsOf, positionsOf } from './graph.js';
import { el, showDetails, showTrace } from './panel.js';

const state = { topology: null, seq: 0, updatedAt: 0, picked: [], trace: null };
window.weft = state; // read by the end-to-end test and handy in the console

const cy = cytoscape({
  container: document.getElementById('graph'),
  wheelSensitivity: 0.3,
  minZoom: 0.2,
  maxZoom: 3,
  style: STYLE,
});
state.cy = cy;

const $ = (id) => document.getElementById(id);

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
  if (state.selected) showDetails($('details-body'), t, state.selected.kind, state.selected.ref);
}

function apply(msg) {
  state.topology = msg.topology;
  state.seq = msg.seq;
  state.causes = msg.causes;
  const pairBefore = state.picked.length;
  render(msg.topology);
  state.updatedAt = Date.now();
  // A shown trace is redone when something that can change its answer happened: any network
  // change, or a change to one of the pair (start, stop, rename...).
  if (pairBefore === 2 && state.picked.length === 2 && state.trace) {
    const names = state.picked.map(containerName);
    if (msg.causes.some((c) => c.type === 'network' || (c.type === 'container' && names.includes(c.name)))) void runTrace();
  }
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
  // Full IDs: a name could be renamed meanwhile, or be another container's ID prefix.
  const q = new URLSearchParams({ from, to });
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
  showTrace(result, containerName(from), containerName(to), status, body);
}

cy.on('scrollzoom dragpan pinchzoom', () => (state.userMoved = true));

cy.on('tap', 'node', (ev) => {
  const kind = ev.target.data('kind');
  const ref = ev.target.data('ref');
  if (kind === 'host') return;
  state.selected = { kind, ref };
  showDetails($('details-body'), state.topology, kind, ref);
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
