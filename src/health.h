// Connection health: what the kernel knows about one TCP connection right
// now (state, unanswered keepalive probes, retransmissions, time since the
// last segment was received, ...), read with one call per OS:
//   Linux    getsockopt(TCP_INFO)             health_linux.cc
//   macOS    getsockopt(TCP_CONNECTION_INFO)  health_darwin.cc
//   FreeBSD  getsockopt(TCP_INFO)             health_freebsd.cc
//   Windows  WSAIoctl(SIO_TCP_INFO), 10 1703+ health_win.cc
// Each OS fills what it has; everything else is kUnreported. Units are fixed
// here and converted by each OS file: durations in milliseconds (fractions
// allowed), counts as counts, sizes in bytes.
#ifndef TCP_KEEPALIVE_HEALTH_H_
#define TCP_KEEPALIVE_HEALTH_H_

#include <stddef.h>

#include "keepalive.h"

namespace tcpka {

// Index of each value in Health::value and in the Float64Array handed to
// JavaScript (lib/health.ts uses the same order).
enum HealthField : int32_t {
  kHealthState = 0,          // a TcpState
  kHealthProbes,             // keepalive probes sent and not answered yet
  kHealthRetransmits,        // timeouts of the oldest unacknowledged segment
  kHealthBackoff,            // exponential backoff of the retransmission timer
  kHealthUnacked,            // segments sent and not acknowledged
  kHealthRtoMs,              // current retransmission timeout
  kHealthRttMs,              // smoothed round-trip time
  kHealthLastReceivedMs,     // since any segment was received (keepalive idle)
  kHealthLastDataReceivedMs, // since data was received
  kHealthLastAckReceivedMs,  // since an acknowledgement was received
  kHealthLastDataSentMs,     // since data was sent
  kHealthTotalRetransmits,   // segments retransmitted over the connection's life
  kHealthBytesSent,          // payload bytes sent (retransmissions included)
  kHealthBytesReceived,      // payload bytes received
  kHealthFieldCount
};

// Connection states, one numbering for every OS (names in binding.cc,
// kStateNames, in this order).
enum TcpState : int32_t {
  kStateUnknown = 0,
  kStateEstablished,
  kStateSynSent,
  kStateSynReceived,
  kStateFinWait1,
  kStateFinWait2,
  kStateTimeWait,
  kStateClosed,
  kStateCloseWait,
  kStateLastAck,
  kStateListen,
  kStateClosing,
  kTcpStateCount
};

// A value this OS does not report.
constexpr double kUnreported = -1;

struct Health {
  double value[kHealthFieldCount];
};

// Bit (1 << field) set for each value this OS can report at all (an older
// kernel may still leave some of them kUnreported on a given call).
uint32_t HealthFieldMask();

// Reads the connection's health. On failure fills `failure` (option
// kOptTcpInfo, kOptTcpConnectionInfo or kOptSioTcpInfo) and returns false.
bool ReadHealth(os_socket sock, Health* health, Failure* failure);

#ifdef TCPKA_PEER_AFTER_END
// The two addresses of a connection that may already have failed, as text
// and port, read while the descriptor is still open (Linux only:
// binding.gyp defines TCPKA_PEER_AFTER_END there; health_linux.cc).
// Returns 0 or a negative errno.
constexpr size_t kAddressTextLength = 46;  // INET6_ADDRSTRLEN
struct Endpoint {
  char address[kAddressTextLength];
  int32_t port;
};
int32_t ReadAddressesAfterEnd(os_socket sock, Endpoint* local, Endpoint* peer);
#endif

}  // namespace tcpka

#endif  // TCP_KEEPALIVE_HEALTH_H_
