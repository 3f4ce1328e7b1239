// N-API glue: argument unpacking and nothing else. The system calls are in
// keepalive_posix.cc (Linux, macOS, FreeBSD) and keepalive_win.cc (Windows),
// connection health in health_<os>.cc.
//
// JavaScript interface (typed in lib/binding.ts; health in lib/health.ts).
// `fd` is a descriptor, or a handle whose fdForIpc() gives a duplicate the
// call closes before it returns (Deno; SocketArg below):
//   set(fd, request: Int32Array[5], out: Int32Array[8], ...locator) -> errno
//   get(fd, out: Int32Array[8], ...locator) -> errno
//   bind(request, out) -> { setFd(fd), getFd(fd), applyFd(fd) }: functions
//     that use those two arrays (applyFd: set without the read-back). Each
//     bind() makes its own functions, holding its own arrays, so two copies
//     of the JavaScript over this one addon never share buffers.
//   health(fd, out: Float64Array[16], ...locator) -> errno
//   addressesAfterEnd(fd) -> { local, remote: { address, port } } | errno:
//     Linux only (health.h), a connection that may already have failed.
//   layout: the indices below, checked by lib/binding.ts when it loads.
// where errno is 0 or a negative errno, out[0..4] receive the state read back
// after the call, out[5] the mask of values that came from the kernel, and on
// failure out[6] and out[7] the option and system call that failed.
// health() writes the values of health.h (kUnreported = -1 where this OS has
// none) into out[0..13], and on failure the option and system call into
// out[14] and out[15]. `healthFieldMask` and `stateNames` describe them.
// `locator` (localAddress, localPort, remoteAddress, remotePort) is only used
// where `fd` is -1 (Windows).
//
// Bad arguments throw a TypeError or RangeError with a Node-style `code`.
// Nothing here may abort the process: module initialisation checks every
// napi status and gives up quietly when the environment is going away (a
// worker terminated while it loads the package), and node-addon-api is built
// with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (binding.gyp).
#include <errno.h>
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
static_assert(kFieldCount <= kOutReadMask, "out layout");

const char* const kOptionNames[kOptionCount] = {
    "SO_KEEPALIVE",         "TCP_KEEPIDLE",       "TCP_KEEPALIVE",
    "TCP_KEEPINTVL",        "TCP_KEEPCNT",        "TCP_USER_TIMEOUT",
    "TCP_RXT_CONNDROPTIME", "SIO_KEEPALIVE_VALS", "TCP_MAXRT",
    "socket lookup",        "TCP_INFO",           "TCP_CONNECTION_INFO",
    "SIO_TCP_INFO",         "socket type"};

const char* const kStateNames[kTcpStateCount] = {
    "unknown",    "established", "syn-sent",   "syn-received",
    "fin-wait-1", "fin-wait-2",  "time-wait",  "closed",
    "close-wait", "last-ack",    "listen",     "closing"};

const char* const kSyscallNames[kSyscallCount] = {"setsockopt", "getsockopt",
                                                  "WSAIoctl", "uv_walk"};

// Throws with the C API, which reports a failure (an environment that is
// shutting down cannot throw) as a status instead of aborting.
void ThrowTypeError(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

// The data of a typed array of type `want` and at least `min_length`
// elements, or nullptr. One napi_get_typedarray_info call: node-addon-api's IsTypedArray(),
// As<TypedArray>() and As<Int32Array>() make three.
void* TypedData(napi_env env, napi_value value, napi_typedarray_type want,
                size_t min_length) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr,
                               nullptr) != napi_ok ||
      type != want || length < min_length)
    return nullptr;
  return data;
}

int32_t* Int32Data(napi_env env, napi_value value, size_t min_length) {
  return static_cast<int32_t*>(
      TypedData(env, value, napi_int32_array, min_length));
}

// An int32 as a JavaScript number, without node-addon-api's double.
Napi::Value Int32(Napi::Env env, int32_t value) {
  napi_value result = nullptr;
  napi_create_int32(env, value, &result);
  return Napi::Value(env, result);
}

