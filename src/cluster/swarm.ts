import { EventEmitter } from 'node:events';
import { cpus, hostname, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../common/log.js';
import { ErrorCollector } from '../common/collect.js';
import { invalid } from '../common/errors.js';
import { nowRfc3339Nano } from '../common/time.js';
import { advertiseAddr, parseAddr, SWARM_PORT, joinHostPort, type HostPort } from './addr.js';
import type { Cluster, ClusterEvents, ClusterNode, ClusterRole } from './cluster.js';
import { EtcdMember, clientUrl, peerUrl } from './etcd.js';
import { admit } from './join-admit.js';
import { fetchTrustedCa, JoinServer, requestJoin, type JoinRequest, type JoinResponse } from './join-protocol.js';
import { keys, openEtcd, retryReconfig } from './kv.js';
import { Membership } from './membership.js';
import { msg, unavailable } from './messages.js';
import { CA_CERT, CA_KEY, createNodeKeyAndCsr, createRootCa, NODE_CERT, NODE_KEY, signNodeCsr, type SwarmRole } from './pki.js';
import { defaultSwarmSpec, mergeSpec, type ClusterRecord, type NodeRecord, type SwarmSpec } from './records.js';
import { newSecret, parseJoinToken, swarmId } from './tokens.js';

// This node's part in a swarm: init, join, leave, and the reactions to its own role changing
// (promote, demote, removal). State lives in <data-root>/swarm: state.json (who this node is),
// certificates/ (CA, node key and certificate, and the CA key on managers) and etcd/ (a
// manager's etcd member). weftd resumes from there after a restart; the etcd member has kept
// running meanwhile.

export interface SwarmHooks {
  /**
   * Runs after this node became active in a swarm (init, join, and on restart): where the
   * overlay work creates `ingress` (overlay, scope swarm, on a manager at init) and
   * `docker_gwbridge` (bridge, local). Not connected yet: the overlay driver does not exist.
   */
  createSwarmNetworks?(swarm: Swarm, how: 'init' | 'join' | 'resume'): Promise<void>;
  /** Runs after this node left the swarm (or was removed from it): remove what the hook above made. */
  removeSwarmNetworks?(swarm: Swarm): Promise<void>;
}

export interface SwarmOptions {
  dataRoot: string;
  engineVersion: string;
  log: Logger;
  hooks?: SwarmHooks;
  /** Seconds a node stays "ready" without a heartbeat (its lease TTL). Default 6. */
  heartbeatTtl?: number;
}

interface LocalState {
  nodeId: string;
  clusterId: string;
  role: SwarmRole;
  /** Advertise address (no port) and the port managers are reached on. */
  addr: string;
  port: number;
  listen: HostPort;
  /** etcd client URLs of the managers, as last known (a worker's way in after a restart). */
  endpoints: string[];
}

export interface InitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathPort?: number;
  SubnetSize?: number;
  DefaultAddrPool?: string[] | null;
  Spec?: Partial<SwarmSpec>;
}

export interface JoinSwarmRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  RemoteAddrs?: string[];
  JoinToken?: string;
  Availability?: 'active' | 'pause' | 'drain';
}

export class Swarm extends EventEmitter<ClusterEvents> implements Cluster {
  private state: LocalState | undefined;
  private client: Etcd3 | undefined;
  members: Membership | undefined;
  private joinServer: JoinServer | undefined;
  private readonly etcdMember: EtcdMember;
  private chain: Promise<unknown> = Promise.resolve();
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Info.Swarm.Error: why this node is not active (e.g. its store cannot be reached yet). */
  lastError = '';

  constructor(readonly opts: SwarmOptions) {
    super();
    this.etcdMember = new EtcdMember({ dir: this.dir('etcd'), certDir: this.dir('certificates'), log: opts.log.child({ part: 'etcd' }) });
  }

  // ---- the Cluster interface

  get mode() {
    return this.state ? ('swarm' as const) : ('none' as const);
  }
  get role(): ClusterRole {
    return this.state?.role ?? 'none';
  }
  get nodeId() {
    return this.state?.nodeId;
  }
  get addr() {
    return this.state?.addr;
  }
  get etcd() {
    return this.client;
  }
  get clusterId() {
    return this.state?.clusterId;
  }
  get advertised(): string | undefined {
    return this.state ? joinHostPort({ host: this.state.addr, port: this.state.port }) : undefined;
  }
  /** 'active' once the store answered since start; 'pending' while it has not. */
  get localState(): 'inactive' | 'pending' | 'active' {
    return !this.state ? 'inactive' : this.members ? 'active' : 'pending';
  }

