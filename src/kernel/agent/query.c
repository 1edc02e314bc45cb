// Queries, answered as JSON: the links of a namespace (with kind, master, alias), one link by
// name, and the main table's routes of one family.
//   link:  {"name","index","kind","slave","master","parent","alias","mtu","mac","up"}
//          (master: the master's name or null; parent: IFLA_LINK index or 0)
//   route: {"dst": "default" | "addr/len", "dev", "gateway", "src", "metric"}
#include "agent.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct linfo {
  int index, master, parent;
  unsigned mtu;
  bool up;
  char name[IFNAMSIZ], kind[32], slave[32], mac[24], alias[256];
};

struct links {
  struct linfo *v;
  int n, cap;
};

static void parse_linkinfo(const struct nlattr *nest, struct linfo *li) {
  const struct nlattr *a;
  mnl_attr_for_each_nested(a, nest) {
    if (mnl_attr_get_type(a) == IFLA_INFO_KIND) snprintf(li->kind, sizeof li->kind, "%s", mnl_attr_get_str(a));
    if (mnl_attr_get_type(a) == IFLA_INFO_SLAVE_KIND) snprintf(li->slave, sizeof li->slave, "%s", mnl_attr_get_str(a));
  }
}

static int parse_link(const struct nlmsghdr *nlh, struct linfo *li) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return -1;
  const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
  memset(li, 0, sizeof *li);
  li->index = ifm->ifi_index;
  li->up = (ifm->ifi_flags & IFF_UP) != 0;
  const struct nlattr *a;
  mnl_attr_for_each(a, nlh, sizeof *ifm) {
    switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME: snprintf(li->name, sizeof li->name, "%s", mnl_attr_get_str(a)); break;
    case IFLA_MTU: li->mtu = mnl_attr_get_u32(a); break;
    case IFLA_MASTER: li->master = (int)mnl_attr_get_u32(a); break;
    case IFLA_LINK: li->parent = (int)mnl_attr_get_u32(a); break;
    case IFLA_IFALIAS: snprintf(li->alias, sizeof li->alias, "%.*s", (int)mnl_attr_get_payload_len(a), (const char *)mnl_attr_get_payload(a)); break;
    case IFLA_LINKINFO: parse_linkinfo(a, li); break;
    case IFLA_ADDRESS:
      if (mnl_attr_get_payload_len(a) == 6) {
        const uint8_t *m = mnl_attr_get_payload(a);
        snprintf(li->mac, sizeof li->mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
      }
      break;
    }
  }
  return 0;
}

static int collect(const struct nlmsghdr *nlh, void *data) {
  struct links *ls = data;
  if (ls->n == ls->cap) {
    ls->cap = ls->cap ? ls->cap * 2 : 64;
    ls->v = realloc(ls->v, sizeof *ls->v * (size_t)ls->cap);
    if (!ls->v) abort();
  }
  if (parse_link(nlh, &ls->v[ls->n]) == 0) ls->n++;
  return 0;
}

static int dump_links(struct nlsock *s, struct links *ls, struct result *r) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_DUMP;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nl_query(s, nlh, collect, ls, r);
}

static const char *name_of(const struct links *ls, int index) {
  for (int i = 0; index && i < ls->n; i++) {
    if (ls->v[i].index == index) return ls->v[i].name;
  }
  return NULL;
}

static void print_link(struct buf *b, const struct linfo *li, const char *master) {
  buf_printf(b, "{\"name\":");
  buf_json_str(b, li->name);
  buf_printf(b, ",\"index\":%d,\"kind\":", li->index);
  buf_json_str(b, li->kind);
  buf_printf(b, ",\"slave\":");
  buf_json_str(b, li->slave);
  buf_printf(b, ",\"master\":");
  if (master) buf_json_str(b, master);
  else buf_printf(b, "null");
  buf_printf(b, ",\"parent\":%d,\"alias\":", li->parent);
  buf_json_str(b, li->alias);
  buf_printf(b, ",\"mtu\":%u,\"mac\":", li->mtu);
  buf_json_str(b, li->mac);
  buf_printf(b, ",\"up\":%s}", li->up ? "true" : "false");
}