// The socket a call names, info[0]: a descriptor, an integer from -1 (none:
// look up by locator) to INT32_MAX; or a handle without `fd` whose
// fdForIpc() hands out a new duplicate of its descriptor at every call
// (Deno's TCPWrap). The duplicate names the same socket, so its options are
// the connection's; it belongs to this call, which closes it when it
// returns: JavaScript never holds it, and no call leaks one.
class SocketArg {
 public:
  SocketArg() = default;
  SocketArg(const SocketArg&) = delete;
  SocketArg& operator=(const SocketArg&) = delete;
  ~SocketArg() {
    if (duplicate_) CloseDuplicate(fd_);
  }

  // False with a coded exception pending when info[0] names no socket.
  bool From(const Napi::CallbackInfo& info, const char* signature) {
    napi_env env = info.Env();
    napi_value value = info.Length() < 1 ? nullptr : static_cast<napi_value>(info[0]);
    napi_valuetype type = napi_undefined;
    bool from_handle = value != nullptr &&
                       napi_typeof(env, value, &type) == napi_ok &&
                       type == napi_object;
    if (from_handle && !Duplicate(env, value, &value))
      return ThrowIfClear(env, signature);
    double number = 0;
    if (value == nullptr ||
        napi_get_value_double(env, value, &number) != napi_ok)
      return ThrowIfClear(env, signature);
    if (!(number >= (from_handle ? 0 : -1) && number <= 2147483647.0) ||
        number != static_cast<double>(static_cast<int32_t>(number))) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", signature);
      return false;
    }
    fd_ = static_cast<int32_t>(number);
    duplicate_ = from_handle;
    return true;
  }

  int32_t fd() const { return fd_; }

 private:
  // handle.fdForIpc(), into *result; false if it is missing or threw.
  static bool Duplicate(napi_env env, napi_value handle, napi_value* result) {
    napi_value method = nullptr;
    napi_valuetype type = napi_undefined;
    return napi_get_named_property(env, handle, "fdForIpc", &method) ==
               napi_ok &&
           napi_typeof(env, method, &type) == napi_ok &&
           type == napi_function &&
           napi_call_function(env, handle, method, 0, nullptr, result) ==
               napi_ok;
  }

  // A TypeError, unless the handle's own method threw (that one propagates).
  static bool ThrowIfClear(napi_env env, const char* signature) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending)
      ThrowTypeError(env, signature);
    return false;
  }

  int32_t fd_ = -1;
  bool duplicate_ = false;
};

double* HealthOutArray(napi_env env, napi_value value) {
  return static_cast<double*>(
      TypedData(env, value, napi_float64_array, kHealthOutLength));
}

// Holds the locator's strings for the duration of one call.
struct LocatorArgs {
  std::string local;
  std::string remote;
  Locator locator{nullptr, 0, nullptr, 0};

  void From(const Napi::CallbackInfo& info, size_t first) {
    if (info.Length() < first + 4) return;
    if (!info[first].IsString() || !info[first + 2].IsString()) return;
    if (!info[first + 1].IsNumber() || !info[first + 3].IsNumber()) return;
    local = info[first].As<Napi::String>().Utf8Value();
    remote = info[first + 2].As<Napi::String>().Utf8Value();
    locator.local_address = local.c_str();
    locator.local_port = info[first + 1].As<Napi::Number>().Int32Value();
    locator.remote_address = remote.c_str();
    locator.remote_port = info[first + 3].As<Napi::Number>().Int32Value();
  }
};

// Resolves the socket `fd` (and the locator after `first`, where fd is -1).
bool Resolve(const Napi::CallbackInfo& info, int32_t fd, size_t first,
             os_socket* sock, Failure* failure) {
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

// Applies `values` to the socket `fd` (locator from info[first_locator]
// on), then reads the state back into `out`.
Napi::Value SetAndRead(const Napi::CallbackInfo& info, int32_t fd,
                       size_t first_locator, const int32_t* values,
                       int32_t* out) {
  Request request;
  for (int32_t i = 0; i < kFieldCount; i++) request.value[i] = values[i];
  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, fd, first_locator, &sock, &failure) &&
            Apply(sock, request, &failure) && Read(sock, &state, &failure);
  return Finish(info.Env(), ok, state, failure, out);
}