  nodes(): ClusterNode[] {
    const m = this.members;
    if (!m) return [];
    return [...m.nodes.values()].map(({ value: n }) => ({ id: n.id, addr: n.addr, role: n.spec.Role, hostname: n.hostname, alive: m.alive.has(n.id) }));
  }

  dir(...parts: string[]): string {
    return join(this.opts.dataRoot, 'swarm', ...parts);
  }

  /** Runs state-changing steps one at a time (init, join, leave, role changes). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  // ---- start and stop of weftd

  /** Resumes a swarm this node was in before weftd restarted (never throws: it retries in the background). */
  async start(): Promise<void> {
    const file = this.dir('state.json');
    if (!existsSync(file)) return;
    try {
      this.state = JSON.parse(readFileSync(file, 'utf8')) as LocalState;
      if (this.state.role === 'manager') await this.etcdMember.ensure();
      this.client = await this.openClient();
      await this.connect('resume');
    } catch (err) {
      // A broken swarm state must not keep weftd from serving: it shows in Info.Swarm.Error.
      this.lastError = `cannot resume the swarm: ${(err as Error).message}`;
      this.opts.log.error({ err }, 'cannot resume the swarm');
    }
  }

  /** Ends weftd's part; the etcd member keeps running (it survives weftd restarts). */
  async close(): Promise<void> {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    await this.members?.close(false);
    await this.joinServer?.close();
    this.etcdMember.detach();
    this.client?.close();
  }

  /** Starts membership (heartbeat and watches) and the join listener; retries while etcd is away. */
  private async connect(how: 'init' | 'join' | 'resume'): Promise<void> {
    const st = this.state;
    if (!st || !this.client) return;
    const members = new Membership(this.client, st.nodeId, this.opts.heartbeatTtl ?? 6, this.opts.log.child({ part: 'membership' }));
    try {
      await members.start();
    } catch (err) {
      await members.close(false);
      if (how !== 'resume') throw err;
      this.lastError = `cannot reach the swarm's store yet: ${(err as Error).message}`;
      this.opts.log.warn({ err: String(err) }, 'swarm store unreachable; retrying');
      this.resumeTimer = setTimeout(() => {
        this.serial(() => this.connect('resume')).catch((e: unknown) => this.opts.log.error({ err: e }, 'swarm resume failed'));
      }, 2000);
      this.resumeTimer.unref();
      return;
    }
    this.lastError = '';
    this.members = members;
    this.wire(members);
    if (st.role === 'manager') await this.listenForJoins();
    await this.opts.hooks?.createSwarmNetworks?.(this, how);
    this.emit('role', st.role);
    this.emit('nodes', this.nodes());
  }

  private wire(m: Membership): void {
    m.on('changed', () => {
      this.rememberEndpoints();
      this.emit('nodes', this.nodes());
    });
    m.on('gone', (id, rec) => {
      if (rec) this.emit('nodeGone', { id, addr: rec.addr, role: rec.spec.Role, hostname: rec.hostname, alive: false });
    });
    m.on('self', (rec) => this.reactToOwnRecord(rec?.value));
  }

  /** Keeps the managers' client URLs in state.json, so that a worker finds them after a restart. */
  private rememberEndpoints(): void {
    const st = this.state;
    if (!st || !this.members) return;
    const urls = this.members.managers().map((n) => clientUrl(n.value.addr)).sort();
    if (urls.length && urls.join() !== [...st.endpoints].sort().join()) {
      st.endpoints = urls;
      this.save();
    }
  }

  private openClient(): Promise<Etcd3> {
    const st = this.state!;
    const certs = this.dir('certificates');
    const others = st.endpoints.filter((u) => u !== clientUrl(st.addr));
    const hosts = st.role === 'manager' ? [clientUrl('127.0.0.1'), ...others] : others.length ? others : st.endpoints;
    return openEtcd(hosts, {
      ca: readFileSync(join(certs, CA_CERT)),
      cert: readFileSync(join(certs, NODE_CERT)),
      key: readFileSync(join(certs, NODE_KEY)),
    });
  }

