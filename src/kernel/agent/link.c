// Links: add (veth with its peer placed in a namespace, bridge, vxlan, macvlan, vlan, dummy), set
// (up/down, master/nomaster, mtu, address, name, alias, namespace, hairpin) and delete. The
// messages are those `ip link` sends (RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK).
#include "agent.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

static int valid_name(const char *name, struct result *r) {
  if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
    return fail(r, EINVAL, "invalid interface name \"%s\"", name ? name : "");
  return 0;
}

static int put_mac(struct nlmsghdr *nlh, int type, const char *s, struct result *r) {
  uint8_t mac[6];
  if (parse_mac(s, mac) < 0) return fail(r, EINVAL, "invalid MAC address \"%s\"", s);
  mnl_attr_put(nlh, type, sizeof mac, mac);
  return 0;
}

static int put_ip(struct nlmsghdr *nlh, int type4, int type6, const char *s, struct result *r) {
  uint8_t a[16];
  int family;
  int n = parse_ip(s, &family, a);
  if (n < 0) return fail(r, EINVAL, "invalid address \"%s\"", s);
  mnl_attr_put(nlh, family == AF_INET ? type4 : type6, (size_t)n, a);
  return 0;
}

static int macvlan_mode(const char *m) {
  if (!m || !strcmp(m, "bridge")) return MACVLAN_MODE_BRIDGE;
  if (!strcmp(m, "private")) return MACVLAN_MODE_PRIVATE;
  if (!strcmp(m, "vepa")) return MACVLAN_MODE_VEPA;
  if (!strcmp(m, "passthru")) return MACVLAN_MODE_PASSTHRU;
  if (!strcmp(m, "source")) return MACVLAN_MODE_SOURCE;
  return -1;
}

/** IFLA_INFO_DATA of the kinds that take options. */
static int put_kind_data(struct nlsock *s, struct nlmsghdr *nlh, const struct step *st, int *fds, struct result *r) {
  const char *kind = STR(st, A_KIND);
  if (!strcmp(kind, "veth")) {
    if (valid_name(STR(st, A_PEER_NAME), r)) return -1;
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)); // the peer's own ifinfomsg
    mnl_attr_put_strz(nlh, IFLA_IFNAME, STR(st, A_PEER_NAME));
    if (HAS(st, A_PEER_MTU)) mnl_attr_put_u32(nlh, IFLA_MTU, st->num[A_PEER_MTU]);
    if (HAS(st, A_PEER_MAC) && put_mac(nlh, IFLA_ADDRESS, STR(st, A_PEER_MAC), r)) return -1;
    if (HAS(st, A_PEER_NETNS)) {
      if ((fds[1] = open_ns(STR(st, A_PEER_NETNS), r)) < 0) return -1;
      mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)fds[1]);
    }
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
  } else if (!strcmp(kind, "macvlan")) {
    int mode = macvlan_mode(STR(st, A_MODE));
    if (mode < 0) return fail(r, EINVAL, "invalid macvlan mode \"%s\"", STR(st, A_MODE));
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, (uint32_t)mode);
    mnl_attr_nest_end(nlh, data);
  } else if (!strcmp(kind, "vlan")) {
    if (!HAS(st, A_VLAN_ID) || st->num[A_VLAN_ID] > 4094) return fail(r, EINVAL, "invalid VLAN id");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u16(nlh, IFLA_VLAN_ID, (uint16_t)st->num[A_VLAN_ID]);
    mnl_attr_nest_end(nlh, data);
  } else if (!strcmp(kind, "vxlan")) {
    if (!HAS(st, A_VNI) || st->num[A_VNI] >= 1u << 24) return fail(r, EINVAL, "invalid VXLAN id");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, st->num[A_VNI]);
    if (HAS(st, A_LOCAL) && put_ip(nlh, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, STR(st, A_LOCAL), r)) return -1;
    if (HAS(st, A_REMOTE) && put_ip(nlh, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, STR(st, A_REMOTE), r)) return -1;
    if (HAS(st, A_PARENT)) {
      int dev = nl_ifindex(s, STR(st, A_PARENT), r);
      if (!dev) return -1;
      mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)dev);
    }
    if (HAS(st, A_PORT)) mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons((uint16_t)st->num[A_PORT]));
    if (HAS(st, A_LEARNING)) mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, st->num[A_LEARNING] ? 1 : 0);
    if (HAS(st, A_TTL)) mnl_attr_put_u8(nlh, IFLA_VXLAN_TTL, (uint8_t)st->num[A_TTL]);
    if (HAS(st, A_PROXY)) mnl_attr_put_u8(nlh, IFLA_VXLAN_PROXY, st->num[A_PROXY] ? 1 : 0);
    mnl_attr_nest_end(nlh, data);
  } else if (strcmp(kind, "bridge") && strcmp(kind, "dummy")) {
    return fail(r, EOPNOTSUPP, "link kind \"%s\" is not supported by weft-kernel", kind);
  }
  return 0;
}

