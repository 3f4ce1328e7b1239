// N-API glue: argument unpacking and nothing else. The system calls are in
// keepalive_posix.cc (Linux, macOS, FreeBSD) and keepalive_win.cc (Windows),
// connection health in health_<os>.cc.
//
// JavaScript interface (typed in lib/binding.ts; health in lib/health.ts):
//   set(fd, request: Int32Array[5], out: Int32Array[8], ...locator) -> errno
//   get(fd, out: Int32Array[8], ...locator) -> errno
//   bind(request, out) once per thread, then setFd(fd), getFd(fd) and
//   applyFd(fd) (set without the read-back) use those two arrays.
//   health(fd, out: Float64Array[16], ...locator) -> errno
// where errno is 0 or a negative errno, out[0..4] receive the state read back
// after the call, out[5] the mask of values that came from the kernel, and on
// failure out[6] and out[7] the option and system call that failed.
// health() writes the values of health.h (kUnreported = -1 where this OS has
// none) into out[0..13], and on failure the option and system call into
// out[14] and out[15]. `healthFieldMask` and `stateNames` describe them.
// `locator` (localAddress, localPort, remoteAddress, remotePort) is only used
// where `fd` is -1 (Windows).
#include <napi.h>

#include <string>

#include "health.h"
#include "keepalive.h"

namespace tcpka {

namespace {

constexpr size_t kOutLength = 8;
constexpr size_t kOutReadMask = 5;
constexpr size_t kOutOption = 6;
constexpr size_t kOutSyscall = 7;
constexpr size_t kHealthOutLength = 16;
constexpr size_t kHealthOutOption = 14;
constexpr size_t kHealthOutSyscall = 15;
static_assert(kHealthFieldCount <= kHealthOutOption, "health out layout");

const char* const kOptionNames[kOptionCount] = {
    "SO_KEEPALIVE",         "TCP_KEEPIDLE",       "TCP_KEEPALIVE",
    "TCP_KEEPINTVL",        "TCP_KEEPCNT",        "TCP_USER_TIMEOUT",
    "TCP_RXT_CONNDROPTIME", "SIO_KEEPALIVE_VALS", "TCP_MAXRT",
    "socket lookup",        "TCP_INFO",           "TCP_CONNECTION_INFO",
    "SIO_TCP_INFO"};

const char* const kStateNames[kTcpStateCount] = {
    "unknown",    "established", "syn-sent",   "syn-received",
    "fin-wait-1", "fin-wait-2",  "time-wait",  "closed",
    "close-wait", "last-ack",    "listen",     "closing"};

const char* const kSyscallNames[kSyscallCount] = {"setsockopt", "getsockopt",
                                                  "WSAIoctl", "uv_walk"};

bool ThrowTypeError(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// The data of an Int32Array of at least `min_length` elements, or nullptr.
// One napi_get_typedarray_info call: node-addon-api's IsTypedArray(),
// As<TypedArray>() and As<Int32Array>() make three.
int32_t* Int32Data(napi_env env, const Napi::Value& value, size_t min_length) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr,
                               nullptr) != napi_ok ||
      type != napi_int32_array || length < min_length)
    return nullptr;
  return static_cast<int32_t*>(data);
}

// An int32 as a JavaScript number, without node-addon-api's double.
Napi::Value Int32(Napi::Env env, int32_t value) {
  napi_value result = nullptr;
  napi_create_int32(env, value, &result);
  return Napi::Value(env, result);
}

double* HealthOutArray(const Napi::Value& value) {
  if (!value.IsTypedArray()) return nullptr;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_float64_array ||
      array.ElementLength() < kHealthOutLength)
    return nullptr;
  return array.As<Napi::Float64Array>().Data();
}

// Holds the locator's strings for the duration of one call.
struct LocatorArgs {
  std::string local;
  std::string remote;
  Locator locator{nullptr, 0, nullptr, 0};

  void From(const Napi::CallbackInfo& info, size_t first) {
    if (info.Length() < first + 4) return;
    if (!info[first].IsString() || !info[first + 2].IsString()) return;
    local = info[first].As<Napi::String>().Utf8Value();
    remote = info[first + 2].As<Napi::String>().Utf8Value();
    locator.local_address = local.c_str();
    locator.local_port = info[first + 1].ToNumber().Int32Value();
    locator.remote_address = remote.c_str();
    locator.remote_port = info[first + 3].ToNumber().Int32Value();
  }
};