  private save(): void {
    writeFileSync(this.dir('state.json'), JSON.stringify(this.state, null, 2) + '\n');
  }

  private description(addr: string): Pick<JoinRequest, 'hostname' | 'engineVersion' | 'nanoCpus' | 'memoryBytes' | 'addr'> {
    return { hostname: hostname(), engineVersion: this.opts.engineVersion, nanoCpus: cpus().length * 1e9, memoryBytes: totalmem(), addr };
  }

  // ---- docker swarm init

  init(req: InitRequest): Promise<string> {
    return this.serial(async () => {
      if (this.state) throw unavailable(msg.alreadyInSwarm);
      const listen = parseAddr(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT, 'listen address');
      const adv = advertiseAddr(req.AdvertiseAddr, listen);
      const nodeId = swarmId();
      const clusterId = swarmId();
      const certs = this.dir('certificates');
      try {
        const ca = await createRootCa(certs);
        const cert = await signNodeCsr(certs, await createNodeKeyAndCsr(certs), { nodeId, clusterId, role: 'manager', addr: adv.host });
        writeFileSync(join(certs, NODE_CERT), cert);
        await this.etcdMember.bootstrap({ name: nodeId, addr: adv.host, initialCluster: `${nodeId}=${peerUrl(adv.host)}`, state: 'new', clusterToken: clusterId });
        await this.etcdMember.waitHealthy(20_000);
        this.state = { nodeId, clusterId, role: 'manager', addr: adv.host, port: adv.port, listen, endpoints: [clientUrl(adv.host)] };
        this.client = await this.openClient();
        const now = nowRfc3339Nano();
        const cluster: ClusterRecord = {
          id: clusterId, createdAt: now, updatedAt: now, spec: { ...mergeSpec(defaultSwarmSpec(), req.Spec), Name: 'default' }, caCert: ca,
          workerSecret: newSecret(), managerSecret: newSecret(), dataPathPort: req.DataPathPort || 4789, subnetSize: req.SubnetSize || 24, defaultAddrPool: req.DefaultAddrPool?.length ? req.DefaultAddrPool : null,
        };
        const node = this.nodeRecord(nodeId, 'manager', adv, now);
        const c = this.client;
        await c
          .if(keys.cluster, 'Create', '==', 0)
          .then(c.put(keys.cluster).value(JSON.stringify(cluster)), c.put(keys.caKey).value(readFileSync(join(certs, CA_KEY), 'utf8')), c.put(keys.node(nodeId)).value(JSON.stringify(node)))
          .commit();
        this.save();
        await this.connect('init');
        return nodeId;
      } catch (err) {
        await this.teardownLocal();
        throw err;
      }
    });
  }

  private nodeRecord(id: string, role: SwarmRole, adv: HostPort, now: string, availability: NodeRecord['spec']['Availability'] = 'active'): NodeRecord {
    const d = this.description(adv.host);
    return {
      id, createdAt: now, updatedAt: now, spec: { Labels: {}, Role: role, Availability: availability },
      hostname: d.hostname, engineVersion: d.engineVersion, nanoCpus: d.nanoCpus, memoryBytes: d.memoryBytes, addr: adv.host,
      managerAddr: role === 'manager' ? joinHostPort(adv) : '',
    };
  }

  private async listenForJoins(): Promise<void> {
    if (this.joinServer || !this.state) return;
    const certs = this.dir('certificates');
    const server = new JoinServer(
      { ca: readFileSync(join(certs, CA_CERT), 'utf8'), cert: readFileSync(join(certs, NODE_CERT), 'utf8'), key: readFileSync(join(certs, NODE_KEY), 'utf8') },
      (req) => admit(this, req),
      this.opts.log.child({ part: 'join' }),
    );
    await server.listen(this.state.listen);
    this.joinServer = server;
  }

  // ---- docker swarm join

