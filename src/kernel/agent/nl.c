// Netlink sockets: one per (lane, namespace), opened inside the namespace once and cached while it
// lives (a cached socket pins its namespace, so entries whose path is gone or holds another
// namespace are dropped: at every use, after any namespace deletion, and on the lane's idle sweep).
// Requests carry NLM_F_ACK; errors come back with the kernel's extended ack message.
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF 65536
#define CACHE_MAX 1024

volatile uint64_t ns_generation;
void (*ns_deleted_hook)(void);

int nl_open(struct nlsock *s, struct result *r) {
  s->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s->nl) return fail(r, errno, "netlink socket: %s", strerror(errno));
  if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(s->nl);
    s->nl = NULL;
    return fail(r, e, "netlink bind: %s", strerror(e));
  }
  int one = 1;
  mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof one);
  s->portid = mnl_socket_get_portid(s->nl);
  s->seq = (uint32_t)time(NULL);
  return 0;
}

void nl_close(struct nlsock *s) {
  if (s->nl) mnl_socket_close(s->nl);
  s->nl = NULL;
}

/** The kernel's own words for an error (NLMSGERR_ATTR_MSG), when it gave some. */
static void extack(const struct nlmsghdr *nlh, char *out, size_t n) {
  const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t off = sizeof *e;
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
  if (mnl_nlmsg_get_payload_len(nlh) <= off) return;
  const struct nlattr *a;
  mnl_attr_for_each(a, nlh, off) {
    if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) snprintf(out, n, "%s", mnl_attr_get_str(a));
  }
}

static int error_of(const struct nlmsghdr *nlh, struct result *r) {
  const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e)) return fail(r, EBADMSG, "truncated netlink error");
  if (e->error == 0) return 0;
  int err = -e->error;
  char ext[300] = "";
  extack(nlh, ext, sizeof ext);
  if (ext[0]) return fail(r, err, "%s (%s)", ext, strerror(err));
  return fail(r, err, "%s", strerror(err));
}

/** Reads until the ack, error or end of dump of request `seq`; other messages go to cb. */
static int receive(struct nlsock *s, uint32_t seq, nl_each cb, void *data, struct result *r) {
  static __thread char buf[RECV_BUF];
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(s->nl, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(r, errno, "netlink receive: %s", strerror(errno));
    }
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
    int len = (int)n;
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq) continue; // a late answer to an earlier request
      if (nlh->nlmsg_type == NLMSG_ERROR) return error_of(nlh, r);
      if (nlh->nlmsg_type == NLMSG_DONE) {
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
          int err = *(const int *)mnl_nlmsg_get_payload(nlh);
          if (err < 0) return fail(r, -err, "%s", strerror(-err));
        }
        return 0;
      }
      if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && cb) cb(nlh, data);
    }
  }
}

static int send_msg(struct nlsock *s, struct nlmsghdr *nlh, struct result *r) {
  nlh->nlmsg_seq = ++s->seq;
  if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0) return fail(r, errno, "netlink send: %s", strerror(errno));
  return 0;
}

int nl_talk(struct nlsock *s, struct nlmsghdr *nlh, struct result *r) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (send_msg(s, nlh, r)) return -1;
  return receive(s, nlh->nlmsg_seq, NULL, NULL, r);
}

int nl_query(struct nlsock *s, struct nlmsghdr *nlh, nl_each cb, void *data, struct result *r) {
  nlh->nlmsg_flags |= NLM_F_REQUEST;
  if (!(nlh->nlmsg_flags & NLM_F_DUMP)) nlh->nlmsg_flags |= NLM_F_ACK; // the reply, then the ack
  if (send_msg(s, nlh, r)) return -1;
  return receive(s, nlh->nlmsg_seq, cb, data, r);
}

static int index_of(const struct nlmsghdr *nlh, void *data) {
  if (nlh->nlmsg_type == RTM_NEWLINK) *(int *)data = ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index;
  return 0;
}

