// macOS (10.11+): getsockopt(TCP_CONNECTION_INFO) fills struct
// tcp_connection_info (netinet/tcp.h). Its times are milliseconds already.
// XNU reports no keepalive probe count and no time since the last segment
// received, so those stay unreported here.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "health.h"
#include "health_bsd.h"

namespace tcpka {

uint32_t HealthFieldMask() {
  return (1u << kHealthState) | (1u << kHealthRtoMs) | (1u << kHealthRttMs) |
         (1u << kHealthTotalRetransmits) | (1u << kHealthBytesSent) |
         (1u << kHealthBytesReceived);
}

bool ReadHealth(os_socket sock, Health* health, Failure* failure) {
  struct tcp_connection_info info = {};
  socklen_t len = sizeof(info);
  if (getsockopt(sock, IPPROTO_TCP, TCP_CONNECTION_INFO, &info, &len) != 0) {
    failure->err = -errno;
    failure->option = kOptTcpConnectionInfo;
    failure->syscall = kSysGetsockopt;
    return false;
  }
  double* v = health->value;
  for (int32_t i = 0; i < kHealthFieldCount; i++) v[i] = kUnreported;
  v[kHealthState] = StateFromBsd(info.tcpi_state);
  v[kHealthRtoMs] = info.tcpi_rto;
  v[kHealthRttMs] = info.tcpi_srtt;
  v[kHealthTotalRetransmits] =
      static_cast<double>(info.tcpi_txretransmitpackets);
  v[kHealthBytesSent] = static_cast<double>(info.tcpi_txbytes);
  v[kHealthBytesReceived] = static_cast<double>(info.tcpi_rxbytes);
  return true;
}

}  // namespace tcpka
