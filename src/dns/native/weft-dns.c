// weft-dns: UDP front end and answer cache for weftd's embedded DNS.
//
//   weft-dns [--batch N]    N = datagrams per recvmmsg/sendmmsg (default 32, 1..1024)
//
// Node's dgram tops out around 100k qps; this loop (recvmmsg/sendmmsg) does more than twice that.
// weft-dns owns the UDP sockets, answers repeated queries from a cache and hands every other
// datagram to Node, which stays the only authority: it decides what is cached and when it is
// flushed. weft-dns never parses DNS names.
//
// stdin = control stream from Node, stdout = stream to Node, stderr = log (unusual events only).
// Framing, both directions: u32 len (bytes after it) · u8 type · payload; integers big-endian.
// ADDR (19 bytes) = u8 family (4|6) · 16 bytes address (IPv4 in the first 4) · u16 port.
//   Node -> weft-dns
//     1 LISTEN  u32 id · ADDR                  bind a UDP socket; answered by BOUND
//     2 CLOSE   u32 id                         close it, flush the cache; answered by CLOSED
//     3 REPLY   u32 id · ADDR(client) · u8 cache · u16 rotOff · u16 rotCount · u16 rotSize ·
//               u16 qlen · query[qlen] · reply[rest]
//                                              send reply to client; cache=1: store it under
//                                              (id, client family+address, query[2..qlen))
//     4 FLUSH                                  drop every cache entry
//     5 STATS   u32 token                      answered by STATS
//   weft-dns -> Node
//     11 QUERY  u32 id · ADDR(client) · query[rest]     every datagram that is not a cache hit
//     12 BOUND  u32 id · i32 errno (0 = bound)
//     13 CLOSED u32 id
//     15 STATS  u32 token · u64 hits · u64 misses · u64 dropped
// Every received datagram counts once: hits + misses + dropped = datagrams received (dropped =
// truncated datagrams, queries not handed to Node because its 8 MiB output buffer was full).
// A cache hit is the stored reply with the query's ID in bytes 0-1; records in
// [rotOff, rotOff + rotCount*rotSize) are rotated by one on every hit (round-robin).
// Exits 0 on EOF of stdin, non-zero on a framing error from Node.
//
// Build: gcc -O2 -Wall -o dist/native/weft-dns src/dns/native/weft-dns.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { T_LISTEN = 1, T_CLOSE = 2, T_REPLY = 3, T_FLUSH = 4, T_STATS = 5 };
enum { T_QUERY = 11, T_BOUND = 12, T_CLOSED = 13, T_STATS_R = 15 };

#define ADDR_LEN 19
#define DGRAM_BUF 4096          // receive buffer per datagram; larger ones are dropped
#define MAX_REPLY_CACHED 1232   // largest reply stored (EDNS safe size)
#define MAX_QUERY_CACHED 512
#define OUT_CAP (8u << 20)      // pending output to Node beyond which queries are dropped
#define IN_MAX_MSG (1u << 20)   // larger control messages are a framing error
#define FAIR_BATCHES 8          // recvmmsg rounds per readiness before serving other fds
#define CACHE_SLOTS 16384       // power of two
#define KEY_MAX (4 + 1 + 16 + MAX_QUERY_CACHED)
#define SOCKBUF (4 << 20)

static uint64_t st_hits, st_misses, st_dropped;
static int batch = 32;
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "weft-dns: %s\n", what);
  exit(1);
}

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8, p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = (uint8_t)v; }
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)(v >> 32)), wr32(p + 4, (uint32_t)v); }

// ---- output to Node: one buffer, written when stdout is writable, never blocking ----

static uint8_t *obuf;
static size_t ohead, otail, ocap;  // pending bytes are obuf[ohead..otail)
static int out_armed;              // EPOLLOUT registered on stdout
static int out_pollable = 1;       // stdout is something epoll accepts (not a regular file)
static int overflowing;            // currently dropping queries (logged once per episode)
static uint64_t overflow_dropped;

