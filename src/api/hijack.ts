import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { API_VERSION, type Hijacked } from './router.js';
import { ClientGone } from './scope.js';
import { invalid } from '../common/errors.js';

// The two ways a client takes over a connection for attach and exec start: an HTTP upgrade (the
// docker CLI; the socket then carries stdin in and the stream out) or a plain request whose
// response is the stream (dockerode without hijack). Either way nothing is written once the
// client is gone, and nothing here can throw into the event loop.

const UPGRADE_BODY_TIMEOUT_MS = 30_000;
/** How often a half-closed client is checked for being gone (the docker CLI half-closes when it has no stdin). */
const HALF_CLOSED_PROBE_MS = 1000;
/** Stdin a client sends before the 101 is kept up to this much (the docker CLI sends none). */
const EARLY_STDIN_MAX = 1 << 20;

export function commonHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `Docker/weft (linux)` };
}

/** A plain request: the response body is the stream; there is no stdin. */
export function plainHijack(res: ServerResponse, sendJson: (status: number, body?: unknown) => void): Hijacked {
  return {
    upgraded: false,
    get begun() {
      return res.headersSent;
    },
    begin(contentType) {
      if (!res.destroyed) {
        res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType });
        res.flushHeaders();
      }
      return { out: res, stdin: null };
    },
    respond: sendJson,
  };
}

/**
 * An upgraded connection: 101 UPGRADED, then raw bytes both ways. The socket is read from the
 * start, so that a client that goes away is seen at once, even by a stream that never writes.
 * EOF alone cannot tell a client that left from one that only closed its stdin (the docker CLI
 * half-closes at once when it has no stdin to send, and after `exec -i` input); on a unix socket
 * an empty write can: it fails with EPIPE once the peer has closed for good and succeeds after a
 * half-close. (dockerd notices a gone client only at its stream's next write.)
 */
export function upgradeHijack(socket: Socket): Hijacked {
  let begun = false;
  let stdin: PassThrough | null = null;
  let early: Buffer[] | null = [];
  let earlyBytes = 0;
  let halfClosed = false;
  socket.on('data', (d: Buffer) => {
    if (stdin) {
      if (!stdin.write(d)) {
        socket.pause();
        stdin.once('drain', () => socket.resume());
      }
    } else if (early) {
      early.push(d);
      earlyBytes += d.length;
      if (earlyBytes > EARLY_STDIN_MAX) socket.destroy();
    } // else: stdin was not asked for; the bytes are dropped
  });
  // After a half-close the client is only seen to go when an empty write fails: probe every second.
  const probe = () => socket.write(Buffer.alloc(0), (err) => err && socket.destroy());
  let prober: NodeJS.Timeout | null = null;
  socket.on('end', () => {
    socket.write(Buffer.alloc(0), (err) => {
      if (err) return socket.destroy();
      halfClosed = true;
      stdin?.end();
      prober = setInterval(probe, HALF_CLOSED_PROBE_MS);
      prober.unref();
    });
  });
  socket.on('close', () => prober && clearInterval(prober));
  socket.resume();
  return {
    upgraded: true,
    get begun() {
      return begun;
    },
    begin(contentType, wantStdin = false) {
      begun = true;
      if (!socket.destroyed) socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
      let input: Readable | null = null;
      if (wantStdin) {
        stdin = new PassThrough();
        for (const b of early ?? []) stdin.write(b);
        if (halfClosed) stdin.end();
        input = stdin;
      }
      early = null;
      return { out: socket as Writable, stdin: input };
    },
    respond(status, body) {
      begun = true;
      const text = body === undefined ? '' : JSON.stringify(body);
      if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Status'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${text}`);
    },
  };
}

/** An error answer on an upgrade socket that was not upgraded yet. */
export function upgradeError(socket: Socket, status: number, body: string): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`);
}

/**
 * Reads exactly Content-Length body bytes that follow the headers of an upgrade request; the rest
 * is put back on the socket (it is stdin). Rejects if the client leaves or stalls before the body
 * is complete.
 */
export function readUpgradeBody(req: IncomingMessage, socket: Socket, head: Buffer, max: number): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? 0) || 0;
  // refused before a byte is read: the socket is answered and closed (upgradeError)
  if (length > max) return Promise.reject(invalid('request body too large'));
  return new Promise((resolve, reject) => {
    let buf = head;
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
    };
    const finish = () => {
      cleanup();
      socket.pause();
      const rest = buf.subarray(length);
      if (rest.length) socket.unshift(rest);
      resolve(buf.subarray(0, length));
    };
    const chunks: Buffer[] = [head];
    let got = head.length;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk); // one concat at the end: a body in many small chunks stays linear
      got += chunk.length;
      if (got >= length) {
        buf = Buffer.concat(chunks);
        finish();
      }
    };
    const onGone = () => {
      cleanup();
      socket.destroy();
      reject(new ClientGone());
    };
    const timer = setTimeout(onGone, UPGRADE_BODY_TIMEOUT_MS);
    timer.unref();
    if (buf.length >= length) return finish();
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
  });
}
