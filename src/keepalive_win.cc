// Windows. Timing goes through WSAIoctl(SIO_KEEPALIVE_VALS), which takes idle
// and interval together, in milliseconds, and works on every Windows since
// 2000; it also switches keepalive on. The probe count is fixed at 10 unless
// setsockopt(TCP_KEEPCNT) works (Windows 10 1703+), the values can be read
// back only where getsockopt(TCP_KEEPIDLE/TCP_KEEPINTVL) works (1709+), and
// the retransmission bound is TCP_MAXRT, in seconds. What works is found out
// once, on a throwaway socket (GetCapabilities).
//
// libuv does not expose the SOCKET as `fd` on Windows, so ResolveSocket walks
// the loop's TCP handles and picks the one whose addresses match the locator.
//
// Only Winsock and libuv's public API are used, so this builds with MSVC
// (node-gyp) as well as with mingw-w64 (scripts/build-win32.sh).
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>
#include <uv.h>

#include <string.h>

#include "keepalive.h"

// Option numbers from the Windows SDK's ws2ipdef.h, which mingw-w64's headers
// lack (TCP_KEEPIDLE is the newer name of TCP_KEEPALIVE).
#ifndef TCP_KEEPALIVE
#define TCP_KEEPALIVE 3
#endif
#ifndef TCP_KEEPIDLE
#define TCP_KEEPIDLE TCP_KEEPALIVE
#endif
#ifndef TCP_MAXRT
#define TCP_MAXRT 5
#endif
#ifndef TCP_KEEPCNT
#define TCP_KEEPCNT 16
#endif
#ifndef TCP_KEEPINTVL
#define TCP_KEEPINTVL 17
#endif