int op_link_add(struct lane *l, const struct step *st, struct result *r) {
  const char *name = STR(st, A_NAME);
  if (valid_name(name, r)) return -1;
  if (!HAS(st, A_KIND)) return fail(r, EINVAL, "link add %s: no kind", name);
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  if (HAS(st, A_UP) && st->num[A_UP]) ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (HAS(st, A_MTU)) mnl_attr_put_u32(nlh, IFLA_MTU, st->num[A_MTU]);
  if (HAS(st, A_MAC) && put_mac(nlh, IFLA_ADDRESS, STR(st, A_MAC), r)) return -1;
  if (HAS(st, A_MASTER) && *STR(st, A_MASTER)) {
    int master = nl_ifindex(s, STR(st, A_MASTER), r);
    if (!master) return -1;
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
  }
  if (HAS(st, A_PARENT) && strcmp(STR(st, A_KIND), "vxlan")) {
    int parent = nl_ifindex(s, STR(st, A_PARENT), r);
    if (!parent) return -1;
    mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
  }
  int fds[2] = {-1, -1}; // the link's own namespace, the veth peer's
  int rc = -1;
  if (HAS(st, A_NETNS)) {
    if ((fds[0] = open_ns(STR(st, A_NETNS), r)) < 0) goto out;
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)fds[0]);
  }
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, STR(st, A_KIND));
  if (put_kind_data(s, nlh, st, fds, r)) goto out;
  mnl_attr_nest_end(nlh, info);
  rc = nl_talk(s, nlh, r);
out:
  for (int i = 0; i < 2; i++) {
    if (fds[i] >= 0) close(fds[i]);
  }
  return rc;
}

/** Hairpin mode of a bridge port: the bridge's slave data, as `ip link set X type bridge_slave hairpin on`. */
static int set_hairpin(struct nlsock *s, const char *name, bool on, struct result *r) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  return nl_talk(s, nlh, r);
}

int op_link_set(struct lane *l, const struct step *st, struct result *r) {
  const char *name = STR(st, A_NAME);
  if (valid_name(name, r)) return -1;
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  uint64_t general = st->has & ~((1ull << A_NS) | (1ull << A_NAME) | (1ull << A_HAIRPIN));
  if (general) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_SETLINK;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    if (HAS(st, A_NEWNAME)) {
      // A rename names the link by index (IFLA_IFNAME then carries the new name).
      if (valid_name(STR(st, A_NEWNAME), r)) return -1;
      if (!(ifm->ifi_index = nl_ifindex(s, name, r))) return -1;
      mnl_attr_put_strz(nlh, IFLA_IFNAME, STR(st, A_NEWNAME));
    } else {
      mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    }
    if (HAS(st, A_UP)) {
      ifm->ifi_change = IFF_UP;
      ifm->ifi_flags = st->num[A_UP] ? IFF_UP : 0;
    }
    if (HAS(st, A_MTU)) mnl_attr_put_u32(nlh, IFLA_MTU, st->num[A_MTU]);
    if (HAS(st, A_MAC) && put_mac(nlh, IFLA_ADDRESS, STR(st, A_MAC), r)) return -1;
    if (HAS(st, A_ALIAS)) mnl_attr_put(nlh, IFLA_IFALIAS, strlen(STR(st, A_ALIAS)), STR(st, A_ALIAS));
    if (HAS(st, A_MASTER)) {
      int master = 0; // "" = nomaster
      if (*STR(st, A_MASTER) && !(master = nl_ifindex(s, STR(st, A_MASTER), r))) return -1;
      mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
    }
    int fd = -1;
    if (HAS(st, A_NETNS)) {
      if ((fd = open_ns(STR(st, A_NETNS), r)) < 0) return -1;
      mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)fd);
    }
    int rc = nl_talk(s, nlh, r);
    if (fd >= 0) close(fd);
    if (rc < 0) return -1;
  }
  // After the rest: a port's slave data needs its master in place first.
  if (HAS(st, A_HAIRPIN)) return set_hairpin(s, HAS(st, A_NEWNAME) ? STR(st, A_NEWNAME) : name, st->num[A_HAIRPIN], r);
  return 0;
}

int op_link_del(struct lane *l, const struct step *st, struct result *r) {
  const char *name = STR(st, A_NAME);
  if (valid_name(name, r)) return -1;
  struct nlsock *s = lane_sock(l, STR(st, A_NS), r);
  if (!s) return -1;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_DELLINK;
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (nl_talk(s, nlh, r) < 0) {
    if (r->err == ENODEV) fail(r, ENODEV, "Cannot find device \"%s\"", name);
    return -1;
  }
  return 0;
}