// Resolves the socket named by info[0] (and the locator after `first`).
bool Resolve(const Napi::CallbackInfo& info, size_t first, os_socket* sock,
             Failure* failure) {
  int32_t fd = info[0].As<Napi::Number>().Int32Value();
  LocatorArgs args;
  uv_loop_s* loop = nullptr;
  if (fd < 0) {
    args.From(info, first);
    napi_get_uv_event_loop(info.Env(), &loop);
  }
  return ResolveSocket(loop, fd, args.locator, sock, failure);
}

Napi::Value Finish(Napi::Env env, bool ok, const State& state,
                   const Failure& failure, int32_t* out) {
  if (!ok) {
    out[kOutOption] = failure.option;
    out[kOutSyscall] = failure.syscall;
    return Int32(env, failure.err);
  }
  for (int32_t i = 0; i < kFieldCount; i++) out[i] = state.value[i];
  out[kOutReadMask] = static_cast<int32_t>(state.read_mask);
  return Int32(env, 0);
}

// Applies `values` to the socket named by info[0] (locator from
// info[first_locator] on), then reads the state back into `out`.
Napi::Value SetAndRead(const Napi::CallbackInfo& info, size_t first_locator,
                       const int32_t* values, int32_t* out) {
  Request request;
  for (int32_t i = 0; i < kFieldCount; i++) request.value[i] = values[i];
  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, first_locator, &sock, &failure) &&
            Apply(sock, request, &failure) && Read(sock, &state, &failure);
  return Finish(info.Env(), ok, state, failure, out);
}

// Reads the state of the socket named by info[0] into `out`.
Napi::Value ReadInto(const Napi::CallbackInfo& info, size_t first_locator,
                     int32_t* out) {
  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, first_locator, &sock, &failure) &&
            Read(sock, &state, &failure);
  return Finish(info.Env(), ok, state, failure, out);
}

Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* out = info.Length() >= 3 ? Int32Data(env, info[2], kOutLength) : nullptr;
  if (!info[0].IsNumber() || out == nullptr) {
    ThrowTypeError(env, "set(fd, request, out): bad arguments");
    return env.Undefined();
  }
  const int32_t* values = Int32Data(env, info[1], kFieldCount);
  if (values == nullptr) {
    ThrowTypeError(env, "set(fd, request, out): request must be Int32Array[5]");
    return env.Undefined();
  }
  return SetAndRead(info, 3, values, out);
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* out = info.Length() >= 2 ? Int32Data(env, info[1], kOutLength) : nullptr;
  if (!info[0].IsNumber() || out == nullptr) {
    ThrowTypeError(env, "get(fd, out): bad arguments");
    return env.Undefined();
  }
  return ReadInto(info, 2, out);
}

Napi::Value HealthOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double* out = info.Length() >= 2 ? HealthOutArray(info[1]) : nullptr;
  if (!info[0].IsNumber() || out == nullptr) {
    ThrowTypeError(env, "health(fd, out): bad arguments");
    return env.Undefined();
  }
  os_socket sock;
  Failure failure{0, 0, 0};
  Health health;
  if (!Resolve(info, 2, &sock, &failure) ||
      !ReadHealth(sock, &health, &failure)) {
    out[kHealthOutOption] = failure.option;
    out[kHealthOutSyscall] = failure.syscall;
    return Napi::Number::New(env, failure.err);
  }
  for (int32_t i = 0; i < kHealthFieldCount; i++) out[i] = health.value[i];
  return Napi::Number::New(env, 0);
}

// The request and out arrays registered by bind(), per thread (instance
// data), held by references so their ArrayBuffers stay alive.
struct Bound {
  Napi::Reference<Napi::Value> request_ref;
  Napi::Reference<Napi::Value> out_ref;
  int32_t* request = nullptr;
  int32_t* out = nullptr;
};

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* request = info.Length() >= 2 ? Int32Data(env, info[0], kFieldCount) : nullptr;
  int32_t* out = info.Length() >= 2 ? Int32Data(env, info[1], kOutLength) : nullptr;
  if (request == nullptr || out == nullptr) {
    ThrowTypeError(env, "bind(request: Int32Array[5], out: Int32Array[8]): bad arguments");
    return env.Undefined();
  }
  Bound* bound = env.GetInstanceData<Bound>();
  if (bound == nullptr) {
    bound = new Bound();
    env.SetInstanceData(bound);
  }
  bound->request_ref = Napi::Persistent(info[0]);
  bound->out_ref = Napi::Persistent(info[1]);
  bound->request = request;
  bound->out = out;
  return env.Undefined();
}