// Reserves n bytes at the tail. force=0 (queries): NULL if that would exceed OUT_CAP pending.
// Control answers are forced: they are tiny and Node waits for them.
static uint8_t *out_reserve(size_t n, int force) {
  size_t pending = otail - ohead;
  if (!force && pending + n > OUT_CAP) return NULL;
  if (otail + n > ocap) {
    // ocap is 2*OUT_CAP, so a query only gets here once ohead >= OUT_CAP: every byte moved
    // was preceded by at least as many written, so compaction stays amortized O(1).
    memmove(obuf, obuf + ohead, pending);
    ohead = 0, otail = pending;
    if (otail + n > ocap) {
      ocap = (otail + n) * 2;
      obuf = realloc(obuf, ocap);
      if (!obuf) die("out of memory");
    }
  }
  uint8_t *p = obuf + otail;
  otail += n;
  return p;
}

static uint8_t *out_msg(uint8_t type, size_t payload, int force) {
  uint8_t *p = out_reserve(5 + payload, force);
  if (!p) return NULL;
  wr32(p, (uint32_t)(1 + payload));
  p[4] = type;
  return p + 5;
}

static void out_arm(int on) {
  if (!out_pollable || on == out_armed) return;
  struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 1};
  if (epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, 1, &ev) < 0) {
    if (errno == EPERM) out_pollable = 0;  // regular file: writes never block anyway
    else die("epoll_ctl stdout failed");
    return;
  }
  out_armed = on;
}

static void out_flush(void) {
  while (otail > ohead) {
    ssize_t w = write(1, obuf + ohead, otail - ohead);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      fprintf(stderr, "weft-dns: write to node: %s, exiting\n", strerror(errno));
      exit(0);  // Node is gone (EPIPE): same as EOF on stdin
    }
    ohead += (size_t)w;
  }
  if (otail == ohead) {
    ohead = otail = 0;
    if (overflowing) {
      fprintf(stderr, "weft-dns: output to node drained, %llu queries dropped meanwhile\n",
              (unsigned long long)overflow_dropped);
      overflowing = 0;
    }
  }
  out_arm(otail > ohead);
}

// ---- listeners ----

struct listener {
  int fd;           // -1 = free slot
  uint32_t id;      // Node's id
  uint32_t serial;  // tells a stale epoll event (slot since closed or reused) from a live one
  uint8_t family;   // 4 or 6
  int warned_trunc;
};
static struct listener *lst;
static int nlst;
static uint32_t next_serial = 1;

static struct listener *find_listener(uint32_t id) {
  for (int i = 0; i < nlst; i++)
    if (lst[i].fd >= 0 && lst[i].id == id) return &lst[i];
  return NULL;
}

// Fills a sockaddr from an ADDR block; returns its length, 0 for an unknown family.
static socklen_t addr_from_block(const uint8_t *a, struct sockaddr_in6 *ss) {
  memset(ss, 0, sizeof(*ss));
  if (a[0] == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, a + 1, 4);
    memcpy(&s4->sin_port, a + 17, 2);  // both network order
    return sizeof(*s4);
  }
  if (a[0] == 6) {
    ss->sin6_family = AF_INET6;
    memcpy(&ss->sin6_addr, a + 1, 16);
    memcpy(&ss->sin6_port, a + 17, 2);
    return sizeof(*ss);
  }
  return 0;
}

// Writes the ADDR block for a received datagram's source.
static void block_from_addr(uint8_t *a, const struct sockaddr_in6 *ss) {
  memset(a, 0, ADDR_LEN);
  if (ss->sin6_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    a[0] = 4;
    memcpy(a + 1, &s4->sin_addr, 4);
    memcpy(a + 17, &s4->sin_port, 2);
  } else {
    a[0] = 6;
    memcpy(a + 1, &ss->sin6_addr, 16);
    memcpy(a + 17, &ss->sin6_port, 2);
  }
}

static void cache_flush(void);

static void close_listener(struct listener *l) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, l->fd, NULL);
  close(l->fd);
  l->fd = -1;
}

