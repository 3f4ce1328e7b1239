// FreeBSD: getsockopt(TCP_INFO) fills FreeBSD's own struct tcp_info
// (netinet/tcp.h): the Linux layout, but with BSD state numbers, times in
// microseconds, and the probe and retransmit counters left as unused
// placeholders. tcpi_last_data_recv is the time since any segment arrived
// (t_rcvtime), the idle time keepalive counts from.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "health.h"
#include "health_bsd.h"

namespace tcpka {

uint32_t HealthFieldMask() {
  return (1u << kHealthState) | (1u << kHealthRtoMs) | (1u << kHealthRttMs) |
         (1u << kHealthLastReceivedMs) | (1u << kHealthTotalRetransmits);
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
  double* v = health->value;
  for (int32_t i = 0; i < kHealthFieldCount; i++) v[i] = kUnreported;
  v[kHealthState] = StateFromBsd(info.tcpi_state);
  v[kHealthRtoMs] = info.tcpi_rto / 1000.0;
  v[kHealthRttMs] = info.tcpi_rtt / 1000.0;
  v[kHealthLastReceivedMs] = info.tcpi_last_data_recv / 1000.0;
  v[kHealthTotalRetransmits] = info.tcpi_snd_rexmitpack;
  return true;
}

}  // namespace tcpka
