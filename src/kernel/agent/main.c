// weft-kernel: weftd's kernel agent. One long-lived process owns netlink (links, addresses,
// routes, neighbours, FDB entries, namespaces) and nftables (libnftables), so that no network
// operation of weftd starts a process. Plans come in on stdin, results go out on stdout, both
// framed as u32 len · body (run.c has the body); stderr is the log.
//
//   weft-kernel [--netns PATH]   PATH: work in that network namespace instead of the caller's
//
// Two lanes with their own sockets: the foreground lane (the main thread, which also reads the
// requests: no hand-off between threads on the hot path) runs requests in arrival order; the
// background lane (a thread) runs those flagged so (link deletions, which wait for an RCU grace
// period, ~20 ms each) without holding up the foreground. Exits on EOF of stdin, and with its
// parent (PR_SET_PDEATHSIG).
//
// Build: gcc -O2 -Wall -o dist/native/weft-kernel src/kernel/agent/*.c -lmnl -lnftables -lpthread
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (256u << 20)
#define SWEEP_SECONDS 5

struct job {
  struct job *next;
  size_t len;
  uint8_t body[];
};

struct worker {
  struct lane lane;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct job *head, *tail;
};

static struct worker workers[2];
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void write_all(const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(0); // weftd is gone
    p += w, n -= (size_t)w;
  }
}

static void reply(const struct buf *body) {
  uint8_t head[4] = {body->len >> 24, body->len >> 16, body->len >> 8, (uint8_t)body->len};
  pthread_mutex_lock(&out_mu);
  write_all(head, 4);
  write_all(body->p, body->len);
  pthread_mutex_unlock(&out_mu);
}

/** A namespace was deleted: wake the background lane so that it drops its sockets in it now. */
static void wake_background(void) {
  pthread_mutex_lock(&workers[1].mu);
  pthread_cond_signal(&workers[1].cv);
  pthread_mutex_unlock(&workers[1].mu);
}

static void run_here(struct lane *l, const uint8_t *body, size_t len) {
  struct buf out = {0};
  agent_run(l, body, len, &out);
  reply(&out);
  buf_free(&out);
}

static void *work(void *arg) {
  struct worker *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (!w->head) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += SWEEP_SECONDS;
      int rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
      if (w->head) break;
      if (rc == ETIMEDOUT || w->lane.seen_gen != ns_generation) {
        pthread_mutex_unlock(&w->mu);
        lane_sweep(&w->lane); // namespaces deleted by others must not stay pinned by us
        pthread_mutex_lock(&w->mu);
      }
    }
    struct job *j = w->head;
    w->head = j->next;
    if (!w->head) w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    struct buf out = {0};
    agent_run(&w->lane, j->body, j->len, &out);
    reply(&out);
    buf_free(&out);
    free(j);
  }
  return NULL;
}

static void dispatch(const uint8_t *body, size_t len) {
  if (!(len > 4 && (body[4] & 2))) {
    run_here(&workers[0].lane, body, len);
    return;
  }
  struct worker *w = &workers[1];
  struct job *j = malloc(sizeof *j + len);
  if (!j) abort();
  j->next = NULL, j->len = len;
  memcpy(j->body, body, len);
  pthread_mutex_lock(&w->mu);
  if (w->tail) w->tail->next = j;
  else w->head = j;
  w->tail = j;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static void enter_netns(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "weft-kernel: cannot enter network namespace %s: %s\n", path, strerror(errno));
    exit(2);
  }
  close(fd);
}

int main(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--netns") && i + 1 < argc) enter_netns(argv[++i]);
    else {
      fprintf(stderr, "usage: weft-kernel [--netns PATH]\n");
      return 2;
    }
  }
  // One cached socket per namespace and lane: 1,000 containers need more than 1,024 descriptors.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  ns_deleted_hook = wake_background;
  for (int i = 0; i < 2; i++) {
    if (lane_init(&workers[i].lane, i) < 0) {
      fprintf(stderr, "weft-kernel: cannot open netlink: %s\n", strerror(errno));
      return 1;
    }
  }
  pthread_mutex_init(&workers[1].mu, NULL);
  pthread_cond_init(&workers[1].cv, NULL);
  pthread_create(&workers[1].thread, NULL, work, &workers[1]);
  struct lane *fg = &workers[0].lane;
  size_t cap = 1 << 16, have = 0;
  uint8_t *in = malloc(cap);
  for (;;) {
    if (have == cap) {
      cap *= 2;
      if (!(in = realloc(in, cap))) abort();
    }
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    if (poll(&pfd, 1, SWEEP_SECONDS * 1000) == 0 || fg->seen_gen != ns_generation) {
      lane_sweep(fg); // namespaces deleted by others must not stay pinned by us
      continue;
    }
    ssize_t n = read(0, in + have, cap - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0); // EOF: weftd closed us
    have += (size_t)n;
    size_t off = 0;
    while (have - off >= 4) {
      uint32_t len = (uint32_t)in[off] << 24 | (uint32_t)in[off + 1] << 16 | (uint32_t)in[off + 2] << 8 | in[off + 3];
      if (len > MAX_FRAME) {
        fprintf(stderr, "weft-kernel: frame of %u bytes refused\n", len);
        return 1;
      }
      if (have - off - 4 < len) {
        if (len + 4 > cap) {
          while (cap < len + 4) cap *= 2;
          memmove(in, in + off, have - off);
          have -= off, off = 0;
          if (!(in = realloc(in, cap))) abort();
        }
        break;
      }
      dispatch(in + off + 4, len);
      off += 4 + len;
    }
    memmove(in, in + off, have - off);
    have -= off;
  }
}
