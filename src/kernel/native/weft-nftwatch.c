// weft-nftwatch: reports the changes made to one nftables table, read from a netlink
// subscription to NFNLGRP_NFTABLES (the multicast group `nft monitor` uses). No polling, no
// ruleset cache: `nft monitor` 1.0.6 loses track of a set once a batch re-adds it (it prints
// "W: Received event for an unknown set" on stderr and drops the element events), which this
// program cannot, since it prints names straight from the messages.
//
//   weft-nftwatch <family> <table>        e.g. weft-nftwatch inet weft
//
// stdout, one line each:
//   ready                         subscribed: every later change is reported
//   ev <kind> <name>              an event in that table; kind is newtable, deltable, newchain,
//                                 delchain, newrule, delrule, newset, delset, newelem, delelem,
//                                 newobj, delobj, newflowtable, delflowtable or msg<N>; name is
//                                 the chain (for rules and chains), set, object or flowtable, "-"
//                                 for tables
//   gen <id> <pid> <comm>         end of a transaction (any table), with the process that
//                                 committed it (the kernel's NEWGEN message)
//   lost                          the kernel dropped events (receive buffer overrun)
// It dies with its parent (PR_SET_PDEATHSIG) and exits when stdout is closed.
//
// Build: gcc -O2 -Wall -o dist/native/weft-nftwatch src/kernel/native/weft-nftwatch.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int family_of(const char *name) {
  if (!strcmp(name, "inet")) return NFPROTO_INET;
  if (!strcmp(name, "ip")) return NFPROTO_IPV4;
  if (!strcmp(name, "ip6")) return NFPROTO_IPV6;
  if (!strcmp(name, "arp")) return NFPROTO_ARP;
  if (!strcmp(name, "bridge")) return NFPROTO_BRIDGE;
  if (!strcmp(name, "netdev")) return NFPROTO_NETDEV;
  return -1;
}

// The kind of an object message and the attribute holding its name (0: none).
static const char *kind_of(int msg, int *name_attr) {
  *name_attr = 2; // NFTA_RULE_CHAIN, NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET, NFTA_OBJ_NAME, NFTA_FLOWTABLE_NAME
  switch (msg) {
    case NFT_MSG_NEWTABLE: *name_attr = 0; return "newtable";
    case NFT_MSG_DELTABLE: *name_attr = 0; return "deltable";
    case NFT_MSG_NEWCHAIN: *name_attr = NFTA_CHAIN_NAME; return "newchain";
    case NFT_MSG_DELCHAIN: *name_attr = NFTA_CHAIN_NAME; return "delchain";
    case NFT_MSG_NEWRULE: return "newrule";
    case NFT_MSG_DELRULE: return "delrule";
    case NFT_MSG_NEWSET: return "newset";
    case NFT_MSG_DELSET: return "delset";
    case NFT_MSG_NEWSETELEM: return "newelem";
    case NFT_MSG_DELSETELEM: return "delelem";
    case NFT_MSG_NEWOBJ: return "newobj";
    case NFT_MSG_DELOBJ: return "delobj";
    case NFT_MSG_NEWFLOWTABLE: return "newflowtable";
    case NFT_MSG_DELFLOWTABLE: return "delflowtable";
    default: *name_attr = 0; return NULL;
  }
}

// Copies a string attribute into out as one word (no spaces or control characters).
static void word(const struct nlattr *a, char *out, size_t size) {
  size_t n = a->nla_len > NLA_HDRLEN ? a->nla_len - NLA_HDRLEN : 0;
  const char *p = (const char *)a + NLA_HDRLEN;
  size_t i = 0;
  for (; i < n && i + 1 < size && p[i]; i++) out[i] = (p[i] > ' ' && p[i] < 127) ? p[i] : '?';
  out[i] = 0;
  if (i == 0) snprintf(out, size, "-");
}

static void handle(const struct nlmsghdr *nh, int family, const char *table) {
  if (NFNL_SUBSYS_ID(nh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return;
  int msg = NFNL_MSG_TYPE(nh->nlmsg_type);
  const struct nfgenmsg *g = NLMSG_DATA(nh);
  const char *end = (const char *)nh + nh->nlmsg_len;
  const struct nlattr *attr[16] = {0};
  for (const char *p = (const char *)g + NLMSG_ALIGN(sizeof(*g)); p + NLA_HDRLEN <= end;) {
    const struct nlattr *a = (const struct nlattr *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
    int t = a->nla_type & NLA_TYPE_MASK;
    if (t < 16) attr[t] = a;
    p += NLA_ALIGN(a->nla_len);
  }
  char a1[256], a2[256];
  if (msg == NFT_MSG_NEWGEN) {
    unsigned id = 0, pid = 0;
    if (attr[NFTA_GEN_ID] && attr[NFTA_GEN_ID]->nla_len >= NLA_HDRLEN + 4) memcpy(&id, (const char *)attr[NFTA_GEN_ID] + NLA_HDRLEN, 4);
    if (attr[NFTA_GEN_PROC_PID] && attr[NFTA_GEN_PROC_PID]->nla_len >= NLA_HDRLEN + 4) memcpy(&pid, (const char *)attr[NFTA_GEN_PROC_PID] + NLA_HDRLEN, 4);
    if (attr[NFTA_GEN_PROC_NAME]) word(attr[NFTA_GEN_PROC_NAME], a1, sizeof a1);
    else snprintf(a1, sizeof a1, "-");
    printf("gen %u %u %s\n", ntohl(id), ntohl(pid), a1);
    return;
  }
  if (g->nfgen_family != family || !attr[1]) return; // attribute 1 is the table's name in every object message
  word(attr[1], a1, sizeof a1);
  if (strcmp(a1, table)) return;
  int name_attr;
  const char *kind = kind_of(msg, &name_attr);
  char other[16];
  if (!kind) {
    snprintf(other, sizeof other, "msg%d", msg);
    kind = other;
  }
  if (name_attr && attr[name_attr]) word(attr[name_attr], a2, sizeof a2);
  else snprintf(a2, sizeof a2, "-");
  printf("ev %s %s\n", kind, a2);
}

int main(int argc, char **argv) {
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) return 1; // the parent was already gone
  if (argc != 3 || family_of(argv[1]) < 0) {
    fprintf(stderr, "usage: weft-nftwatch <inet|ip|ip6|arp|bridge|netdev> <table>\n");
    return 2;
  }
  int family = family_of(argv[1]);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    perror("weft-nftwatch: socket");
    return 1;
  }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("weft-nftwatch: bind");
    return 1;
  }
  int group = NFNLGRP_NFTABLES;
  if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    perror("weft-nftwatch: NETLINK_ADD_MEMBERSHIP");
    return 1;
  }
  // Large batches (a full table of 1,000 networks is ~5,000 events) must not overrun the buffer.
  int rcvbuf = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  printf("ready\n");
  fflush(stdout);
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        printf("lost\n");
        fflush(stdout);
        continue;
      }
      perror("weft-nftwatch: recv");
      return 1;
    }
    int len = (int)n;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) handle(nh, family, argv[2]);
    if (fflush(stdout) != 0) return 0; // weftd went away
  }
}