// The bound arrays for setFd/getFd/applyFd(fd), or nullptr with a TypeError.
Bound* BoundFor(const Napi::CallbackInfo& info) {
  Bound* bound = info.Env().GetInstanceData<Bound>();
  if (bound == nullptr || !info[0].IsNumber()) {
    ThrowTypeError(info.Env(), "setFd/getFd/applyFd(fd): fd must be a number, after bind()");
    return nullptr;
  }
  return bound;
}

Napi::Value SetFd(const Napi::CallbackInfo& info) {
  Bound* bound = BoundFor(info);
  if (bound == nullptr) return info.Env().Undefined();
  return SetAndRead(info, 1, bound->request, bound->out);
}

Napi::Value GetFd(const Napi::CallbackInfo& info) {
  Bound* bound = BoundFor(info);
  if (bound == nullptr) return info.Env().Undefined();
  return ReadInto(info, 1, bound->out);
}

// SetFd without the read-back, for callers that do not look at the state
// (the drop-in policy, once per connection).
Napi::Value ApplyFd(const Napi::CallbackInfo& info) {
  Bound* bound = BoundFor(info);
  if (bound == nullptr) return info.Env().Undefined();
  Request request;
  for (int32_t i = 0; i < kFieldCount; i++) request.value[i] = bound->request[i];
  os_socket sock;
  Failure failure{0, 0, 0};
  if (Resolve(info, 1, &sock, &failure) && Apply(sock, request, &failure))
    return Int32(info.Env(), 0);
  bound->out[kOutOption] = failure.option;
  bound->out[kOutSyscall] = failure.syscall;
  return Int32(info.Env(), failure.err);
}

Napi::Array IntArray(Napi::Env env, const int32_t* values, size_t length) {
  Napi::Array array = Napi::Array::New(env, length);
  for (size_t i = 0; i < length; i++) array.Set(i, values[i]);
  return array;
}

Napi::Array StringArray(Napi::Env env, const char* const* values,
                        size_t length) {
  Napi::Array array = Napi::Array::New(env, length);
  for (size_t i = 0; i < length; i++) array.Set(i, values[i]);
  return array;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const Capabilities& caps = GetCapabilities();
  Napi::Object capabilities = Napi::Object::New(env);
  capabilities.Set("platform", caps.platform);
  capabilities.Set("setMask", caps.set_mask);
  capabilities.Set("readMask", caps.read_mask);
  capabilities.Set("min", IntArray(env, caps.min, kFieldCount));
  capabilities.Set("max", IntArray(env, caps.max, kFieldCount));
  capabilities.Set("fallback", IntArray(env, caps.fallback, kFieldCount));
  capabilities.Set("option", IntArray(env, caps.option, kFieldCount));

  exports.Set("capabilities", capabilities);
  exports.Set("optionNames", StringArray(env, kOptionNames, kOptionCount));
  exports.Set("syscallNames", StringArray(env, kSyscallNames, kSyscallCount));
  exports.Set("set", Napi::Function::New(env, Set, "set"));
  exports.Set("get", Napi::Function::New(env, Get, "get"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("setFd", Napi::Function::New(env, SetFd, "setFd"));
  exports.Set("getFd", Napi::Function::New(env, GetFd, "getFd"));
  exports.Set("applyFd", Napi::Function::New(env, ApplyFd, "applyFd"));
  exports.Set("health", Napi::Function::New(env, HealthOf, "health"));
  exports.Set("healthFieldMask", HealthFieldMask());
  exports.Set("stateNames", StringArray(env, kStateNames, kTcpStateCount));
  return exports;
}

}  // namespace

}  // namespace tcpka

static Napi::Object InitTcpKeepalive(Napi::Env env, Napi::Object exports) {
  return tcpka::Init(env, exports);
}

NODE_API_MODULE(tcp_keepalive, InitTcpKeepalive)
