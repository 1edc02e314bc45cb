// The side panel of the topology page: what is selected (a network's members, a container's
// interfaces) and a trace's answer. Text goes in through textContent only: names are users'.

export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function dl(pairs) {
  const d = el('dl');
  for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== '') d.append(el('dt', {}, k), el('dd', {}, v));
  return d;
}

/** The selected network's members or container's interfaces, in `body`. */
export function showDetails(body, t, kind, ref) {
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


/**
 * A GET /trace answer in `box` (data-state says which kind, for people's styles and for tests):
 * unavailable (this weftd has no trace endpoint), error, reachable or unreachable.
 */
export function showTrace(box, from, to, status, body) {
  box.replaceChildren();
  if (status === 404 && (!body || body.message === 'page not found')) {
    box.dataset.state = 'unavailable';
    box.append(el('p', {}, 'trace unavailable: this weftd has no trace endpoint (GET /weft/trace).'));
    return;
  }
  if (status !== 200 || !body || !Array.isArray(body.steps)) {
    box.dataset.state = 'error';
    box.append(el('p', {}, `trace failed (${status}): ${body?.message ?? 'no answer'}`));
    return;
  }
  box.dataset.state = body.reachable ? 'reachable' : 'unreachable';
  box.append(el('div', { className: `verdict ${body.reachable ? 'yes' : 'no'}` }, body.reachable ? `✓ ${from} reaches ${to}` : `✗ ${from} cannot reach ${to}`));
  if (body.port) box.append(el('div', { className: 'muted' }, `port ${body.port}`));
  const ol = el('ol');
  for (const s of body.steps) ol.append(el('li', { className: s.ok ? 'ok' : 'fail' }, el('strong', {}, s.step), ': ', s.detail ?? ''));
  box.append(ol);
  const dis = body.disagreements ?? [];
  if (dis.length) box.append(el('div', { className: 'disagree' }, el('strong', {}, 'the kernel disagrees with the records: '), dis.map((d) => (typeof d === 'string' ? d : JSON.stringify(d))).join('; ')));
}
