// Byte buffers, JSON strings, error results and the parsing of textual arguments.
#include "agent.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct buf *b, size_t n) {
  if (b->len + n <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) {
    fprintf(stderr, "weft-kernel: out of memory\n");
    abort();
  }
  b->p = p, b->cap = cap;
}

void buf_put(struct buf *b, const void *data, size_t n) {
  grow(b, n);
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

void buf_u8(struct buf *b, uint8_t v) { buf_put(b, &v, 1); }
void buf_u16(struct buf *b, uint16_t v) {
  uint8_t x[2] = {v >> 8, (uint8_t)v};
  buf_put(b, x, 2);
}
void buf_u32(struct buf *b, uint32_t v) {
  uint8_t x[4] = {v >> 24, v >> 16, v >> 8, (uint8_t)v};
  buf_put(b, x, 4);
}

void buf_printf(struct buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  grow(b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void buf_json_str(struct buf *b, const char *s) {
  buf_u8(b, '"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') {
      buf_u8(b, '\\');
      buf_u8(b, *c);
    } else if (*c < 0x20) {
      buf_printf(b, "\\u%04x", *c);
    } else {
      buf_u8(b, *c);
    }
  }
  buf_u8(b, '"');
}

void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL, b->len = b->cap = 0;
}

int fail(struct result *r, int err, const char *fmt, ...) {
  r->err = err ? err : EIO;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int parse_ip(const char *s, int *family, uint8_t out[16]) {
  if (!s) return -1;
  if (inet_pton(AF_INET, s, out) == 1) {
    *family = AF_INET;
    return 4;
  }
  if (inet_pton(AF_INET6, s, out) == 1) {
    *family = AF_INET6;
    return 16;
  }
  return -1;
}

int parse_cidr(const char *s, int *family, uint8_t out[16], int *plen) {
  char tmp[64];
  if (!s || strlen(s) >= sizeof tmp) return -1;
  strcpy(tmp, s);
  char *slash = strchr(tmp, '/');
  if (slash) *slash = 0;
  int n = parse_ip(tmp, family, out);
  if (n < 0) return -1;
  int max = n * 8;
  if (!slash) {
    *plen = max;
    return n;
  }
  char *end;
  long p = strtol(slash + 1, &end, 10);
  if (*end || end == slash + 1 || p < 0 || p > max) return -1;
  *plen = (int)p;
  return n;
}

int parse_mac(const char *s, uint8_t out[6]) {
  unsigned v[6];
  char extra;
  if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6) return -1;
  for (int i = 0; i < 6; i++) out[i] = (uint8_t)v[i];
  return 0;
}