int op_link_list(struct lane *l, const struct step *st, struct result *r) {
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  struct links ls = {0};
  int rc = dump_links(s, &ls, r);
  if (rc == 0) {
    buf_u8(&r->data, '[');
    for (int i = 0; i < ls.n; i++) {
      if (i) buf_u8(&r->data, ',');
      print_link(&r->data, &ls.v[i], name_of(&ls, ls.v[i].master));
    }
    buf_u8(&r->data, ']');
  }
  free(ls.v);
  return rc;
}

static int get_link(struct nlsock *s, const char *name, int index, struct links *ls, struct result *r) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  if (name) mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nl_query(s, nlh, collect, ls, r);
}

int op_link_get(struct lane *l, const struct step *st, struct result *r) {
  const char *name = STR(st, A_NAME);
  if (!name || !*name || strlen(name) >= IFNAMSIZ) return fail(r, EINVAL, "invalid interface name \"%s\"", name ? name : "");
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  struct links ls = {0};
  int rc = get_link(s, name, 0, &ls, r);
  if (rc < 0 && r->err == ENODEV) fail(r, ENODEV, "Cannot find device \"%s\"", name);
  if (rc == 0 && ls.n == 1) {
    struct result mr = {0};
    if (ls.v[0].master) get_link(s, NULL, ls.v[0].master, &ls, &mr); // its master's name
    print_link(&r->data, &ls.v[0], ls.n > 1 ? ls.v[1].name : NULL);
  } else if (rc == 0) {
    rc = fail(r, ENODEV, "Cannot find device \"%s\"", name);
  }
  free(ls.v);
  return rc;
}

struct routes {
  struct buf *out;
  const struct links *links;
  int family, n;
};

static void print_addr(struct buf *b, int family, const void *a) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family, a, text, sizeof text);
  buf_json_str(b, text);
}

static int each_route(const struct nlmsghdr *nlh, void *data) {
  struct routes *rs = data;
  const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
  if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != rs->family || (rtm->rtm_flags & RTM_F_CLONED)) return 0;
  uint32_t table = rtm->rtm_table;
  const struct nlattr *a, *dst = NULL, *gw = NULL, *src = NULL;
  int oif = 0;
  long metric = -1;
  mnl_attr_for_each(a, nlh, sizeof *rtm) {
    switch (mnl_attr_get_type(a)) {
    case RTA_TABLE: table = mnl_attr_get_u32(a); break;
    case RTA_DST: dst = a; break;
    case RTA_GATEWAY: gw = a; break;
    case RTA_PREFSRC: src = a; break;
    case RTA_OIF: oif = (int)mnl_attr_get_u32(a); break;
    case RTA_PRIORITY: metric = mnl_attr_get_u32(a); break;
    }
  }
  if (table != RT_TABLE_MAIN) return 0;
  struct buf *b = rs->out;
  if (rs->n++) buf_u8(b, ',');
  buf_printf(b, "{\"dst\":");
  if (!dst || rtm->rtm_dst_len == 0) {
    buf_printf(b, "\"default\"");
  } else {
    char text[INET6_ADDRSTRLEN + 4];
    inet_ntop(rs->family, mnl_attr_get_payload(dst), text, INET6_ADDRSTRLEN);
    snprintf(text + strlen(text), 5, "/%u", rtm->rtm_dst_len);
    buf_json_str(b, text);
  }
  const char *dev = name_of(rs->links, oif);
  buf_printf(b, ",\"dev\":");
  if (dev) buf_json_str(b, dev);
  else buf_printf(b, "null");
  buf_printf(b, ",\"gateway\":");
  if (gw) print_addr(b, rs->family, mnl_attr_get_payload(gw));
  else buf_printf(b, "null");
  buf_printf(b, ",\"src\":");
  if (src) print_addr(b, rs->family, mnl_attr_get_payload(src));
  else buf_printf(b, "null");
  buf_printf(b, ",\"metric\":%ld}", metric);
  return 0;
}

int op_route_list(struct lane *l, const struct step *st, struct result *r) {
  int family = HAS(st, A_FAMILY) && st->num[A_FAMILY] == 6 ? AF_INET6 : AF_INET;
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  struct links ls = {0};
  int rc = dump_links(s, &ls, r); // device names of the routes
  if (rc == 0) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_DUMP;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = (uint8_t)family;
    struct routes rs = {&r->data, &ls, family, 0};
    buf_u8(&r->data, '[');
    rc = nl_query(s, nlh, each_route, &rs, r);
    buf_u8(&r->data, ']');
  }
  free(ls.v);
  return rc;
}
