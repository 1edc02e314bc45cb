import { X509Certificate } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { WeftError, statusOf, systemError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { joinHostPort, type HostPort } from './addr.js';
import { msg } from './messages.js';
import { issuedBy, type SwarmRole } from './pki.js';
import { caDigest } from './tokens.js';

// The join port (2377): HTTPS with JSON bodies, served by every manager with its node
// certificate (chained to the swarm CA). A joining node first fetches the CA's PEM without
// trusting anyone, checks its sha256 against the digest in its token and that the server's
// certificate was issued by that CA, then sends the token's secret and a CSR over a
// connection pinned to that CA. The manager answers with a signed certificate and what the
// node needs to reach etcd.

export interface JoinRequest {
  token: string;
  csr: string;
  addr: string;
  hostname: string;
  engineVersion: string;
  nanoCpus: number;
  memoryBytes: number;
  availability?: 'active' | 'pause' | 'drain';
}

export interface EtcdMemberInfo {
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export interface JoinResponse {
  nodeId: string;
  clusterId: string;
  role: SwarmRole;
  cert: string;
  /** Present for a manager: it signs later joins. */
  caKey?: string;
  /** The etcd members (a joining manager's own learner entry included, with no name yet). */
  members: EtcdMemberInfo[];
  /** etcd's ID of the learner added for a joining manager, to promote once it is in sync. */
  memberId?: string;
  clusterToken: string;
}

export type JoinHandler = (req: JoinRequest) => Promise<JoinResponse>;

const MAX_BODY = 64 * 1024;

export class JoinServer {
  private server: Server | undefined;

  constructor(
    private readonly tls: { ca: string; cert: string; key: string },
    private readonly handler: JoinHandler,
    private readonly log: Logger,
  ) {}

  async listen(at: HostPort): Promise<void> {
    const server = createServer({ cert: this.tls.cert + this.tls.ca, key: this.tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
      void this.serve(req).then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        },
        () => res.destroy(),
      );
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private async serve(req: IncomingMessage): Promise<{ status: number; type: string; body: string }> {
    try {
      if (req.method === 'GET' && req.url === '/ca') return { status: 200, type: 'application/x-pem-file', body: this.tls.ca };
      if (req.method === 'POST' && req.url === '/join') {
        const body = JSON.parse(await readBody(req)) as JoinRequest;
        return { status: 200, type: 'application/json', body: JSON.stringify(await this.handler(body)) };
      }
      return { status: 404, type: 'application/json', body: JSON.stringify({ message: 'page not found' }) };
    } catch (err) {
      if (!(err instanceof WeftError)) this.log.error({ err }, 'join request failed');
      return { status: statusOf(err), type: 'application/json', body: JSON.stringify({ message: (err as Error).message }) };
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > MAX_BODY) req.destroy(new Error('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

interface Answer {
  status: number;
  body: string;
  socket: TLSSocket;
}

function call(remote: HostPort, method: string, path: string, ca: string | undefined, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: remote.host, port: remote.port, method, path, timeout: 10_000, agent: false, servername: '', // no SNI for an IP (RFC 6066)
        // First contact trusts nobody (the CA is checked by digest); afterwards the CA is pinned
        // and the manager may be reached by any of its addresses, so the name is not checked.
        ...(ca ? { ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false }),
        headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, socket: res.socket as TLSSocket }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out reaching ${joinHostPort(remote)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Fetches and checks the manager's CA; returns its PEM and the local address used to reach it. */
export async function fetchTrustedCa(remote: HostPort, expectedDigest: string): Promise<{ ca: string; localAddress: string }> {
  const a = await call(remote, 'GET', '/ca', undefined).catch((err: Error) => {
    throw systemError(`could not reach the manager at ${joinHostPort(remote)}: ${err.message}`);
  });
  if (a.status !== 200 || caDigest(a.body) !== expectedDigest) throw systemError(msg.caMismatch(expectedDigest));
  const peer = a.socket.getPeerCertificate();
  const peerPem = peer?.raw ? new X509Certificate(peer.raw).toString() : '';
  if (!issuedBy(peerPem, a.body)) throw systemError(msg.caMismatch(expectedDigest));
  return { ca: a.body, localAddress: a.socket.localAddress ?? '' };
}

/** Sends the join request over a connection pinned to ca; the manager's refusal keeps its status. */
export async function requestJoin(remote: HostPort, ca: string, req: JoinRequest): Promise<JoinResponse> {
  const a = await call(remote, 'POST', '/join', ca, JSON.stringify(req));
  if (a.status === 200) return JSON.parse(a.body) as JoinResponse;
  let message = a.body;
  try {
    message = (JSON.parse(a.body) as { message: string }).message;
  } catch {
    /* not JSON */
  }
  throw new WeftError(a.status === 400 ? 'InvalidParameter' : a.status === 503 ? 'Unavailable' : 'System', message);
}
