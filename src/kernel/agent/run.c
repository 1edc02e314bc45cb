// One request: a plan of steps, run in order, answered with one result per step run.
//
// Wire format (integers big-endian), framed by main.c as u32 len · body:
//   request  = u32 id · u8 flags · u16 nsteps · step*
//              flags: 1 = force (keep going past failures), 2 = background lane
//   step     = u8 op · u8 tolerate · u32 attrs_len · attr*
//              tolerate: 1 = "exists" (EEXIST), 2 = "gone" (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL), 4 = any
//   attr     = u8 type · u32 len · bytes     (numbers: 4 bytes; strings: bytes without NUL)
//   response = u32 id · u32 exec_us · u16 nresults · result*
//   result   = u16 index · i32 errno · u8 tolerated · u32 msg_len · msg · u32 data_len · data
// A failing step that its tolerance does not excuse ends the plan (results stop there) unless
// force is set. A malformed request is answered with one result of index 0xffff and EPROTO.
#include "agent.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

typedef int (*op_fn)(struct lane *, const struct step *, struct result *);

static const op_fn OPS[OP_MAX] = {
  [OP_LINK_ADD] = op_link_add, [OP_LINK_SET] = op_link_set, [OP_LINK_DEL] = op_link_del,
  [OP_ADDR_ADD] = op_addr, [OP_ADDR_REPLACE] = op_addr, [OP_ADDR_DEL] = op_addr,
  [OP_ROUTE_ADD] = op_route, [OP_ROUTE_REPLACE] = op_route, [OP_ROUTE_DEL] = op_route,
  [OP_NEIGH_REPLACE] = op_neigh, [OP_NEIGH_DEL] = op_neigh,
  [OP_FDB_APPEND] = op_fdb, [OP_FDB_REPLACE] = op_fdb, [OP_FDB_DEL] = op_fdb,
  [OP_SYSCTL] = op_sysctl,
  [OP_NETNS_CREATE] = op_netns_create, [OP_NETNS_DELETE] = op_netns_delete, [OP_NETNS_EXISTS] = op_netns_exists,
  [OP_NFT_APPLY] = op_nft, [OP_NFT_CHECK] = op_nft, [OP_NFT_LIST] = op_nft,
  [OP_LINK_LIST] = op_link_list, [OP_LINK_GET] = op_link_get, [OP_ROUTE_LIST] = op_route_list,
};

static void free_step(struct step *st) {
  for (int a = 0; a < A_MAX; a++) free(st->str[a]);
  memset(st, 0, sizeof *st);
}

/** Decodes the step at *p; returns bytes used, or -1 when malformed. */
static long decode_step(const uint8_t *p, size_t left, struct step *st) {
  memset(st, 0, sizeof *st);
  if (left < 6) return -1;
  st->op = p[0];
  st->tolerate = p[1];
  uint32_t alen = rd32(p + 2);
  if (alen > left - 6) return -1;
  const uint8_t *a = p + 6, *end = a + alen;
  while (a < end) {
    if (end - a < 5) return -1;
    uint8_t type = a[0];
    uint32_t len = rd32(a + 1);
    a += 5;
    if (len > (size_t)(end - a) || type == 0 || type >= A_MAX || HAS(st, type)) return -1;
    st->str[type] = strndup((const char *)a, len); // numbers too (harmless); TS never sends NUL in strings
    if (len == 4) st->num[type] = rd32(a);
    st->has |= 1ull << type;
    a += len;
  }
  return 6 + (long)alen;
}

static bool tolerated(int tol, int err) {
  if (tol & TOL_ANY) return true;
  if ((tol & TOL_EXISTS) && err == EEXIST) return true;
  return (tol & TOL_GONE) && (err == ENODEV || err == ENOENT || err == ESRCH || err == EADDRNOTAVAIL);
}

static void put_result(struct buf *out, uint16_t index, const struct result *r, bool tol) {
  buf_u16(out, index);
  buf_u32(out, (uint32_t)r->err);
  buf_u8(out, tol);
  size_t mlen = r->err ? strlen(r->msg) : 0;
  buf_u32(out, (uint32_t)mlen);
  buf_put(out, r->msg, mlen);
  buf_u32(out, (uint32_t)r->data.len);
  if (r->data.len) buf_put(out, r->data.p, r->data.len);
}

void agent_run(struct lane *l, const uint8_t *req, size_t len, struct buf *out) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (l->seen_gen != ns_generation) lane_sweep(l);
  uint32_t id = len >= 4 ? rd32(req) : 0;
  buf_u32(out, id);
  size_t exec_at = out->len;
  buf_u32(out, 0);  // exec_us, filled in below
  size_t count_at = out->len;
  buf_u16(out, 0);  // nresults
  uint16_t n = 0;
  struct result r = {0};
  if (len < 7) {
    fail(&r, EPROTO, "malformed request");
    put_result(out, 0xffff, &r, false);
    n = 1;
    goto done;
  }
  bool force = req[4] & 1;
  uint16_t nsteps = rd16(req + 5);
  size_t off = 7;
  for (uint16_t i = 0; i < nsteps; i++) {
    struct step st;
    long used = decode_step(req + off, len - off, &st);
    memset(&r, 0, sizeof r);
    if (used < 0 || st.op == 0 || st.op >= OP_MAX || !OPS[st.op]) {
      free_step(&st);
      fail(&r, EPROTO, used < 0 ? "malformed step %u" : "unknown operation in step %u", i);
      put_result(out, used < 0 ? 0xffff : i, &r, false);
      n++;
      break;
    }
    off += (size_t)used;
    int rc = OPS[st.op](l, &st, &r);
    bool tol = rc < 0 && tolerated(st.tolerate, r.err);
    if (rc < 0 && !r.err) r.err = EIO;
    if (rc == 0) r.err = 0;
    put_result(out, i, &r, tol);
    n++;
    buf_free(&r.data);
    free_step(&st);
    if (rc < 0 && !tol && !force) break;
  }
done:
  clock_gettime(CLOCK_MONOTONIC, &t1);
  uint32_t us = (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
  uint8_t *e = out->p + exec_at;
  e[0] = us >> 24, e[1] = us >> 16, e[2] = us >> 8, e[3] = (uint8_t)us;
  out->p[count_at] = n >> 8, out->p[count_at + 1] = (uint8_t)n;
}