static int do_listen(uint32_t id, const uint8_t *a) {
  struct listener *old = find_listener(id);
  if (old) {
    close_listener(old);
    cache_flush();  // entries under this id were answers for the old address
  }
  struct sockaddr_in6 sa;
  socklen_t salen = addr_from_block(a, &sa);
  if (!salen) return EAFNOSUPPORT;
  int fd = socket(sa.sin6_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1, sz = SOCKBUF;
  if (sa.sin6_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // The *FORCE variants pass net.core.[rw]mem_max when we have CAP_NET_ADMIN (weftd does);
  // bursts of queries arrive faster than one loop iteration, so the buffer is what absorbs them.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  int slot = 0;
  while (slot < nlst && lst[slot].fd >= 0) slot++;
  if (slot == nlst) {
    struct listener *n = realloc(lst, (size_t)(nlst + 1) * sizeof(*lst));
    if (!n) die("out of memory");
    lst = n;
    nlst++;
  }
  struct listener *l = &lst[slot];
  l->fd = fd, l->id = id, l->family = a[0], l->serial = next_serial++, l->warned_trunc = 0;
  if (next_serial == 0) next_serial = 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)l->serial << 32 | (uint32_t)slot};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    close(fd);
    l->fd = -1;
    return e;
  }
  return 0;
}

// ---- cache: open addressing, linear probing, no deletions except flushing everything ----

struct entry {
  uint32_t hash;
  uint16_t klen, rlen;
  uint16_t rot_off, rot_count, rot_size;
  uint8_t data[];  // key[klen] then reply[rlen]
};
static struct entry *slots[CACHE_SLOTS];
static int ncached;

static void cache_flush(void) {
  if (!ncached) return;
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (slots[i]) free(slots[i]), slots[i] = NULL;
  ncached = 0;
}

// Key = listener id · family · 16-byte address · query without its ID. Port excluded: clients
// pick a fresh source port per query, the answer does not depend on it.
static size_t make_key(uint8_t *k, uint32_t id, const uint8_t *fam_addr17, const uint8_t *q, size_t qlen) {
  wr32(k, id);
  memcpy(k + 4, fam_addr17, 17);
  memcpy(k + 21, q + 2, qlen - 2);
  return 21 + qlen - 2;
}

// Seeded per process (getrandom at start) with a final mix, so a container cannot precompute
// query bytes whose keys pile up on one probe chain.
static uint32_t hash_seed = 2166136261u;

static uint32_t fnv1a(const uint8_t *p, size_t n) {
  uint32_t h = hash_seed;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  h ^= h >> 16, h *= 0x85ebca6bu, h ^= h >> 13, h *= 0xc2b2ae35u, h ^= h >> 16;
  return h;
}

// Returns the slot holding key, or the empty slot where it would go.
static int cache_find(const uint8_t *k, size_t klen, uint32_t h) {
  for (uint32_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
    struct entry *e = slots[i];
    if (!e || (e->hash == h && e->klen == klen && memcmp(e->data, k, klen) == 0)) return (int)i;
  }
}

static void cache_store(const uint8_t *k, size_t klen, const uint8_t *reply, size_t rlen,
                        uint16_t rot_off, uint16_t rot_count, uint16_t rot_size) {
  uint32_t h = fnv1a(k, klen);
  int i = cache_find(k, klen, h);
  if (!slots[i] && ncached >= CACHE_SLOTS / 2) {
    // Half full: start over rather than evict; bounds memory and keeps probe chains short.
    cache_flush();
    i = cache_find(k, klen, h);
  }
  struct entry *e = malloc(sizeof(*e) + klen + rlen);
  if (!e) return;
  e->hash = h, e->klen = (uint16_t)klen, e->rlen = (uint16_t)rlen;
  if (rot_count > 1 && rot_size > 0 && (uint64_t)rot_off + (uint64_t)rot_count * rot_size <= rlen)
    e->rot_off = rot_off, e->rot_count = rot_count, e->rot_size = rot_size;
  else
    e->rot_off = e->rot_count = e->rot_size = 0;
  memcpy(e->data, k, klen);
  memcpy(e->data + klen, reply, rlen);
  if (slots[i]) free(slots[i]);
  else ncached++;
  slots[i] = e;
}

