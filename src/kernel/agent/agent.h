// weft-kernel: weftd's kernel agent (netlink, nftables, namespaces, sysctls in one process).
// Shared declarations of its parts; the wire format is described in run.c, the process in main.c.
#ifndef WEFT_KERNEL_AGENT_H
#define WEFT_KERNEL_AGENT_H
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// ---- growable byte buffer (responses, JSON) ----
struct buf {
  uint8_t *p;
  size_t len, cap;
};
void buf_put(struct buf *b, const void *data, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_u16(struct buf *b, uint16_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json_str(struct buf *b, const char *s);
void buf_free(struct buf *b);

// ---- one step of a plan, decoded ----
enum op {
  OP_LINK_ADD = 1, OP_LINK_SET, OP_LINK_DEL,
  OP_ADDR_ADD, OP_ADDR_REPLACE, OP_ADDR_DEL,
  OP_ROUTE_ADD, OP_ROUTE_REPLACE, OP_ROUTE_DEL,
  OP_NEIGH_REPLACE, OP_NEIGH_DEL,
  OP_FDB_APPEND, OP_FDB_REPLACE, OP_FDB_DEL,
  OP_SYSCTL,
  OP_NETNS_CREATE, OP_NETNS_DELETE, OP_NETNS_EXISTS,
  OP_NFT_APPLY, OP_NFT_CHECK, OP_NFT_LIST,
  OP_LINK_LIST, OP_LINK_GET, OP_ROUTE_LIST,
  OP_MAX
};

enum attr {
  A_NS = 1,      // namespace path the step runs in (absent: the agent's own)
  A_NAME, A_KIND, A_MTU, A_MAC, A_UP, A_MASTER, A_ALIAS, A_PARENT, A_NETNS,
  A_PEER_NAME, A_PEER_NETNS, A_PEER_MAC, A_PEER_MTU,
  A_MODE, A_VLAN_ID, A_VNI, A_LOCAL, A_REMOTE, A_PORT, A_LEARNING, A_TTL,
  A_HAIRPIN, A_NEWNAME,
  A_CIDR, A_BROADCAST, A_NODAD, A_NOPREFIXROUTE,
  A_DST, A_VIA, A_DEV, A_SRC, A_METRIC, A_FAMILY,
  A_IP, A_ASMASTER,
  A_KEY, A_VALUE, A_PATH, A_SCRIPT,
  A_PROXY,
  A_MAX
};

enum { TOL_EXISTS = 1, TOL_GONE = 2, TOL_ANY = 4 };

struct step {
  uint8_t op, tolerate;
  uint64_t has;            // bit per attr present
  char *str[A_MAX];        // NUL-terminated copies (strings)
  uint32_t num[A_MAX];     // numbers (attrs of 4 bytes)
};
#define HAS(st, a) (((st)->has >> (a)) & 1)
#define STR(st, a) ((st)->str[a]) // NULL when absent

struct result {
  int err;                 // 0 or a positive errno
  char msg[768];
  struct buf data;         // JSON text of a query
};
int fail(struct result *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// ---- netlink sockets, one per (lane, namespace) ----
struct mnl_socket;
struct nlsock {
  struct mnl_socket *nl;
  uint32_t portid, seq;
};
struct nsent {
  char *path;
  dev_t dev;
  ino_t ino;
  struct nlsock sock;
  uint64_t used;           // lane clock at last use (LRU)
};
// A lane runs requests one after another; lanes run side by side (main.c: the foreground lane and
// the background lane for slow deletions). Each owns its sockets and namespace cache.
struct lane {
  int id;
  int own_fd;              // the namespace this lane returns to after entering another
  struct nlsock own;
  struct nsent *cache;
  int ncache, capcache;
  uint64_t clock, seen_gen;
};
int lane_init(struct lane *l, int id);
struct nlsock *lane_sock(struct lane *l, const char *ns, struct result *r);
int lane_enter(struct lane *l, const char *ns, struct result *r);   // setns into ns (0 / -1)
void lane_leave(struct lane *l);                                    // back to own_fd
int lane_adopt(struct lane *l, const char *path, struct nlsock *s); // cache a socket made inside path
void lane_sweep(struct lane *l);                                    // drop sockets of gone namespaces
int open_ns(const char *path, struct result *r);
extern volatile uint64_t ns_generation;                             // bumped when a namespace is deleted
extern void (*ns_deleted_hook)(void);                               // wakes other lanes (main.c)

int nl_open(struct nlsock *s, struct result *r);
void nl_close(struct nlsock *s);
struct nlmsghdr;
typedef int (*nl_each)(const struct nlmsghdr *nlh, void *data);
int nl_talk(struct nlsock *s, struct nlmsghdr *nlh, struct result *r);                  // request + ack
int nl_query(struct nlsock *s, struct nlmsghdr *nlh, nl_each cb, void *data, struct result *r); // replies or dump
int nl_ifindex(struct nlsock *s, const char *name, struct result *r);                    // > 0, or 0 with r set
int nl_link_up(struct nlsock *s, int index, struct result *r);

// ---- the operations ----
int op_link_add(struct lane *l, const struct step *st, struct result *r);
int op_link_set(struct lane *l, const struct step *st, struct result *r);
int op_link_del(struct lane *l, const struct step *st, struct result *r);
int op_addr(struct lane *l, const struct step *st, struct result *r);
int op_route(struct lane *l, const struct step *st, struct result *r);
int op_neigh(struct lane *l, const struct step *st, struct result *r);
int op_fdb(struct lane *l, const struct step *st, struct result *r);
int op_sysctl(struct lane *l, const struct step *st, struct result *r);
int op_netns_create(struct lane *l, const struct step *st, struct result *r);
int op_netns_delete(struct lane *l, const struct step *st, struct result *r);
int op_netns_exists(struct lane *l, const struct step *st, struct result *r);
int op_nft(struct lane *l, const struct step *st, struct result *r);
int op_link_list(struct lane *l, const struct step *st, struct result *r);
int op_link_get(struct lane *l, const struct step *st, struct result *r);
int op_route_list(struct lane *l, const struct step *st, struct result *r);

// Parsing of textual arguments (addresses, MACs).
int parse_ip(const char *s, int *family, uint8_t out[16]);
int parse_cidr(const char *s, int *family, uint8_t out[16], int *plen);
int parse_mac(const char *s, uint8_t out[6]);

// ---- a whole request: decode, run every step, encode the response (run.c) ----
void agent_run(struct lane *l, const uint8_t *req, size_t len, struct buf *out);

#endif