// Reads the state of the socket `fd` into `out`.
Napi::Value ReadInto(const Napi::CallbackInfo& info, int32_t fd,
                     size_t first_locator, int32_t* out) {
  os_socket sock;
  Failure failure{0, 0, 0};
  State state;
  bool ok = Resolve(info, fd, first_locator, &sock, &failure) &&
            Read(sock, &state, &failure);
  return Finish(info.Env(), ok, state, failure, out);
}

// The Int32Array info[index] of at least min_length elements, or nullptr.
int32_t* Int32Arg(const Napi::CallbackInfo& info, size_t index,
                  size_t min_length) {
  return info.Length() > index ? Int32Data(info.Env(), info[index], min_length)
                               : nullptr;
}

Napi::Value Set(const Napi::CallbackInfo& info) {
  static const char kSignature[] =
      "set(fd, request: Int32Array[5], out: Int32Array[8]): bad arguments";
  int32_t* out = Int32Arg(info, 2, kOutLength);
  const int32_t* values = Int32Arg(info, 1, kFieldCount);
  if (out == nullptr || values == nullptr) {
    ThrowTypeError(info.Env(), kSignature);
    return info.Env().Undefined();
  }
  SocketArg socket;
  if (!socket.From(info, kSignature)) return info.Env().Undefined();
  return SetAndRead(info, socket.fd(), 3, values, out);
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  static const char kSignature[] = "get(fd, out: Int32Array[8]): bad arguments";
  int32_t* out = Int32Arg(info, 1, kOutLength);
  if (out == nullptr) {
    ThrowTypeError(info.Env(), kSignature);
    return info.Env().Undefined();
  }
  SocketArg socket;
  if (!socket.From(info, kSignature)) return info.Env().Undefined();
  return ReadInto(info, socket.fd(), 2, out);
}

Napi::Value HealthOf(const Napi::CallbackInfo& info) {
  static const char kSignature[] =
      "health(fd, out: Float64Array[16]): bad arguments";
  Napi::Env env = info.Env();
  double* out = info.Length() >= 2 ? HealthOutArray(env, info[1]) : nullptr;
  if (out == nullptr) {
    ThrowTypeError(env, kSignature);
    return env.Undefined();
  }
  SocketArg socket;
  if (!socket.From(info, kSignature)) return env.Undefined();
  os_socket sock;
  Failure failure{0, 0, 0};
  Health health;
  if (!Resolve(info, socket.fd(), 2, &sock, &failure) ||
      !ReadHealth(sock, &health, &failure)) {
    out[kHealthOutOption] = failure.option;
    out[kHealthOutSyscall] = failure.syscall;
    return Int32(env, failure.err);
  }
  for (int32_t i = 0; i < kHealthFieldCount; i++) out[i] = health.value[i];
  return Int32(env, 0);
}

#ifdef TCPKA_PEER_AFTER_END
Napi::Object EndpointObject(Napi::Env env, const Endpoint& endpoint) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::String::New(env, endpoint.address));
  result.Set("port", Int32(env, endpoint.port));
  return result;
}

Napi::Value AddressesAfterEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketArg socket;
  if (!socket.From(info, "addressesAfterEnd(fd): bad arguments"))
    return env.Undefined();
  Endpoint local;
  Endpoint remote;
  int32_t fd = socket.fd();
  int32_t err = fd < 0 ? -EBADF : ReadAddressesAfterEnd(fd, &local, &remote);
  if (err != 0) return Int32(env, err);
  Napi::Object result = Napi::Object::New(env);
  result.Set("local", EndpointObject(env, local));
  result.Set("remote", EndpointObject(env, remote));
  return result;
}
#endif

// The request and out arrays of one bind() call, as the data of one of the
// functions it returns: strong references keep their ArrayBuffers (which V8
// never moves) alive until that function is collected.
struct Bound {
  napi_ref request_ref;
  napi_ref out_ref;
  int32_t* request;
  int32_t* out;
};

void FreeBound(napi_env env, void* data, void*) {
  Bound* bound = static_cast<Bound*>(data);
  napi_delete_reference(env, bound->request_ref);
  napi_delete_reference(env, bound->out_ref);
  delete bound;
}

// The bound arrays of setFd/getFd/applyFd, and the socket info[0].
Bound* BoundFor(const Napi::CallbackInfo& info, SocketArg* socket) {
  if (!socket->From(info, "setFd/getFd/applyFd(fd): fd must be an integer"))
    return nullptr;
  return static_cast<Bound*>(info.Data());
}

