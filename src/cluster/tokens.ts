import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalid } from '../common/errors.js';

// Swarm's identifiers and join tokens, in swarmkit's encodings (ca/config.go, identity/randomid.go):
// an ID is 128 random bits in base 36, zero-padded to 25 characters; a join token is
// SWMTKN-1-<sha256 of the CA certificate's PEM, base 36, padded to 50>-<128-bit secret, base 36, padded to 25>.

const SECRET_LEN = 25; // ceil(log36(2^128 - 1))
const DIGEST_LEN = 50; // ceil(log36(2^256 - 1))

const base36 = (buf: Buffer, width: number) => BigInt('0x' + buf.toString('hex')).toString(36).padStart(width, '0');

/** A swarm object ID (node, cluster): 25 base-36 characters. */
export function swarmId(): string {
  return base36(randomBytes(16), SECRET_LEN);
}

/** Hex sha256 of a CA certificate as PEM text (swarmkit's RootCA.Digest). */
export function caDigest(caPem: string): string {
  return createHash('sha256').update(caPem).digest('hex');
}

export function newSecret(): string {
  return base36(randomBytes(16), SECRET_LEN);
}

export function joinToken(caDigestHex: string, secret: string): string {
  return `SWMTKN-1-${BigInt('0x' + caDigestHex).toString(36).padStart(DIGEST_LEN, '0')}-${secret}`;
}

export interface ParsedToken {
  /** The CA digest the token pins, as 64 hex digits. */
  digest: string;
  secret: string;
}

/** Splits a token as swarmkit's getCAHashFromToken does; anything else is Docker's "invalid join token". */
export function parseJoinToken(token: string): ParsedToken {
  const parts = token.split('-');
  if (parts.length !== 4 || parts[0] !== 'SWMTKN' || parts[1] !== '1' || !/^[0-9a-z]+$/.test(parts[2]) || !/^[0-9a-z]+$/.test(parts[3])) {
    throw invalid('invalid join token');
  }
  let n = 0n;
  for (const ch of parts[2]) n = n * 36n + BigInt(parseInt(ch, 36));
  const digest = n.toString(16).padStart(64, '0');
  if (digest.length !== 64) throw invalid('invalid join token');
  return { digest, secret: parts[3] };
}

/** Constant-time comparison of a presented secret with the current one. */
export function secretMatches(presented: string, current: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(current);
  return a.length === b.length && timingSafeEqual(a, b);
}
