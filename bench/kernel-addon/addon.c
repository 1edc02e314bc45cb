// The kernel agent's core (src/kernel/agent/*.c but main.c) as a Node native addon, for one
// measurement only: is a plan cheaper in-process than one round trip to the weft-kernel process?
// bench/kernel-floor.ts compares the two on a connect. weftd does not use this (see README).
//   run(frameBody: Buffer, lane: 0|1): Buffer            synchronous, on the calling thread
//   runAsync(frameBody: Buffer, lane: 0|1, cb(Buffer))   on libuv's thread pool
// frameBody is a request without its u32 length; the answer is a response body (run.c).
// Lanes are made on the first call, in the caller's network namespace.
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/kernel/agent/agent.h"

static struct lane lanes[2];
static pthread_mutex_t lane_mu[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static int ready;

static int ensure_lanes(void) {
  if (ready) return 0;
  for (int i = 0; i < 2; i++) {
    if (lane_init(&lanes[i], i) < 0) return -1;
  }
  ready = 1;
  return 0;
}

static napi_value to_buffer(napi_env env, struct buf *out) {
  napi_value result;
  void *data;
  napi_create_buffer_copy(env, out->len, out->p, &data, &result);
  return result;
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, uint8_t **req, size_t *len, int *lane) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) return -1;
  if (napi_get_buffer_info(env, argv[0], (void **)req, len) != napi_ok) return -1;
  int32_t l = 0;
  napi_get_value_int32(env, argv[1], &l);
  *lane = l ? 1 : 0;
  return ensure_lanes();
}

static napi_value run_sync(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *req;
  size_t len;
  int lane;
  if (args(env, info, 2, argv, &req, &len, &lane) < 0) {
    napi_throw_error(env, NULL, "run(buffer, lane): bad arguments or no netlink");
    return NULL;
  }
  struct buf out = {0};
  pthread_mutex_lock(&lane_mu[lane]);
  agent_run(&lanes[lane], req, len, &out);
  pthread_mutex_unlock(&lane_mu[lane]);
  napi_value result = to_buffer(env, &out);
  buf_free(&out);
  return result;
}

struct work {
  napi_async_work work;
  napi_ref cb;
  uint8_t *req;
  size_t len;
  int lane;
  struct buf out;
};

static void execute(napi_env env, void *data) {
  struct work *w = data;
  pthread_mutex_lock(&lane_mu[w->lane]);
  agent_run(&lanes[w->lane], w->req, w->len, &w->out);
  pthread_mutex_unlock(&lane_mu[w->lane]);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct work *w = data;
  napi_value cb, global, result = to_buffer(env, &w->out);
  napi_get_reference_value(env, w->cb, &cb);
  napi_get_global(env, &global);
  napi_call_function(env, global, cb, 1, &result, NULL);
  napi_delete_reference(env, w->cb);
  napi_delete_async_work(env, w->work);
  buf_free(&w->out);
  free(w->req);
  free(w);
}

static napi_value run_async(napi_env env, napi_callback_info info) {
  napi_value argv[3], name;
  uint8_t *req;
  size_t len;
  int lane;
  if (args(env, info, 3, argv, &req, &len, &lane) < 0) {
    napi_throw_error(env, NULL, "runAsync(buffer, lane, cb): bad arguments or no netlink");
    return NULL;
  }
  struct work *w = calloc(1, sizeof *w);
  w->req = malloc(len);
  memcpy(w->req, req, len);
  w->len = len, w->lane = lane;
  napi_create_reference(env, argv[2], 1, &w->cb);
  napi_create_string_utf8(env, "weft-kernel", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, run_sync, NULL, &f);
  napi_set_named_property(env, exports, "run", f);
  napi_create_function(env, "runAsync", NAPI_AUTO_LENGTH, run_async, NULL, &f);
  napi_set_named_property(env, exports, "runAsync", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