Napi::Value SetFd(const Napi::CallbackInfo& info) {
  SocketArg socket;
  Bound* bound = BoundFor(info, &socket);
  if (bound == nullptr) return info.Env().Undefined();
  return SetAndRead(info, socket.fd(), 1, bound->request, bound->out);
}

Napi::Value GetFd(const Napi::CallbackInfo& info) {
  SocketArg socket;
  Bound* bound = BoundFor(info, &socket);
  if (bound == nullptr) return info.Env().Undefined();
  return ReadInto(info, socket.fd(), 1, bound->out);
}

// SetFd without the read-back, for callers that do not look at the state
// (the drop-in policy, once per connection).
Napi::Value ApplyFd(const Napi::CallbackInfo& info) {
  SocketArg socket;
  Bound* bound = BoundFor(info, &socket);
  if (bound == nullptr) return info.Env().Undefined();
  Request request;
  for (int32_t i = 0; i < kFieldCount; i++) request.value[i] = bound->request[i];
  os_socket sock;
  Failure failure{0, 0, 0};
  if (Resolve(info, socket.fd(), 1, &sock, &failure) &&
      Apply(sock, request, &failure))
    return Int32(info.Env(), 0);
  bound->out[kOutOption] = failure.option;
  bound->out[kOutSyscall] = failure.syscall;
  return Int32(info.Env(), failure.err);
}

// Defines the function `name` on `target`, owning a fresh Bound over
// `request` and `out` (freed with the function).
bool DefineBound(napi_env env, napi_value target, const char* name,
                 napi_callback callback, napi_value request, napi_value out) {
  Bound* bound = new Bound{nullptr, nullptr, Int32Data(env, request, 0),
                           Int32Data(env, out, 0)};
  napi_value fn = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, bound,
                           &fn) != napi_ok ||
      napi_create_reference(env, request, 1, &bound->request_ref) != napi_ok ||
      napi_create_reference(env, out, 1, &bound->out_ref) != napi_ok ||
      napi_add_finalizer(env, fn, bound, FreeBound, nullptr, nullptr) !=
          napi_ok) {
    if (bound->request_ref != nullptr)
      napi_delete_reference(env, bound->request_ref);
    if (bound->out_ref != nullptr) napi_delete_reference(env, bound->out_ref);
    delete bound;
    return false;
  }
  return napi_set_named_property(env, target, name, fn) == napi_ok;
}

// node-addon-api's wrapper for a C++ callback, as a plain napi_callback.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
napi_value Callback(napi_env env, napi_callback_info info) {
  Napi::CallbackInfo call(env, info);
  return F(call);
}

napi_value Bind(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  napi_value result = nullptr;
  if (napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr) != napi_ok)
    return nullptr;
  if (argc < 2 || Int32Data(env, argv[0], kFieldCount) == nullptr ||
      Int32Data(env, argv[1], kOutLength) == nullptr) {
    ThrowTypeError(env,
                   "bind(request: Int32Array[5], out: Int32Array[8]): bad "
                   "arguments");
    return nullptr;
  }
  if (napi_create_object(env, &result) != napi_ok ||
      !DefineBound(env, result, "setFd", Callback<SetFd>, argv[0], argv[1]) ||
      !DefineBound(env, result, "getFd", Callback<GetFd>, argv[0], argv[1]) ||
      !DefineBound(env, result, "applyFd", Callback<ApplyFd>, argv[0], argv[1]))
    return nullptr;
  return result;
}

// Module initialisation in the C API, every status checked: a worker that is
// terminated while it loads the package makes these calls fail, and
// node-addon-api would turn the first failure into an exception it cannot
// throw, then a fatal error. Here a failure just ends the initialisation
// (nullptr: nothing is exported), which Node reports, if at all, as the
// termination it is.
class Exporter {
 public:
  explicit Exporter(napi_env env) : env_(env) {}
  bool ok() const { return ok_; }

