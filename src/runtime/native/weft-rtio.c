// weft-rtio: the two bits of container stdio plumbing Node cannot do by itself.
//
//   weft-rtio attach <dir> [noin]   Connects to the SOCK_SEQPACKET socket <dir>/attach that conmon
//                                   listens on. Each packet from conmon is <1 byte pipe><data>
//                                   (conmon: 2 = stdout, 3 = stderr); it is written to stdout as a
//                                   Docker multiplexed frame [pipe-1,0,0,0,len BE32] + data.
//                                   Bytes read from stdin are sent as raw packets (container stdin);
//                                   with "noin" stdin is never read (so its EOF closes nothing).
//                                   Writes "connected\n" to stderr once the socket is connected.
//   weft-rtio pty <cmd> [args...]   Runs cmd on a new pseudo-terminal and proxies stdin/stdout to it
//                                   raw. fd 3, if open, takes "<height> <width>\n" resize lines.
//                                   Exits with cmd's exit status (128+signal if killed).
//
// Build: gcc -O2 -Wall -o dist/native/weft-rtio src/runtime/native/weft-rtio.c -lutil
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define BUF 65536

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int do_attach(const char *dir, int with_stdin) {
  if (chdir(dir) < 0) {
    perror("chdir");
    return 1;
  }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, "attach");  // relative to <dir>: no 108-byte limit on the directory
  if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    perror("connect");
    return 1;
  }
  write_all(2, "connected\n", 10);
  static char buf[BUF + 8];
  int stdin_open = with_stdin;
  for (;;) {
    struct pollfd fds[2] = {{s, POLLIN, 0}, {0, POLLIN, 0}};
    int n = poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = recv(s, buf + 7, BUF, 0);  // buf[7] = pipe byte, buf[8..] = data
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return 0;  // conmon closed: container gone
      uint32_t len = (uint32_t)(r - 1);
      unsigned char pipe = (unsigned char)buf[7];
      unsigned char *h = (unsigned char *)buf;
      h[0] = pipe >= 1 ? pipe - 1 : 1;
      h[1] = h[2] = h[3] = 0;
      h[4] = len >> 24, h[5] = len >> 16, h[6] = len >> 8, h[7] = len;
      if (write_all(1, buf, 8 + len) < 0) return 0;
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, 8192);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        stdin_open = 0;
        shutdown(s, SHUT_WR);
        continue;
      }
      if (send(s, buf, (size_t)r, MSG_NOSIGNAL) < 0) return 0;
    }
  }
}

static int do_pty(char **argv) {
  struct winsize ws = {24, 80, 0, 0};
  int master;
  int ctl = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  pid_t pid = forkpty(&master, NULL, NULL, &ws);
  if (pid < 0) {
    perror("forkpty");
    return 1;
  }
  if (pid == 0) {
    if (ctl >= 0) close(ctl);
    execvp(argv[0], argv);
    perror("exec");
    _exit(127);
  }
  static char buf[BUF];
  char line[128];
  size_t linelen = 0;
  int stdin_open = 1, master_open = 1;
  while (master_open) {
    struct pollfd fds[3] = {{master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {ctl, POLLIN, 0}};
    int n = poll(fds, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(master, buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) master_open = 0;  // EIO: every slave fd closed
      else if (write_all(1, buf, (size_t)r) < 0) master_open = 0;
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, sizeof(buf));
      if (r <= 0) {
        stdin_open = 0;
        char eot = 4;  // ^D, as a terminal would send on EOF
        write_all(master, &eot, 1);
      } else {
        write_all(master, buf, (size_t)r);
      }
    }
    if (ctl >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(ctl, line + linelen, sizeof(line) - 1 - linelen);
      if (r <= 0) {
        ctl = -1;
        continue;
      }
      linelen += (size_t)r;
      line[linelen] = 0;
      char *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        int h, w;
        *nl = 0;
        if (sscanf(line, "%d %d", &h, &w) == 2 && h > 0 && w > 0) {
          ws.ws_row = (unsigned short)h, ws.ws_col = (unsigned short)w;
          ioctl(master, TIOCSWINSZ, &ws);
        }
        linelen -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, linelen + 1);
      }
      if (linelen >= sizeof(line) - 1) linelen = 0;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && strcmp(argv[1], "attach") == 0) return do_attach(argv[2], !(argc >= 4 && strcmp(argv[3], "noin") == 0));
  if (argc >= 3 && strcmp(argv[1], "pty") == 0) return do_pty(argv + 2);
  fprintf(stderr, "usage: weft-rtio attach <dir> | weft-rtio pty <cmd> [args...]\n");
  return 2;
}
