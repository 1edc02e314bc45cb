// Network namespaces bound at a path (what `unshare --net=PATH` and `ip netns add` do, without a
// process: this thread unshares, the new namespace is bind-mounted at the path, lo comes up, and
// the thread goes back), and sysctls (written from inside the target namespace: /proc/sys/net
// shows the namespace of whoever opens it).
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static bool is_netns_mount(const char *path) {
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir(path, 0755);
    *p = '/';
    if (rc < 0 && errno != EEXIST) return -1;
  }
  return 0;
}

static bool valid_path(const char *path) { return path && path[0] == '/' && strlen(path) < 4000; }

int op_netns_create(struct lane *l, const struct step *st, struct result *r) {
  const char *path = STR(st, A_PATH);
  if (!valid_path(path)) return fail(r, EINVAL, "invalid namespace path");
  if (is_netns_mount(path)) return 0; // kept: same namespace
  char dirs[4096];
  snprintf(dirs, sizeof dirs, "%s", path);
  if (mkdirs(dirs) < 0) return fail(r, errno, "create %s: %s", path, strerror(errno));
  int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return fail(r, errno, "create %s: %s", path, strerror(errno));
  close(fd);
  if (unshare(CLONE_NEWNET) < 0) {
    int e = errno;
    unlink(path);
    return fail(r, e, "unshare(CLONE_NEWNET): %s", strerror(e));
  }
  struct nlsock s = {0};
  int rc = 0;
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
    rc = fail(r, errno, "bind %s: %s", path, strerror(errno));
  } else if (nl_open(&s, r) < 0 || nl_link_up(&s, 1, r) < 0) { // lo is always index 1
    rc = -1;
  }
  lane_leave(l);
  if (rc < 0) {
    nl_close(&s);
    umount2(path, MNT_DETACH);
    unlink(path);
    return -1;
  }
  lane_adopt(l, path, &s); // its first users come right after
  return 0;
}

int op_netns_delete(struct lane *l, const struct step *st, struct result *r) {
  const char *path = STR(st, A_PATH);
  if (!valid_path(path)) return fail(r, EINVAL, "invalid namespace path");
  for (int i = 0; i < 8 && is_netns_mount(path); i++) {
    if (umount2(path, MNT_DETACH) < 0) return fail(r, errno, "umount %s: %s", path, strerror(errno));
  }
  int rc = unlink(path) < 0 && errno != ENOENT ? fail(r, errno, "remove %s: %s", path, strerror(errno)) : 0;
  // Cached sockets would keep the namespace (and the peers of its veths) alive: every lane drops
  // those whose path no longer holds their namespace.
  __atomic_add_fetch(&ns_generation, 1, __ATOMIC_SEQ_CST);
  lane_sweep(l);
  if (ns_deleted_hook) ns_deleted_hook();
  return rc;
}

int op_netns_exists(struct lane *l, const struct step *st, struct result *r) {
  (void)l;
  const char *path = STR(st, A_PATH);
  if (!valid_path(path)) return fail(r, EINVAL, "invalid namespace path");
  buf_printf(&r->data, is_netns_mount(path) ? "true" : "false");
  return 0;
}

int op_sysctl(struct lane *l, const struct step *st, struct result *r) {
  const char *key = STR(st, A_KEY), *value = STR(st, A_VALUE);
  if (!key || !*key || !value || strstr(key, "..") || key[0] == '.' || strchr(key, '/')) return fail(r, EINVAL, "invalid sysctl key");
  char path[512];
  if (snprintf(path, sizeof path, "/proc/sys/%s", key) >= (int)sizeof path) return fail(r, EINVAL, "sysctl key too long");
  for (char *p = path + 10; *p; p++) {
    if (*p == '.') *p = '/';
  }
  const char *ns = STR(st, A_NS);
  if (ns && *ns && lane_enter(l, ns, r) < 0) return -1;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int e = errno;
  if (ns && *ns) lane_leave(l);
  if (fd < 0) return fail(r, e, "sysctl %s=%s: %s", key, value, strerror(e));
  ssize_t n = write(fd, value, strlen(value));
  e = errno;
  close(fd);
  if (n < 0) return fail(r, e, "sysctl %s=%s: %s", key, value, strerror(e));
  return 0;
}
