// setsockopt/getsockopt for Linux, macOS and FreeBSD. Option numbers and
// units come from kPosixLayout (one per OS, in keepalive_<os>.cc).
#include "keepalive_posix.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

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

bool Fail(int32_t field, int32_t syscall, Failure* failure) {
  failure->err = -errno;
  failure->option = kPosixCapabilities.option[field];
  failure->syscall = syscall;
  return false;
}

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
  for (int32_t field : kOrder) {
    int32_t seconds = request.value[field];
    if (seconds == kKeep) continue;
    Slot slot = SlotFor(field);
    int value = seconds * slot.unit;
    if (setsockopt(sock, slot.level, slot.name, &value, sizeof(value)) != 0)
      return Fail(field, kSysSetsockopt, failure);
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
    socklen_t len = sizeof(value);
    if (getsockopt(sock, slot.level, slot.name, &value, &len) != 0)
      return Fail(field, kSysGetsockopt, failure);
    // Rounded up: a user timeout of 1500 ms set by someone else reads as 2 s.
    state->value[field] =
        field == kEnable ? (value != 0) : (value + slot.unit - 1) / slot.unit;
    state->read_mask |= 1u << field;
  }
  return true;
}

}  // namespace tcpka