  join(req: JoinSwarmRequest): Promise<void> {
    return this.serial(async () => {
      if (this.state) throw unavailable(msg.alreadyInSwarm);
      const token = parseJoinToken(req.JoinToken ?? '');
      const listen = parseAddr(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT, 'listen address');
      const remotes = (req.RemoteAddrs ?? []).map((r) => parseAddr(r, SWARM_PORT, 'remote address'));
      if (remotes.length === 0) throw invalid('at least 1 RemoteAddr is required to join');
      const certs = this.dir('certificates');
      let lastErr: unknown;
      for (const remote of remotes) {
        try {
          const { ca, localAddress } = await fetchTrustedCa(remote, token.digest);
          const adv = advertiseAddr(req.AdvertiseAddr, listen, localAddress);
          mkdirSync(certs, { recursive: true, mode: 0o700 });
          writeFileSync(join(certs, CA_CERT), ca);
          const csr = await createNodeKeyAndCsr(certs);
          const res = await requestJoin(remote, ca, { token: req.JoinToken!, csr, ...this.description(adv.host), availability: req.Availability });
          await this.enter(res, adv, listen);
          return;
        } catch (err) {
          lastErr = err;
          await this.teardownLocal();
          if ((err as { kind?: string }).kind === 'InvalidParameter') break; // the token was refused: another manager says the same
        }
      }
      throw lastErr;
    });
  }

  /** Takes a manager's join answer: certificates, the etcd member (manager) or client (worker). */
  private async enter(res: JoinResponse, adv: HostPort, listen: HostPort): Promise<void> {
    const certs = this.dir('certificates');
    writeFileSync(join(certs, NODE_CERT), res.cert);
    const clientUrls = res.members.filter((m) => m.name !== res.nodeId).flatMap((m) => m.clientURLs);
    this.state = { nodeId: res.nodeId, clusterId: res.clusterId, role: res.role, addr: adv.host, port: adv.port, listen, endpoints: clientUrls };
    if (res.role === 'manager') {
      writeFileSync(join(certs, CA_KEY), res.caKey ?? '', { mode: 0o600 });
      await this.startMemberAndPromote(res.members, res.memberId!);
    }
    this.client = await this.openClient();
    this.save();
    await this.connect('join');
  }