namespace tcpka {

namespace {

// What Windows uses when nobody set anything: keepalive off, 2 hours idle,
// 1 s between probes, 10 probes (fixed before 1703), no per-socket
// retransmission bound (TcpMaxDataRetransmissions applies).
constexpr int32_t kDefaultIdle = 7200;
constexpr int32_t kDefaultInterval = 1;
constexpr int32_t kDefaultCount = 10;
// ULONG milliseconds in SIO_KEEPALIVE_VALS, and a signed 32-bit value here.
constexpr int32_t kMaxSeconds = 2147483;

struct Slot {
  int level;
  int name;
};

Slot SlotFor(int32_t field) {
  switch (field) {
    case kEnable: return {SOL_SOCKET, SO_KEEPALIVE};
    case kIdle: return {IPPROTO_TCP, TCP_KEEPIDLE};
    case kInterval: return {IPPROTO_TCP, TCP_KEEPINTVL};
    case kCount: return {IPPROTO_TCP, TCP_KEEPCNT};
    default: return {IPPROTO_TCP, TCP_MAXRT};
  }
}

// Every option here is a DWORD, except that SO_KEEPALIVE comes back as a
// one-byte BOOLEAN on Vista and later: starting from 0 covers both.
bool GetDword(SOCKET sock, Slot slot, DWORD* value) {
  *value = 0;
  int len = static_cast<int>(sizeof(*value));
  return getsockopt(sock, slot.level, slot.name,
                    reinterpret_cast<char*>(value), &len) == 0;
}

bool SetDword(SOCKET sock, Slot slot, DWORD value) {
  return setsockopt(sock, slot.level, slot.name,
                    reinterpret_cast<const char*>(&value),
                    static_cast<int>(sizeof(value))) == 0;
}

struct Detected {
  Capabilities caps;
  // TCP_MAXRT as a fresh socket reports it: what userTimeout 0 ("system
  // default") writes back, and what reads back as 0. Documented values are
  // seconds, or -1 for "retransmit forever"; when it cannot be read, 0.
  DWORD maxrt_default;
};

// One probe per option: readable when getsockopt works; settable when
// setsockopt of the value just read (or of the default) works.
Detected Detect() {
  Detected d = {
      {
          "win32",
          (1u << kEnable) | (1u << kIdle) | (1u << kInterval),  // always
          0,
          {0, 1, 1, 1, 0},
          {1, kMaxSeconds, kMaxSeconds, 255, kMaxSeconds},
          {0, kDefaultIdle, kDefaultInterval, kDefaultCount, 0},
          {kOptSoKeepalive, kOptSioKeepaliveVals, kOptSioKeepaliveVals,
           kOptTcpKeepcnt, kOptTcpMaxrt},
      },
      0,
  };
  static const DWORD kProbeValue[kFieldCount] = {0, kDefaultIdle,
                                                 kDefaultInterval,
                                                 kDefaultCount, 0};

  WSADATA wsa;
  bool started = WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
  SOCKET probe = socket(AF_INET, SOCK_STREAM, 0);
  if (probe != INVALID_SOCKET) {
    for (int32_t field = 0; field < kFieldCount; field++) {
      Slot slot = SlotFor(field);
      DWORD value = 0;
      bool readable = GetDword(probe, slot, &value);
      if (readable) {
        d.caps.read_mask |= 1u << field;
        d.caps.fallback[field] = -1;
        if (field == kUserTimeout) d.maxrt_default = value;
      } else {
        value = kProbeValue[field];
      }
      if ((field == kCount || field == kUserTimeout) &&
          SetDword(probe, slot, value))
        d.caps.set_mask |= 1u << field;
    }
    closesocket(probe);
  }
  if (started) WSACleanup();
  return d;
}

const Detected& GetDetected() {
  static const Detected detected = Detect();  // thread-safe since C++11
  return detected;
}

// libuv's translation, plus the Winsock errors of these calls that it
// leaves as UV_UNKNOWN. WSAENETRESET from setsockopt means "the connection
// has timed out when SO_KEEPALIVE is set": ETIMEDOUT, as on Linux.
int32_t TranslateError(int error) {
  switch (error) {
    case WSAENOPROTOOPT: return UV_ENOPROTOOPT;
    case WSAEOPNOTSUPP: return UV_ENOTSUP;
    case WSAENETRESET: return UV_ETIMEDOUT;
    case WSAENETDOWN: return UV_ENETDOWN;
    default: return uv_translate_sys_error(error);
  }
}

bool Fail(int32_t option, int32_t syscall, Failure* failure) {
  failure->err = TranslateError(WSAGetLastError());
  failure->option = option;
  failure->syscall = syscall;
  return false;
}

// The current idle or interval, in seconds, for the half of
// SIO_KEEPALIVE_VALS the request leaves alone. Where it cannot be read the
// TypeScript layer has filled it in, so this only sees the unreadable case
// when that layer did not: the Windows default is the best guess then.
DWORD CurrentSeconds(SOCKET sock, int32_t field, DWORD fallback) {
  DWORD value = 0;
  if ((GetDetected().caps.read_mask & (1u << field)) &&
      GetDword(sock, SlotFor(field), &value) && value > 0)
    return value < static_cast<DWORD>(kMaxSeconds)
               ? value
               : static_cast<DWORD>(kMaxSeconds);
  return fallback;
}

// An address in one comparable form: IPv6 bytes, IPv4 as ::ffff:a.b.c.d
// (a dual-stack socket reports "::ffff:127.0.0.1" for an IPv4 peer).
struct Endpoint {
  unsigned char addr[16];
  unsigned short port;  // host order
};

void FromV4(const in_addr& a, Endpoint* out) {
  memset(out->addr, 0, 10);
  out->addr[10] = 0xff;
  out->addr[11] = 0xff;
  memcpy(out->addr + 12, &a, 4);
}

bool FromSockaddr(const sockaddr_storage& ss, Endpoint* out) {
  if (ss.ss_family == AF_INET) {
    const sockaddr_in& in = reinterpret_cast<const sockaddr_in&>(ss);
    FromV4(in.sin_addr, out);
    out->port = ntohs(in.sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const sockaddr_in6& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    memcpy(out->addr, &in6.sin6_addr, 16);
    out->port = ntohs(in6.sin6_port);
    return true;
  }
  return false;
}

// Parses what Node prints as localAddress/remoteAddress ("127.0.0.1",
// "::1", "::ffff:127.0.0.1", "fe80::1%3"; the zone is not compared).
bool FromString(const char* address, int32_t port, Endpoint* out) {
  if (address == nullptr || port < 0 || port > 65535) return false;
  sockaddr_in in;
  sockaddr_in6 in6;
  if (uv_ip4_addr(address, port, &in) == 0) {
    FromV4(in.sin_addr, out);
  } else if (uv_ip6_addr(address, port, &in6) == 0) {
    memcpy(out->addr, &in6.sin6_addr, 16);
  } else {
    return false;
  }
  out->port = static_cast<unsigned short>(port);
  return true;
}

bool Same(const Endpoint& a, const Endpoint& b) {
  return a.port == b.port && memcmp(a.addr, b.addr, 16) == 0;
}

struct Search {
  Endpoint local;
  Endpoint remote;
  bool found;
  SOCKET sock;
};

void VisitHandle(uv_handle_t* handle, void* arg) {
  Search* search = static_cast<Search*>(arg);
  if (search->found || handle->type != UV_TCP || uv_is_closing(handle))
    return;
  uv_tcp_t* tcp = reinterpret_cast<uv_tcp_t*>(handle);
  sockaddr_storage ss;
  Endpoint endpoint;
  int len = static_cast<int>(sizeof(ss));
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      !FromSockaddr(ss, &endpoint) || !Same(endpoint, search->local))
    return;
  len = static_cast<int>(sizeof(ss));
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      !FromSockaddr(ss, &endpoint) || !Same(endpoint, search->remote))
    return;
  uv_os_fd_t fd;
  if (uv_fileno(handle, &fd) != 0) return;
  search->sock = reinterpret_cast<SOCKET>(fd);
  search->found = true;
}

}  // namespace

