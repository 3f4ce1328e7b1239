// The one internal interface between the N-API glue (binding.cc) and the
// per-OS code (keepalive_posix.cc with keepalive_{linux,darwin,freebsd}.cc,
// keepalive_win.cc). Everything here is in seconds; each OS file converts to
// its own units (Linux TCP_USER_TIMEOUT and Windows SIO_KEEPALIVE_VALS take
// milliseconds). No state is kept between calls: the socket is named afresh
// on every call.
#ifndef TCP_KEEPALIVE_KEEPALIVE_H_
#define TCP_KEEPALIVE_KEEPALIVE_H_

#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#endif

struct uv_loop_s;

namespace tcpka {

// Index of each setting in Request, State and the capability tables. The
// TypeScript side (lib/binding.ts) uses the same order.
enum Field : int32_t {
  kEnable = 0,
  kIdle = 1,
  kInterval = 2,
  kCount = 3,
  kUserTimeout = 4,
  kFieldCount = 5
};

// A request value of kKeep leaves that setting as the socket has it. Values
// arrive validated against Capabilities::min/max by the TypeScript layer.
constexpr int32_t kKeep = -1;

// The OS option or call that failed, reported to JavaScript by index. The
// names are in kOptionNames (binding.cc), in this order.
enum Option : int32_t {
  kOptSoKeepalive = 0,
  kOptTcpKeepidle,
  kOptTcpKeepalive,
  kOptTcpKeepintvl,
  kOptTcpKeepcnt,
  kOptTcpUserTimeout,
  kOptTcpRxtConndroptime,
  kOptSioKeepaliveVals,
  kOptTcpMaxrt,
  kOptSocketLookup,
  kOptTcpInfo,            // health (health.h): Linux, FreeBSD
  kOptTcpConnectionInfo,  // health: macOS
  kOptSioTcpInfo,         // health: Windows
  kOptSocketType,         // the descriptor is not a TCP socket (POSIX)
  kOptionCount
};

enum Syscall : int32_t {
  kSysSetsockopt = 0,
  kSysGetsockopt,
  kSysWSAIoctl,
  kSysLookup,
  kSyscallCount
};

#ifdef _WIN32
typedef SOCKET os_socket;
#else
typedef int os_socket;
#endif

struct Request {
  int32_t value[kFieldCount];
};

struct State {
  int32_t value[kFieldCount];
  // Bit (1 << field) is set when value[field] was read back from the kernel.
  uint32_t read_mask;
};

// A failed system call: err is a negative libuv-style errno (-EINVAL, or the
// translation of a Winsock error), as Node reports `errno` on its errors.
struct Failure {
  int32_t err;
  int32_t option;
  int32_t syscall;
};

struct Capabilities {
  const char* platform;
  // Bit (1 << field) set when the setting can be changed / read back here.
  uint32_t set_mask;
  uint32_t read_mask;
  // Allowed range for each setting (enable: 0..1; userTimeout: 0 means the
  // system default).
  int32_t min[kFieldCount];
  int32_t max[kFieldCount];
  // What the OS uses for a setting it cannot report (Windows before 1709),
  // or -1 where the value is always read back.
  int32_t fallback[kFieldCount];
  // The option each setting maps to, for error reports.
  int32_t option[kFieldCount];
};

// Where JavaScript could not give a descriptor (Windows, where libuv does not
// expose the SOCKET as `fd`), the connection's addresses identify the handle.
struct Locator {
  const char* local_address;
  int32_t local_port;
  const char* remote_address;
  int32_t remote_port;
};

// Per-OS implementation.
const Capabilities& GetCapabilities();
// Names the OS socket of a connection: the descriptor itself on POSIX; on
// Windows (fd < 0) the libuv TCP handle on `loop` whose addresses match
// `locator`. Looked up on every call, never cached: descriptors are reused.
bool ResolveSocket(uv_loop_s* loop, int32_t fd, const Locator& locator,
                   os_socket* sock, Failure* failure);
bool Apply(os_socket sock, const Request& request, Failure* failure);
bool Read(os_socket sock, State* state, Failure* failure);
// Closes a duplicate descriptor a call was handed (binding.cc's SocketArg:
// Deno's fdForIpc()). Windows: nothing is handed over there (JavaScript
// names a socket by its addresses), so nothing is closed.
void CloseDuplicate(int32_t fd);

}  // namespace tcpka

#endif  // TCP_KEEPALIVE_KEEPALIVE_H_
