// setsockopt/getsockopt for Linux, macOS and FreeBSD. Option numbers and
// units come from kPosixLayout (one per OS, in keepalive_<os>.cc).
#include "keepalive_posix.h"

#include <errno.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tcpka {

namespace {

struct Slot {
  int level;
  int name;
  int32_t unit;  // OS units per second of our API
};

Slot SlotFor(int32_t field) {
  const PosixLayout& l = kPosixLayout;
  switch (field) {
    case kEnable: return {SOL_SOCKET, SO_KEEPALIVE, 1};
    case kIdle: return {IPPROTO_TCP, l.idle_name, 1};
    case kInterval: return {IPPROTO_TCP, TCP_KEEPINTVL, 1};
    case kCount: return {IPPROTO_TCP, TCP_KEEPCNT, 1};
    default: return {IPPROTO_TCP, l.user_timeout_name, l.user_timeout_unit};
  }
}

bool Fail(int32_t option, int32_t syscall, int32_t err, Failure* failure) {
  failure->err = err;
  failure->option = option;
  failure->syscall = syscall;
  return false;
}

bool FailField(int32_t field, int32_t syscall, Failure* failure) {
  return Fail(kPosixCapabilities.option[field], syscall, -errno, failure);
}

int GetInt(int fd, int level, int name, int* value) {
  socklen_t len = sizeof(*value);
  *value = 0;
  return getsockopt(fd, level, name, value, &len);
}

// True when `fd` is a TCP socket (over IPv4 or IPv6), checked before any
// change so that nothing is half-applied to a Unix or UDP socket, a pipe or
// a file: where the kernel is asked about a TCP option on those it refuses
// only after SO_KEEPALIVE, which every socket accepts, has been set.
bool CheckTcp(int fd, Failure* failure) {
  int value = 0;
  if (kPosixLayout.protocol_name >= 0) {
    if (GetInt(fd, SOL_SOCKET, kPosixLayout.protocol_name, &value) != 0)
      return Fail(kOptSocketType, kSysGetsockopt, -errno, failure);
    if (value == IPPROTO_TCP) return true;
  } else {
    if (GetInt(fd, SOL_SOCKET, SO_TYPE, &value) != 0)
      return Fail(kOptSocketType, kSysGetsockopt, -errno, failure);
    sockaddr_storage address;
    socklen_t len = sizeof(address);
    if (value == SOCK_STREAM &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len) == 0 &&
        (address.ss_family == AF_INET || address.ss_family == AF_INET6))
      return true;
  }
  return Fail(kOptSocketType, kSysGetsockopt, -ENOTSUP, failure);
}

// Seconds as the OS unit, in 64 bits: at most INT32_MAX seconds x 1000,
// which fits; false where the result does not fit the kernel's int.
bool ToOsUnits(int32_t seconds, int32_t unit, int* value) {
  int64_t units = static_cast<int64_t>(seconds) * unit;
  if (units < INT32_MIN || units > INT32_MAX) return false;
  *value = static_cast<int>(units);
  return true;
}

// An OS value in seconds, rounded up (a user timeout of 1500 ms set by
// someone else reads as 2 s), in 64 bits: INT32_MAX ms reads as 2147484 s,
// where 32-bit arithmetic would overflow. The kernel accepts no negative
// value for these options; one would be divided without rounding.
int32_t ToSeconds(int value, int32_t unit) {
  int64_t units = value;
  if (units <= 0 || unit == 1) return static_cast<int32_t>(units / unit);
  return static_cast<int32_t>((units + unit - 1) / unit);
}

// The previous raw values of the options Apply changed, to put back when a
// later one fails.
struct Undo {
  int32_t field[kFieldCount];
  int value[kFieldCount] = {0, 0, 0, 0, 0};
  int32_t length = 0;

  void Restore(int fd) const {
    for (int32_t i = length - 1; i >= 0; i--) {
      Slot slot = SlotFor(field[i]);
      setsockopt(fd, slot.level, slot.name, &value[i], sizeof(value[i]));
    }
  }
};

}  // namespace

const Capabilities& GetCapabilities() { return kPosixCapabilities; }

bool ResolveSocket(uv_loop_s*, int32_t fd, const Locator&, os_socket* sock,
                   Failure* failure) {
  if (fd < 0) {
    failure->err = -EBADF;
    failure->option = kOptSocketLookup;
    failure->syscall = kSysLookup;
    return false;
  }
  *sock = fd;
  return true;
}

bool Apply(os_socket sock, const Request& request, Failure* failure) {
  // Timing first, SO_KEEPALIVE last, so that a socket being switched on
  // starts its first idle period with the new values.
  static const int32_t kOrder[] = {kIdle, kInterval, kCount, kUserTimeout,
                                   kEnable};
  int value[kFieldCount] = {0, 0, 0, 0, 0};
  for (int32_t field : kOrder) {
    if (request.value[field] == kKeep) continue;
    if (!ToOsUnits(request.value[field], SlotFor(field).unit, &value[field]))
      return Fail(kPosixCapabilities.option[field], kSysSetsockopt, -EINVAL,
                  failure);
  }
  if (!CheckTcp(sock, failure)) return false;
  Undo undo;
  for (int32_t field : kOrder) {
    if (request.value[field] == kKeep) continue;
    Slot slot = SlotFor(field);
    int old = 0;
    if (GetInt(sock, slot.level, slot.name, &old) != 0) {
      FailField(field, kSysGetsockopt, failure);
      undo.Restore(sock);
      return false;
    }
    if (setsockopt(sock, slot.level, slot.name, &value[field],
                   sizeof(value[field])) != 0) {
      FailField(field, kSysSetsockopt, failure);
      undo.Restore(sock);
      return false;
    }
    undo.field[undo.length] = field;
    undo.value[undo.length++] = old;
  }
  return true;
}

bool Read(os_socket sock, State* state, Failure* failure) {
  state->read_mask = 0;
  for (int32_t field = 0; field < kFieldCount; field++) {
    if (!(kPosixCapabilities.read_mask & (1u << field))) {
      state->value[field] = kPosixCapabilities.fallback[field];
      continue;
    }
    Slot slot = SlotFor(field);
    int value = 0;
    if (GetInt(sock, slot.level, slot.name, &value) != 0)
      return FailField(field, kSysGetsockopt, failure);
    state->value[field] =
        field == kEnable ? (value != 0) : ToSeconds(value, slot.unit);
    state->read_mask |= 1u << field;
  }
  return true;
}

void CloseDuplicate(int32_t fd) {
  // A close interrupted by a signal has still released the descriptor
  // (Linux, macOS, FreeBSD): never retried, it could close a reused number.
  if (fd >= 0) close(fd);
}

}  // namespace tcpka