// ---- datagrams from clients ----

static struct mmsghdr *rmsg, *smsg;
static struct iovec *riov, *siov;
static struct sockaddr_in6 *rname;
static uint8_t *rbuf, *sbuf;  // batch * DGRAM_BUF, batch * MAX_REPLY_CACHED

static void send_batch(int fd, struct mmsghdr *m, int n) {
  int off = 0;
  while (off < n) {
    int r = sendmmsg(fd, m + off, (unsigned)(n - off), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;  // socket buffer full: the clients will retry
      off++;                        // this one failed (e.g. unreachable): skip it, send the rest
      continue;
    }
    off += r;
  }
}

static void serve(struct listener *l) {
  uint8_t key[KEY_MAX], fa[ADDR_LEN];
  for (int round = 0; round < FAIR_BATCHES; round++) {
    for (int i = 0; i < batch; i++) {
      rmsg[i].msg_hdr.msg_name = &rname[i];
      rmsg[i].msg_hdr.msg_namelen = sizeof(rname[i]);
      rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(l->fd, rmsg, (unsigned)batch, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN (drained) or a transient socket error: epoll will call again
    }
    int nsend = 0;
    for (int i = 0; i < n; i++) {
      uint8_t *q = rbuf + (size_t)i * DGRAM_BUF;
      size_t qlen = rmsg[i].msg_len;
      if (rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
        st_dropped++;
        if (!l->warned_trunc) {
          fprintf(stderr, "weft-dns: listener %u: datagram over %d bytes dropped (further ones counted silently)\n",
                  l->id, DGRAM_BUF);
          l->warned_trunc = 1;
        }
        continue;
      }
      block_from_addr(fa, &rname[i]);
      if (ncached && qlen >= 12 && qlen <= MAX_QUERY_CACHED) {
        size_t klen = make_key(key, l->id, fa, q, qlen);
        uint32_t h = fnv1a(key, klen);
        struct entry *e = slots[cache_find(key, klen, h)];
        if (e) {
          uint8_t *rep = e->data + e->klen;
          if (e->rot_count > 1) {
            uint8_t tmp[MAX_REPLY_CACHED];
            uint8_t *r0 = rep + e->rot_off;
            size_t rest = (size_t)(e->rot_count - 1) * e->rot_size;
            memcpy(tmp, r0, e->rot_size);
            memmove(r0, r0 + e->rot_size, rest);
            memcpy(r0 + rest, tmp, e->rot_size);
          }
          uint8_t *out = sbuf + (size_t)nsend * MAX_REPLY_CACHED;
          memcpy(out, rep, e->rlen);
          out[0] = q[0], out[1] = q[1];
          siov[nsend].iov_base = out;
          siov[nsend].iov_len = e->rlen;
          smsg[nsend].msg_hdr.msg_name = &rname[i];
          smsg[nsend].msg_hdr.msg_namelen = rmsg[i].msg_hdr.msg_namelen;
          nsend++;
          st_hits++;
          continue;
        }
      }
      uint8_t *p = out_msg(T_QUERY, 4 + ADDR_LEN + qlen, 0);
      if (!p) {
        st_dropped++;
        overflow_dropped++;
        if (!overflowing) {
          fprintf(stderr, "weft-dns: output to node over %u bytes, dropping queries\n", OUT_CAP);
          overflowing = 1;
          overflow_dropped = 1;
        }
        continue;
      }
      wr32(p, l->id);
      memcpy(p + 4, fa, ADDR_LEN);
      memcpy(p + 4 + ADDR_LEN, q, qlen);
      st_misses++;
    }
    if (nsend) send_batch(l->fd, smsg, nsend);
    if (n < batch) return;
  }
}

// ---- control messages from Node ----

// Consecutive REPLYs for one listener are sent with one sendmmsg; iovecs point into the input
// buffer, so the batch is sent before anything else is processed or the buffer is compacted.
static struct mmsghdr *pmsg;
static struct iovec *piov;
static struct sockaddr_in6 *pname;
static int npend, pend_fd = -1;

static void reply_flush(void) {
  if (npend) send_batch(pend_fd, pmsg, npend);
  npend = 0;
  pend_fd = -1;
}

static void framing_error(const char *why, uint32_t len, uint8_t type) {
  fprintf(stderr, "weft-dns: framing error from node: %s (len %u, type %u), exiting\n", why, len, type);
  exit(3);
}

static void handle(const uint8_t *m, uint32_t len) {
  uint8_t type = m[0];
  const uint8_t *p = m + 1;
  uint32_t plen = len - 1;
  if (type != T_REPLY) reply_flush();
  switch (type) {
  case T_LISTEN: {
    if (plen != 4 + ADDR_LEN) framing_error("bad LISTEN length", len, type);
    uint32_t id = rd32(p);
    int e = do_listen(id, p + 4);
    if (e) fprintf(stderr, "weft-dns: listen %u: %s\n", id, strerror(e));
    uint8_t *o = out_msg(T_BOUND, 8, 1);
    wr32(o, id);
    wr32(o + 4, (uint32_t)e);
    break;
  }
  case T_CLOSE: {
    if (plen != 4) framing_error("bad CLOSE length", len, type);
    uint32_t id = rd32(p);
    struct listener *l = find_listener(id);
    if (l) close_listener(l);
    cache_flush();
    wr32(out_msg(T_CLOSED, 4, 1), id);
    break;
  }
  case T_REPLY: {
    if (plen < 4 + ADDR_LEN + 1 + 8) framing_error("short REPLY", len, type);
    uint32_t id = rd32(p);
    const uint8_t *a = p + 4;
    const uint8_t *f = a + ADDR_LEN;  // cache, rotOff, rotCount, rotSize, qlen
    uint16_t qlen = rd16(f + 7);
    const uint8_t *q = f + 9;
    size_t hdr = 4 + ADDR_LEN + 1 + 8;
    if (hdr + qlen > plen) framing_error("REPLY qlen past end", len, type);
    const uint8_t *rep = q + qlen;
    size_t rlen = plen - hdr - qlen;
    struct listener *l = find_listener(id);
    if (!l) break;  // closed meanwhile: the answer has nowhere to go, and must not be cached
    if (l->fd != pend_fd || npend == batch) reply_flush();
    struct sockaddr_in6 *sa = &pname[npend];
    socklen_t salen = addr_from_block(a, sa);
    if (!salen) break;
    piov[npend].iov_base = (void *)rep;
    piov[npend].iov_len = rlen;
    pmsg[npend].msg_hdr.msg_name = sa;
    pmsg[npend].msg_hdr.msg_namelen = salen;
    pend_fd = l->fd;
    npend++;
    if (f[0] == 1 && qlen >= 12 && qlen <= MAX_QUERY_CACHED && rlen >= 2 && rlen <= MAX_REPLY_CACHED) {
      uint8_t key[KEY_MAX], fa[17];
      fa[0] = a[0];
      memcpy(fa + 1, a + 1, 16);
      if (a[0] == 4) memset(fa + 5, 0, 12);  // canonical, like block_from_addr
      size_t klen = make_key(key, id, fa, q, qlen);
      cache_store(key, klen, rep, rlen, rd16(f + 1), rd16(f + 3), rd16(f + 5));
    }
    break;
  }
  case T_FLUSH:
    if (plen != 0) framing_error("bad FLUSH length", len, type);
    cache_flush();
    break;
  case T_STATS: {
    if (plen != 4) framing_error("bad STATS length", len, type);
    uint8_t *o = out_msg(T_STATS_R, 28, 1);
    memcpy(o, p, 4);
    wr64(o + 4, st_hits);
    wr64(o + 12, st_misses);
    wr64(o + 20, st_dropped);
    break;
  }
  default:
    framing_error("unknown type", len, type);
  }
}

static uint8_t *ibuf;
static size_t ilen;
#define IBUF_SIZE (2 * IN_MAX_MSG)

static void read_control(void) {
  ssize_t r = read(0, ibuf + ilen, IBUF_SIZE - ilen);
  if (r < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    fprintf(stderr, "weft-dns: read from node: %s, exiting\n", strerror(errno));
    exit(0);
  }
  if (r == 0) {
    if (ilen) fprintf(stderr, "weft-dns: EOF from node inside a message, exiting\n");
    exit(0);
  }
  ilen += (size_t)r;
  size_t off = 0;
  while (ilen - off >= 4) {
    uint32_t len = rd32(ibuf + off);
    if (len < 1 || len > IN_MAX_MSG) framing_error("bad length", len, ilen - off > 4 ? ibuf[off + 4] : 0);
    if (ilen - off - 4 < len) break;
    handle(ibuf + off + 4, len);
    off += 4 + len;
  }
  reply_flush();  // before compaction moves the bytes the iovecs point at
  memmove(ibuf, ibuf + off, ilen - off);
  ilen -= off;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n, sz);
  if (!p) die("out of memory");
  return p;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      batch = atoi(argv[++i]);
      if (batch < 1 || batch > 1024) batch = 32;  // sendmmsg takes at most UIO_MAXIOV (1024)
    } else {
      fprintf(stderr, "usage: weft-dns [--batch N]\n");
      return 2;
    }
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  if (getrandom(&hash_seed, sizeof hash_seed, 0) != sizeof hash_seed) hash_seed ^= (uint32_t)getpid();
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);

  rmsg = xcalloc((size_t)batch, sizeof(*rmsg));
  smsg = xcalloc((size_t)batch, sizeof(*smsg));
  pmsg = xcalloc((size_t)batch, sizeof(*pmsg));
  riov = xcalloc((size_t)batch, sizeof(*riov));
  siov = xcalloc((size_t)batch, sizeof(*siov));
  piov = xcalloc((size_t)batch, sizeof(*piov));
  rname = xcalloc((size_t)batch, sizeof(*rname));
  pname = xcalloc((size_t)batch, sizeof(*pname));
  rbuf = xcalloc((size_t)batch, DGRAM_BUF);
  sbuf = xcalloc((size_t)batch, MAX_REPLY_CACHED);
  for (int i = 0; i < batch; i++) {
    riov[i] = (struct iovec){rbuf + (size_t)i * DGRAM_BUF, DGRAM_BUF};
    rmsg[i].msg_hdr.msg_iov = &riov[i];
    rmsg[i].msg_hdr.msg_iovlen = 1;
    smsg[i].msg_hdr.msg_iov = &siov[i];
    smsg[i].msg_hdr.msg_iovlen = 1;
    pmsg[i].msg_hdr.msg_iov = &piov[i];
    pmsg[i].msg_hdr.msg_iovlen = 1;
  }
  ibuf = malloc(IBUF_SIZE);
  ocap = 2 * (size_t)OUT_CAP;  // untouched pages cost nothing
  obuf = malloc(ocap);
  if (!ibuf || !obuf) die("out of memory");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1 failed");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0) die("stdin is not pollable");

  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(epfd, evs, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait failed");
    }
    for (int i = 0; i < n; i++) {
      uint64_t d = evs[i].data.u64;
      if (d == 0) {
        read_control();
      } else if (d == 1) {
        out_flush();
      } else {
        uint32_t slot = (uint32_t)d, serial = (uint32_t)(d >> 32);
        // A control message earlier in this batch may have closed (or reused) the slot.
        if ((int)slot < nlst && lst[slot].fd >= 0 && lst[slot].serial == serial) serve(&lst[slot]);
      }
    }
    if (otail > ohead) out_flush();
  }
}