int nl_ifindex(struct nlsock *s, const char *name, struct result *r) {
  if (!name || !*name || strlen(name) >= IFNAMSIZ) return fail(r, EINVAL, "invalid interface name \"%s\"", name ? name : ""), 0;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  int index = 0;
  if (nl_query(s, nlh, index_of, &index, r) < 0) {
    if (r->err == ENODEV) fail(r, ENODEV, "Cannot find device \"%s\"", name);
    return 0;
  }
  if (index <= 0) return fail(r, ENODEV, "Cannot find device \"%s\"", name), 0;
  return index;
}

int nl_link_up(struct nlsock *s, int index, struct result *r) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_SETLINK;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  return nl_talk(s, nlh, r);
}

// ---- lanes and their namespace cache ----

int lane_init(struct lane *l, int id) {
  memset(l, 0, sizeof *l);
  l->id = id;
  l->own_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (l->own_fd < 0) return -1;
  struct result r = {0};
  return nl_open(&l->own, &r);
}

int open_ns(const char *path, struct result *r) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(r, errno, "cannot open network namespace \"%s\": %s", path, strerror(errno));
  return fd;
}

int lane_enter(struct lane *l, const char *ns, struct result *r) {
  int fd = open_ns(ns, r);
  if (fd < 0) return -1;
  int rc = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (rc < 0) return fail(r, e, "\"%s\" is not a network namespace: %s", ns, strerror(e));
  return 0;
}

void lane_leave(struct lane *l) {
  // Staying in a foreign namespace would send every later request there: better to die and be restarted.
  if (setns(l->own_fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "weft-kernel: cannot return to its own namespace: %s\n", strerror(errno));
    abort();
  }
}

static void drop(struct lane *l, int i) {
  nl_close(&l->cache[i].sock);
  free(l->cache[i].path);
  l->cache[i] = l->cache[--l->ncache];
}

static struct nlsock *cache_put(struct lane *l, const char *path, dev_t dev, ino_t ino, struct nlsock *s) {
  for (int i = 0; i < l->ncache; i++) {
    if (!strcmp(l->cache[i].path, path)) drop(l, i--);
  }
  if (l->ncache == CACHE_MAX) {
    int lru = 0;
    for (int i = 1; i < l->ncache; i++) {
      if (l->cache[i].used < l->cache[lru].used) lru = i;
    }
    drop(l, lru);
  }
  if (l->ncache == l->capcache) {
    l->capcache = l->capcache ? l->capcache * 2 : 16;
    l->cache = realloc(l->cache, sizeof *l->cache * (size_t)l->capcache);
    if (!l->cache) abort();
  }
  struct nsent *e = &l->cache[l->ncache++];
  e->path = strdup(path);
  e->dev = dev, e->ino = ino, e->sock = *s, e->used = ++l->clock;
  return &e->sock;
}

struct nlsock *lane_sock(struct lane *l, const char *ns, struct result *r) {
  if (!ns || !*ns) return &l->own;
  struct stat sb;
  if (stat(ns, &sb) < 0) {
    fail(r, errno, "cannot open network namespace \"%s\": %s", ns, strerror(errno));
    return NULL;
  }
  for (int i = 0; i < l->ncache; i++) {
    struct nsent *e = &l->cache[i];
    if (e->ino == sb.st_ino && e->dev == sb.st_dev && !strcmp(e->path, ns)) {
      e->used = ++l->clock;
      return &e->sock;
    }
  }
  if (lane_enter(l, ns, r) < 0) return NULL;
  struct nlsock s;
  int rc = nl_open(&s, r);
  lane_leave(l);
  if (rc < 0) return NULL;
  return cache_put(l, ns, sb.st_dev, sb.st_ino, &s);
}

int lane_adopt(struct lane *l, const char *path, struct nlsock *s) {
  struct stat sb;
  if (stat(path, &sb) < 0) {
    nl_close(s);
    return -1;
  }
  cache_put(l, path, sb.st_dev, sb.st_ino, s);
  return 0;
}

void lane_sweep(struct lane *l) {
  l->seen_gen = ns_generation;
  for (int i = 0; i < l->ncache; i++) {
    struct stat sb;
    struct nsent *e = &l->cache[i];
    if (stat(e->path, &sb) < 0 || sb.st_ino != e->ino || sb.st_dev != e->dev) drop(l, i--);
  }
}