const Capabilities& GetCapabilities() { return GetDetected().caps; }

bool ResolveSocket(uv_loop_s* loop, int32_t fd, const Locator& locator,
                   os_socket* sock, Failure* failure) {
  if (fd >= 0) {  // not from libuv on Windows, but a caller may know better
    *sock = static_cast<SOCKET>(fd);
    return true;
  }
  Search search;
  search.found = false;
  search.sock = INVALID_SOCKET;
  if (loop != nullptr &&
      FromString(locator.local_address, locator.local_port, &search.local) &&
      FromString(locator.remote_address, locator.remote_port,
                 &search.remote))
    uv_walk(loop, VisitHandle, &search);
  if (!search.found) {
    failure->err = UV_EBADF;
    failure->option = kOptSocketLookup;
    failure->syscall = kSysLookup;
    return false;
  }
  *sock = search.sock;
  return true;
}

bool Apply(os_socket sock, const Request& request, Failure* failure) {
  const Detected& d = GetDetected();
  int32_t enable = request.value[kEnable];
  int32_t idle = request.value[kIdle];
  int32_t interval = request.value[kInterval];

  if (idle != kKeep || interval != kKeep) {
    // SIO_KEEPALIVE_VALS with onoff = 0 ignores the times, so it is always
    // sent with onoff = 1 and SO_KEEPALIVE is put back off afterwards when
    // the request says so or when it was off and the request leaves it.
    if (enable == kKeep) {
      DWORD on = 0;
      if (!GetDword(sock, SlotFor(kEnable), &on))
        return Fail(kOptSoKeepalive, kSysGetsockopt, failure);
      if (on == 0) enable = 0;
    }
    struct tcp_keepalive vals;
    vals.onoff = 1;
    vals.keepalivetime =
        1000 * (idle != kKeep ? static_cast<ULONG>(idle)
                              : CurrentSeconds(sock, kIdle, kDefaultIdle));
    vals.keepaliveinterval =
        1000 * (interval != kKeep
                    ? static_cast<ULONG>(interval)
                    : CurrentSeconds(sock, kInterval, kDefaultInterval));
    DWORD returned = 0;
    if (WSAIoctl(sock, SIO_KEEPALIVE_VALS, &vals,
                 static_cast<DWORD>(sizeof(vals)), nullptr, 0, &returned,
                 nullptr, nullptr) != 0)
      return Fail(kOptSioKeepaliveVals, kSysWSAIoctl, failure);
    if (enable == 1) enable = kKeep;  // already on
  }

  if (request.value[kCount] != kKeep &&
      !SetDword(sock, SlotFor(kCount),
                static_cast<DWORD>(request.value[kCount])))
    return Fail(kOptTcpKeepcnt, kSysSetsockopt, failure);

  int32_t user_timeout = request.value[kUserTimeout];
  if (user_timeout != kKeep) {
    // TCP_MAXRT documents seconds and -1 ("retransmit forever"), nothing
    // for "system default": 0 writes back what a fresh socket reports.
    DWORD seconds = user_timeout == 0 ? d.maxrt_default
                                      : static_cast<DWORD>(user_timeout);
    if (!SetDword(sock, SlotFor(kUserTimeout), seconds))
      return Fail(kOptTcpMaxrt, kSysSetsockopt, failure);
  }

  // Last, so that a socket being switched on starts with the new timing.
  if (enable != kKeep &&
      !SetDword(sock, SlotFor(kEnable), static_cast<DWORD>(enable != 0)))
    return Fail(kOptSoKeepalive, kSysSetsockopt, failure);
  return true;
}

bool Read(os_socket sock, State* state, Failure* failure) {
  const Detected& d = GetDetected();
  state->read_mask = 0;
  for (int32_t field = 0; field < kFieldCount; field++) {
    if (!(d.caps.read_mask & (1u << field))) {
      state->value[field] = d.caps.fallback[field];
      continue;
    }
    DWORD value = 0;
    if (!GetDword(sock, SlotFor(field), &value))
      return Fail(d.caps.option[field] == kOptSioKeepaliveVals
                      ? (field == kIdle ? kOptTcpKeepidle : kOptTcpKeepintvl)
                      : d.caps.option[field],
                  kSysGetsockopt, failure);
    int32_t seconds;
    if (field == kEnable) {
      seconds = value != 0;
    } else if (field == kUserTimeout && value == d.maxrt_default) {
      seconds = 0;  // nobody set a bound
    } else if (value > static_cast<DWORD>(kMaxSeconds)) {
      // Only TCP_MAXRT gets here in practice: -1 is "retransmit forever".
      seconds = -1;
    } else {
      seconds = static_cast<int32_t>(value);
    }
    state->value[field] = seconds;
    state->read_mask |= 1u << field;
  }
  return true;
}

void CloseDuplicate(int32_t) {}

}  // namespace tcpka