  napi_value Object() {
    napi_value value = nullptr;
    Check(napi_create_object(env_, &value));
    return value;
  }
  napi_value Int(int32_t number) {
    napi_value value = nullptr;
    Check(napi_create_int32(env_, number, &value));
    return value;
  }
  napi_value Uint(uint32_t number) {
    napi_value value = nullptr;
    Check(napi_create_uint32(env_, number, &value));
    return value;
  }
  napi_value String(const char* text) {
    napi_value value = nullptr;
    Check(napi_create_string_utf8(env_, text, NAPI_AUTO_LENGTH, &value));
    return value;
  }
  napi_value Ints(const int32_t* values, size_t length) {
    napi_value array = Array(length);
    for (size_t i = 0; ok_ && i < length; i++)
      Check(napi_set_element(env_, array, static_cast<uint32_t>(i),
                             Int(values[i])));
    return array;
  }
  napi_value Strings(const char* const* values, size_t length) {
    napi_value array = Array(length);
    for (size_t i = 0; ok_ && i < length; i++)
      Check(napi_set_element(env_, array, static_cast<uint32_t>(i),
                             String(values[i])));
    return array;
  }
  napi_value Function(const char* name, napi_callback callback) {
    napi_value value = nullptr;
    if (ok_)
      Check(napi_create_function(env_, name, NAPI_AUTO_LENGTH, callback,
                                 nullptr, &value));
    return value;
  }
  void Set(napi_value target, const char* name, napi_value value) {
    if (ok_) Check(napi_set_named_property(env_, target, name, value));
  }

 private:
  napi_value Array(size_t length) {
    napi_value value = nullptr;
    if (ok_) Check(napi_create_array_with_length(env_, length, &value));
    return value;
  }
  void Check(napi_status status) {
    if (status != napi_ok) ok_ = false;
  }
  napi_env env_;
  bool ok_ = true;
};

napi_value CapabilitiesObject(Exporter& x) {
  const Capabilities& caps = GetCapabilities();
  napi_value object = x.Object();
  x.Set(object, "platform", x.String(caps.platform));
  x.Set(object, "setMask", x.Uint(caps.set_mask));
  x.Set(object, "readMask", x.Uint(caps.read_mask));
  x.Set(object, "min", x.Ints(caps.min, kFieldCount));
  x.Set(object, "max", x.Ints(caps.max, kFieldCount));
  x.Set(object, "fallback", x.Ints(caps.fallback, kFieldCount));
  x.Set(object, "option", x.Ints(caps.option, kFieldCount));
  return object;
}

// The array layouts, the one source of truth lib/binding.ts checks.
napi_value LayoutObject(Exporter& x) {
  static const struct {
    const char* name;
    int32_t value;
  } kLayout[] = {
      {"fieldCount", kFieldCount},
      {"keep", kKeep},
      {"outLength", kOutLength},
      {"outReadMask", kOutReadMask},
      {"outOption", kOutOption},
      {"outSyscall", kOutSyscall},
      {"healthFieldCount", kHealthFieldCount},
      {"healthOutLength", kHealthOutLength},
      {"healthOutOption", kHealthOutOption},
      {"healthOutSyscall", kHealthOutSyscall},
  };
  napi_value object = x.Object();
  for (const auto& entry : kLayout) x.Set(object, entry.name, x.Int(entry.value));
  return object;
}

napi_value Init(napi_env env, napi_value exports) {
  Exporter x(env);
  x.Set(exports, "capabilities", CapabilitiesObject(x));
  x.Set(exports, "layout", LayoutObject(x));
  x.Set(exports, "optionNames", x.Strings(kOptionNames, kOptionCount));
  x.Set(exports, "syscallNames", x.Strings(kSyscallNames, kSyscallCount));
  x.Set(exports, "set", x.Function("set", Callback<Set>));
  x.Set(exports, "get", x.Function("get", Callback<Get>));
  x.Set(exports, "bind", x.Function("bind", Bind));
  x.Set(exports, "health", x.Function("health", Callback<HealthOf>));
  x.Set(exports, "healthFieldMask", x.Uint(HealthFieldMask()));
#ifdef TCPKA_PEER_AFTER_END
  x.Set(exports, "addressesAfterEnd",
        x.Function("addressesAfterEnd", Callback<AddressesAfterEnd>));
#endif
  x.Set(exports, "stateNames", x.Strings(kStateNames, kTcpStateCount));
  return x.ok() ? exports : nullptr;
}

}  // namespace

}  // namespace tcpka

NAPI_MODULE_INIT() { return tcpka::Init(env, exports); }
