// Addresses, routes, neighbours and FDB entries: the messages of `ip addr`, `ip route`,
// `ip neigh` and `bridge fdb`, with the defaults those tools choose (scope, protocol, state).
#include "agent.h"
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>

static int dev_index(struct nlsock *s, const struct step *st, struct result *r) {
  if (!HAS(st, A_DEV)) return fail(r, EINVAL, "no device"), 0;
  return nl_ifindex(s, STR(st, A_DEV), r);
}

int op_addr(struct lane *l, const struct step *st, struct result *r) {
  uint8_t a[16];
  int family, plen;
  int n = parse_cidr(STR(st, A_CIDR), &family, a, &plen);
  if (n < 0) return fail(r, EINVAL, "invalid address \"%s\"", STR(st, A_CIDR) ? STR(st, A_CIDR) : "");
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  int index = dev_index(s, st, r);
  if (!index) return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = st->op == OP_ADDR_DEL ? RTM_DELADDR : RTM_NEWADDR;
  nlh->nlmsg_flags = st->op == OP_ADDR_ADD ? NLM_F_CREATE | NLM_F_EXCL : st->op == OP_ADDR_REPLACE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
  ifa->ifa_family = (uint8_t)family;
  ifa->ifa_prefixlen = (uint8_t)plen;
  ifa->ifa_index = (uint32_t)index;
  mnl_attr_put(nlh, IFA_LOCAL, (size_t)n, a);
  mnl_attr_put(nlh, IFA_ADDRESS, (size_t)n, a);
  if (family == AF_INET && HAS(st, A_BROADCAST) && st->num[A_BROADCAST] && plen < 31) {
    uint8_t brd[4];
    uint32_t host = plen == 0 ? 0xffffffffu : (1u << (32 - plen)) - 1;
    for (int i = 0; i < 4; i++) brd[i] = a[i] | (uint8_t)(host >> (24 - 8 * i));
    mnl_attr_put(nlh, IFA_BROADCAST, 4, brd);
  }
  uint32_t flags = 0;
  if (HAS(st, A_NODAD) && st->num[A_NODAD]) flags |= IFA_F_NODAD;
  if (HAS(st, A_NOPREFIXROUTE) && st->num[A_NOPREFIXROUTE]) flags |= IFA_F_NOPREFIXROUTE;
  ifa->ifa_flags = (uint8_t)flags;
  if (flags) mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
  return nl_talk(s, nlh, r);
}

int op_route(struct lane *l, const struct step *st, struct result *r) {
  const char *dst = STR(st, A_DST);
  if (!dst) return fail(r, EINVAL, "route without destination");
  uint8_t d[16], gw[16], src[16];
  int family = 0, plen = 0, n = 0, gwlen = -1, gwfamily = 0, srclen = -1, srcfamily = 0;
  bool deflt = !strcmp(dst, "default");
  if (!deflt && (n = parse_cidr(dst, &family, d, &plen)) < 0) return fail(r, EINVAL, "invalid destination \"%s\"", dst);
  if (HAS(st, A_VIA) && (gwlen = parse_ip(STR(st, A_VIA), &gwfamily, gw)) < 0) return fail(r, EINVAL, "invalid gateway \"%s\"", STR(st, A_VIA));
  if (HAS(st, A_SRC) && (srclen = parse_ip(STR(st, A_SRC), &srcfamily, src)) < 0) return fail(r, EINVAL, "invalid source \"%s\"", STR(st, A_SRC));
  if (!family) family = gwfamily ? gwfamily : HAS(st, A_FAMILY) && st->num[A_FAMILY] == 6 ? AF_INET6 : AF_INET;
  if ((gwfamily && gwfamily != family) || (srcfamily && srcfamily != family)) return fail(r, EINVAL, "route mixes address families");
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  int oif = 0;
  if (HAS(st, A_DEV) && !(oif = dev_index(s, st, r))) return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  bool del = st->op == OP_ROUTE_DEL;
  nlh->nlmsg_type = del ? RTM_DELROUTE : RTM_NEWROUTE;
  nlh->nlmsg_flags = st->op == OP_ROUTE_ADD ? NLM_F_CREATE | NLM_F_EXCL : st->op == OP_ROUTE_REPLACE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
  rtm->rtm_family = (uint8_t)family;
  rtm->rtm_dst_len = (uint8_t)plen;
  rtm->rtm_table = RT_TABLE_MAIN;
  if (del) {
    rtm->rtm_scope = family == AF_INET6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
  } else {
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_type = RTN_UNICAST;
    // As ip does: a route through a device only (no gateway) is link-scoped in IPv4.
    rtm->rtm_scope = family == AF_INET && gwlen < 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  }
  if (!deflt && plen > 0) mnl_attr_put(nlh, RTA_DST, (size_t)n, d);
  if (gwlen > 0) mnl_attr_put(nlh, RTA_GATEWAY, (size_t)gwlen, gw);
  if (srclen > 0) mnl_attr_put(nlh, RTA_PREFSRC, (size_t)srclen, src);
  if (oif) mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
  if (HAS(st, A_METRIC)) mnl_attr_put_u32(nlh, RTA_PRIORITY, st->num[A_METRIC]);
  return nl_talk(s, nlh, r);
}

/** Neighbours (ARP/NDP entries) and FDB entries (AF_BRIDGE neighbours) share the message. */
static int neigh_msg(struct lane *l, const struct step *st, struct result *r, bool fdb) {
  uint8_t ip[16], mac[6];
  int family = 0, iplen = -1;
  if (HAS(st, A_IP) && (iplen = parse_ip(STR(st, A_IP), &family, ip)) < 0) return fail(r, EINVAL, "invalid address \"%s\"", STR(st, A_IP));
  if (!fdb && iplen < 0) return fail(r, EINVAL, "neighbour without address");
  bool del = st->op == OP_NEIGH_DEL || st->op == OP_FDB_DEL;
  if ((fdb || !del) && parse_mac(STR(st, A_MAC), mac) < 0) return fail(r, EINVAL, "invalid MAC address \"%s\"", STR(st, A_MAC) ? STR(st, A_MAC) : "");
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  int index = dev_index(s, st, r);
  if (!index) return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = del ? RTM_DELNEIGH : RTM_NEWNEIGH;
  if (st->op == OP_FDB_APPEND) nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_APPEND;
  else if (!del) nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
  ndm->ndm_family = fdb ? AF_BRIDGE : (uint8_t)family;
  ndm->ndm_ifindex = index;
  ndm->ndm_state = NUD_PERMANENT;
  if (fdb) ndm->ndm_flags = HAS(st, A_ASMASTER) && st->num[A_ASMASTER] ? NTF_MASTER : NTF_SELF;
  if (iplen > 0) mnl_attr_put(nlh, NDA_DST, (size_t)iplen, ip);
  if (fdb || !del) mnl_attr_put(nlh, NDA_LLADDR, sizeof mac, mac);
  return nl_talk(s, nlh, r);
}

int op_neigh(struct lane *l, const struct step *st, struct result *r) { return neigh_msg(l, st, r, false); }
int op_fdb(struct lane *l, const struct step *st, struct result *r) { return neigh_msg(l, st, r, true); }
