import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';

// The swarm's certificates, made with the openssl CLI (Node 20 cannot write X.509 itself; this
// runs at init, join and promote only). As in swarmkit: an ECDSA P-256 root "swarm-ca" valid
// 20 years, and node certificates valid 90 days whose subject is O=<cluster ID>,
// OU=<swarm-manager|swarm-worker>, CN=<node ID>. Each node makes its own key and a CSR; a
// manager signs it. Node certificates serve etcd's peer and client TLS and the join port.

export const CA_CERT = 'swarm-root-ca.crt';
export const CA_KEY = 'swarm-root-ca.key';
export const NODE_CERT = 'swarm-node.crt';
export const NODE_KEY = 'swarm-node.key';

export type SwarmRole = 'manager' | 'worker';
export const roleOU = (role: SwarmRole) => (role === 'manager' ? 'swarm-manager' : 'swarm-worker');

// string_mask=default encodes "swarm-ca" as a PrintableString, so the issuer's DER is swarmkit's.
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
string_mask = default
prompt = no
[dn]
CN = swarm-ca
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

function configFile(dir: string): string {
  const path = join(dir, 'openssl.cnf');
  if (!existsSync(path)) writeFileSync(path, OPENSSL_CONFIG);
  return path;
}

/** Creates the cluster's root CA (key and certificate) in dir; returns the certificate's PEM. */
export async function createRootCa(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await run('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, CA_KEY), '-out', join(dir, CA_CERT), '-days', '7300', '-config', configFile(dir), '-extensions', 'v3_ca']);
  return readFileSync(join(dir, CA_CERT), 'utf8');
}

/** A new node key in dir and a CSR for it (the signer sets the subject). */
export async function createNodeKeyAndCsr(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, NODE_KEY), '-subj', '/CN=pending', '-config', configFile(dir)]);
}

export interface NodeIdentity {
  nodeId: string;
  clusterId: string;
  role: SwarmRole;
  /** The node's advertise address: etcd and the join port are reached on it, so it is a SAN. */
  addr: string;
}

/** Signs a CSR with the CA in caDir: a 90-day certificate for both TLS server and client use. */
export async function signNodeCsr(caDir: string, csrPem: string, who: NodeIdentity): Promise<string> {
  if (!/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----\s*$/.test(csrPem)) throw new Error('not a PEM certificate request');
  const ext = join(caDir, `ext-${randomBytes(4).toString('hex')}.cnf`);
  const ipSan = /^[0-9.]+$/.test(who.addr) || who.addr.includes(':') ? `IP:${who.addr}` : `DNS:${who.addr}`;
  writeFileSync(ext, `[node]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:${roleOU(who.role)},DNS:${who.nodeId},DNS:localhost,IP:127.0.0.1,${ipSan}
`);
  try {
    return await run('openssl', ['x509', '-req', '-CA', join(caDir, CA_CERT), '-CAkey', join(caDir, CA_KEY),
      '-set_serial', '0x' + randomBytes(16).toString('hex'), '-days', '90',
      '-subj', `/O=${who.clusterId}/OU=${roleOU(who.role)}/CN=${who.nodeId}`, '-extfile', ext, '-extensions', 'node'], csrPem);
  } finally {
    rmSync(ext, { force: true });
  }
}

/** Whether cert was signed by ca (the check a joining node makes of the manager it reached). */
export function issuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** GET /swarm's TLSInfo: the root's PEM, and its subject and public key as base64 DER. */
export function tlsInfo(caPem: string): { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string } {
  const cert = new X509Certificate(caPem);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { TrustRoot: caPem, CertIssuerSubject: derSubject(cert.raw).toString('base64'), CertIssuerPublicKey: spki.toString('base64') };
}

/** A DER element's header: where its content starts and how long it is. */
function derElement(buf: Buffer, at: number): { start: number; end: number } {
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i];
    start += n;
  }
  return { start, end: start + len };
}

/** The subject Name of a certificate, as DER (X509Certificate only gives it as text). */
function derSubject(der: Buffer): Buffer {
  const cert = derElement(der, 0);
  const tbs = derElement(der, cert.start);
  let at = tbs.start;
  // version [0] (optional), serial, signature algorithm, issuer, validity, subject
  const skip = der[at] === 0xa0 ? 5 : 4;
  for (let i = 0; i < skip; i++) at = derElement(der, at).end;
  return der.subarray(at, derElement(der, at).end);
}
