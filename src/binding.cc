// N-API glue: argument unpacking and nothing else. The system calls are in
// keepalive_posix.cc (Linux, macOS, FreeBSD) and keepalive_win.cc (Windows),
// connection health in health_<os>.cc.
//
// JavaScript interface (typed in lib/binding.ts; health in lib/health.ts):
//   set(fd, request: Int32Array[5], out: Int32Array[8], ...locator) -> errno
//   get(fd, out: Int32Array[8], ...locator) -> errno
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

int32_t* OutArray(const Napi::Value& value) {
  if (!value.IsTypedArray()) return nullptr;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_int32_array ||
      array.ElementLength() < kOutLength)
    return nullptr;
  return array.As<Napi::Int32Array>().Data();
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
    return Napi::Number::New(env, failure.err);
  }
  for (int32_t i = 0; i < kFieldCount; i++) out[i] = state.value[i];
  out[kOutReadMask] = static_cast<int32_t>(state.read_mask);
  return Napi::Number::New(env, 0);
}

Napi::Value Set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* out = info.Length() >= 3 ? OutArray(info[2]) : nullptr;
  if (!info[0].IsNumber() || !info[1].IsTypedArray() || out == nullptr) {
    ThrowTypeError(env, "set(fd, request, out): bad arguments");
    return env.Undefined();
  }
  Napi::TypedArray request_array = info[1].As<Napi::TypedArray>();
  if (request_array.TypedArrayType() != napi_int32_array ||
      request_array.ElementLength() < kFieldCount) {
    ThrowTypeError(env, "set(fd, request, out): request must be Int32Array[5]");
    return env.Undefined();
  }
  const int32_t* values = request_array.As<Napi::Int32Array>().Data();
  Request request;
  for (int32_t i = 0; i < kFieldCount; i++) request.value[i] = values[i];

  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, 3, &sock, &failure) &&
            Apply(sock, request, &failure) && Read(sock, &state, &failure);
  return Finish(env, ok, state, failure, out);
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* out = info.Length() >= 2 ? OutArray(info[1]) : nullptr;
  if (!info[0].IsNumber() || out == nullptr) {
    ThrowTypeError(env, "get(fd, out): bad arguments");
    return env.Undefined();
  }
  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, 2, &sock, &failure) && Read(sock, &state, &failure);
  return Finish(env, ok, state, failure, out);
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
