// Linux: getsockopt(TCP_INFO) fills struct tcp_info (linux/tcp.h). Times
// there are microseconds (tcpi_rto, tcpi_rtt) or milliseconds (tcpi_last_*);
// fields newer than the running kernel are left out by its shorter answer,
// so each one is taken only when the returned length covers it.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "health.h"

namespace tcpka {

namespace {

// The kernel's TCP_* state numbers (include/net/tcp_states.h).
TcpState StateFrom(unsigned linux_state) {
  switch (linux_state) {
    case 1: return kStateEstablished;
    case 2: return kStateSynSent;
    case 3: return kStateSynReceived;
    case 4: return kStateFinWait1;
    case 5: return kStateFinWait2;
    case 6: return kStateTimeWait;
    case 7: return kStateClosed;
    case 8: return kStateCloseWait;
    case 9: return kStateLastAck;
    case 10: return kStateListen;
    case 11: return kStateClosing;
    default: return kStateUnknown;
  }
}

#define HAS_FIELD(len, field)                         \
  ((len) >= offsetof(struct tcp_info, field) +        \
                sizeof(static_cast<struct tcp_info*>(nullptr)->field))

}  // namespace

uint32_t HealthFieldMask() {
  return (1u << kHealthFieldCount) - 1;  // everything, on kernels >= 4.19
}

bool ReadHealth(os_socket sock, Health* health, Failure* failure) {
  struct tcp_info info = {};
  socklen_t len = sizeof(info);
  if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    failure->err = -errno;
    failure->option = kOptTcpInfo;
    failure->syscall = kSysGetsockopt;
    return false;
  }
  size_t got = len;
  double* v = health->value;
  for (int32_t i = 0; i < kHealthFieldCount; i++) v[i] = kUnreported;
  // The first block (state .. tcpi_total_retrans) is there since 2.6.
  if (!HAS_FIELD(got, tcpi_total_retrans)) {
    failure->err = -EPROTO;
    failure->option = kOptTcpInfo;
    failure->syscall = kSysGetsockopt;
    return false;
  }
  v[kHealthState] = StateFrom(info.tcpi_state);
  v[kHealthProbes] = info.tcpi_probes;
  v[kHealthRetransmits] = info.tcpi_retransmits;
  v[kHealthBackoff] = info.tcpi_backoff;
  v[kHealthUnacked] = info.tcpi_unacked;
  v[kHealthRtoMs] = info.tcpi_rto / 1000.0;
  v[kHealthRttMs] = info.tcpi_rtt / 1000.0;
  v[kHealthLastDataReceivedMs] = info.tcpi_last_data_recv;
  v[kHealthLastAckReceivedMs] = info.tcpi_last_ack_recv;
  v[kHealthLastDataSentMs] = info.tcpi_last_data_sent;
  // The keepalive timer counts idle time from the later of the two
  // (tcp_keepalive_timer: keepalive_time_elapsed).
  v[kHealthLastReceivedMs] = info.tcpi_last_data_recv < info.tcpi_last_ack_recv
                                 ? info.tcpi_last_data_recv
                                 : info.tcpi_last_ack_recv;
  v[kHealthTotalRetransmits] = info.tcpi_total_retrans;
  if (HAS_FIELD(got, tcpi_bytes_received))  // 4.1
    v[kHealthBytesReceived] = static_cast<double>(info.tcpi_bytes_received);
  if (HAS_FIELD(got, tcpi_bytes_sent))  // 4.19
    v[kHealthBytesSent] = static_cast<double>(info.tcpi_bytes_sent);
  return true;
}

namespace {

int32_t EndpointFrom(const sockaddr_storage& from, Endpoint* to) {
  const void* address;
  if (from.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    address = &in6->sin6_addr;
    to->port = ntohs(in6->sin6_port);
  } else if (from.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    address = &in->sin_addr;
    to->port = ntohs(in->sin_port);
  } else {
    return -EAFNOSUPPORT;
  }
  if (inet_ntop(from.ss_family, address, to->address, sizeof(to->address)) == nullptr)
    return -errno;
  return 0;
}

}  // namespace

// getsockname() still answers after the connection failed. getpeername()
// answers ENOTCONN once it is reset or timed out (inet_getname refuses
// TCP_CLOSE), but getsockopt(SO_PEERNAME) asks the same function with
// peer = 2, which skips that check: the address stays until the descriptor
// closes. The kernel refuses (EINVAL) a length longer than the address, so
// the peer is asked with the length of this end's family.
int32_t ReadAddressesAfterEnd(os_socket sock, Endpoint* local, Endpoint* peer) {
  struct sockaddr_storage here = {};
  socklen_t len = sizeof(here);
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&here), &len) != 0)
    return -errno;
  struct sockaddr_storage there = {};
  len = here.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERNAME, &there, &len) != 0)
    return -errno;
  int32_t err = EndpointFrom(here, local);
  return err != 0 ? err : EndpointFrom(there, peer);
}

}  // namespace tcpka
