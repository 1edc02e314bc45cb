// nftables through libnftables: the same script text `nft -f -` reads, applied as one transaction
// (all of it or nothing), checked without applying, or a `list ...` command answered in JSON.
// One context for the process (libnftables keeps its cache there), used by one lane at a time,
// always in the agent's own namespace.
#include "agent.h"
#include <errno.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nft_ctx *ctx;

static int trim(const char *s) {
  int n = (int)strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) n--;
  return n;
}

static int run(const struct step *st, struct result *r) {
  const char *script = STR(st, A_SCRIPT);
  if (!script) return fail(r, EINVAL, "nft: no script");
  if (HAS(st, A_NS) && *STR(st, A_NS)) return fail(r, EINVAL, "nft: only the agent's own namespace");
  if (!ctx) {
    ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return fail(r, ENOMEM, "nft: cannot create a context");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
  }
  unsigned flags = nft_ctx_output_get_flags(ctx);
  nft_ctx_set_dry_run(ctx, st->op == OP_NFT_CHECK);
  if (st->op == OP_NFT_LIST) nft_ctx_output_set_flags(ctx, flags | NFT_CTX_OUTPUT_JSON);
  int rc = nft_run_cmd_from_buffer(ctx, script);
  nft_ctx_output_set_flags(ctx, flags);
  nft_ctx_set_dry_run(ctx, false);
  const char *out = nft_ctx_get_output_buffer(ctx);
  const char *err = nft_ctx_get_error_buffer(ctx);
  if (rc != 0) {
    // nft reports no errno; its text names the cause (e.g. "No such file or directory").
    int code = strstr(err, "No such file or directory") ? ENOENT : strstr(err, "File exists") ? EEXIST : EINVAL;
    return fail(r, code, "%.*s", trim(err), err);
  }
  if (st->op == OP_NFT_LIST) buf_put(&r->data, out, strlen(out));
  return 0;
}

int op_nft(struct lane *l, const struct step *st, struct result *r) {
  (void)l;
  pthread_mutex_lock(&lock);
  int rc = run(st, r);
  pthread_mutex_unlock(&lock);
  return rc;
}