  /** Starts this node's etcd as a learner of the existing cluster and promotes it once it caught up. */
  private async startMemberAndPromote(members: { name: string; peerURLs: string[] }[], memberId: string): Promise<void> {
    const st = this.state!;
    const initialCluster = members.filter((m) => m.name).flatMap((m) => m.peerURLs.map((u) => `${m.name}=${u}`)).join(',');
    await this.etcdMember.bootstrap({ name: st.nodeId, addr: st.addr, initialCluster, state: 'existing', clusterToken: st.clusterId });
    const others = await openEtcd(st.endpoints.filter((u) => u !== clientUrl(st.addr)), {
      ca: readFileSync(this.dir('certificates', CA_CERT)), cert: readFileSync(this.dir('certificates', NODE_CERT)), key: readFileSync(this.dir('certificates', NODE_KEY)),
    });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await others.cluster.memberPromote({ ID: memberId });
          break;
        } catch (err) {
          // "can only promote a learner member which is in sync with leader": not yet.
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    } finally {
      others.close();
    }
    await this.etcdMember.waitHealthy(30_000);
  }

  // ---- this node's own record changed: promoted, demoted, removed

  /** Applies a change of this node's record; a failed step (etcd busy, a peer away) is retried until it holds. */
  private reactToOwnRecord(rec: NodeRecord | undefined): void {
    void this.serial(() => this.onOwnRecord(rec)).catch((err: unknown) => {
      this.opts.log.warn({ err: String(err) }, 'role change not applied yet; retrying');
      const retry = setTimeout(() => {
        const m = this.members;
        if (this.state && m) this.reactToOwnRecord(m.nodes.get(this.state.nodeId)?.value);
      }, 2000);
      retry.unref();
    });
  }

  private async onOwnRecord(rec: NodeRecord | undefined): Promise<void> {
    const st = this.state;
    if (!st) return;
    if (!rec) {
      this.opts.log.warn({}, 'this node was removed from the swarm');
      await this.teardownLocal();
      await this.opts.hooks?.removeSwarmNetworks?.(this);
      this.emit('role', 'none');
      return;
    }
    if (rec.spec.Role === st.role) return;
    if (rec.spec.Role === 'manager') await this.becomeManager(rec);
    else await this.becomeWorker();
  }

  private async becomeManager(rec: NodeRecord): Promise<void> {
    const st = this.state!;
    const etcd = this.client!;
    const caKey = await etcd.get(keys.caKey).string();
    writeFileSync(this.dir('certificates', CA_KEY), caKey ?? '', { mode: 0o600 });
    // A retried promotion finds the learner it added before (not started yet, so no name).
    const list = await etcd.cluster.memberList({});
    const mine = list.members.find((m) => m.peerURLs.includes(peerUrl(st.addr)));
    const added = mine
      ? { member: mine, members: list.members }
      : await retryReconfig(() => etcd.cluster.memberAdd({ peerURLs: [peerUrl(st.addr)], isLearner: true }));
    const members = added.members.map((m) => ({ name: m.ID === added.member.ID ? st.nodeId : m.name, peerURLs: m.peerURLs }));
    if (added.member.isLearner || !mine) await this.startMemberAndPromote(members, added.member.ID);
    else await this.etcdMember.ensure();
    await this.swapClient('manager');
    const latest = this.members?.nodes.get(st.nodeId)?.value ?? rec;
    await this.client!.put(keys.node(st.nodeId)).value(JSON.stringify({ ...latest, managerAddr: joinHostPort({ host: st.addr, port: st.port }), updatedAt: nowRfc3339Nano() })).exec();
    await this.listenForJoins();
    this.opts.log.info({}, 'this node is now a manager');
  }

  private async becomeWorker(): Promise<void> {
    await this.joinServer?.close();
    this.joinServer = undefined;
    await this.etcdMember.destroy();
    rmSync(this.dir('certificates', CA_KEY), { force: true });
    await this.swapClient('worker');
    this.opts.log.info({}, 'this node is now a worker');
  }

  /** A new role means other etcd endpoints: a new client, and membership restarted on it. */
  private async swapClient(role: SwarmRole): Promise<void> {
    const st = this.state!;
    st.role = role;
    st.endpoints = this.members?.managers().map((n) => clientUrl(n.value.addr)) ?? st.endpoints;
    if (role === 'worker') st.endpoints = st.endpoints.filter((u) => u !== clientUrl(st.addr));
    this.save();
    const old = this.client;
    await this.members?.close(false);
    this.members = undefined;
    this.client = await this.openClient();
    old?.close();
    await this.connect('resume');
  }

  // ---- docker swarm leave

  leave(force: boolean): Promise<void> {
    return this.serial(async () => {
      const st = this.state;
      if (!st) throw unavailable(msg.notInSwarm);
      const m = this.members;
      const managers = m?.managers() ?? [];
      if (st.role === 'manager' && !force) {
        const reachable = managers.filter((n) => m!.alive.has(n.value.id)).length;
        throw unavailable(msg.leaveManager(reachable, managers.length - reachable));
      }
      const etcd = this.client;
      if (st.role === 'manager' && etcd && managers.some((n) => n.value.id !== st.nodeId)) {
        // Leave etcd cleanly so that the others keep their quorum, and show as a worker that is down.
        await this.removeOwnMember(etcd).catch((err: unknown) => this.opts.log.warn({ err: String(err) }, 'could not remove this etcd member'));
        const own = m?.nodes.get(st.nodeId)?.value;
        if (own) await etcd.put(keys.node(st.nodeId)).value(JSON.stringify({ ...own, spec: { ...own.spec, Role: 'worker' }, managerAddr: '', updatedAt: nowRfc3339Nano() })).exec().catch(() => undefined);
      }
      await this.members?.close(true).catch(() => undefined);
      this.members = undefined;
      await this.teardownLocal();
      await this.opts.hooks?.removeSwarmNetworks?.(this);
      this.emit('role', 'none');
    });
  }

  private async removeOwnMember(etcd: Etcd3): Promise<void> {
    const list = await etcd.cluster.memberList({});
    const me = list.members.find((x) => x.name === this.state!.nodeId);
    if (me) await retryReconfig(() => etcd.cluster.memberRemove({ ID: me.ID }));
  }

  /** Forgets the swarm on this node: watches, join listener, etcd member and data, certificates, state. */
  private async teardownLocal(): Promise<void> {
    const errors = new ErrorCollector();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    await errors.attempt(async () => this.members?.close(true));
    this.members = undefined;
    await errors.attempt(async () => this.joinServer?.close());
    this.joinServer = undefined;
    await errors.attempt(() => this.etcdMember.destroy());
    await errors.attempt(async () => this.client?.close());
    this.client = undefined;
    this.state = undefined;
    await errors.attempt(async () => rmSync(this.dir(), { recursive: true, force: true }));
    errors.throwIfAny('leaving the swarm');
  }
}
