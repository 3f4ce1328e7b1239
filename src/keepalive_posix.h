// What differs between the POSIX systems, as data: keepalive_posix.cc holds
// the code, keepalive_{linux,darwin,freebsd}.cc each define one of these.
#ifndef TCP_KEEPALIVE_KEEPALIVE_POSIX_H_
#define TCP_KEEPALIVE_KEEPALIVE_POSIX_H_

#include "keepalive.h"

namespace tcpka {

struct PosixLayout {
  int idle_name;               // TCP_KEEPIDLE, or TCP_KEEPALIVE on macOS
  int user_timeout_name;       // TCP_USER_TIMEOUT, TCP_RXT_CONNDROPTIME, or -1
  int user_timeout_unit;       // OS units per second: 1000 (ms) or 1 (s)
  // SO_PROTOCOL where the OS has it (Linux, FreeBSD): one getsockopt tells
  // a TCP socket apart; -1 (macOS): SO_TYPE and the address family instead.
  int protocol_name;
};

extern const PosixLayout kPosixLayout;
extern const Capabilities kPosixCapabilities;

}  // namespace tcpka

#endif  // TCP_KEEPALIVE_KEEPALIVE_POSIX_H_
