// macOS (10.11+): getsockopt(TCP_CONNECTION_INFO) fills struct
// tcp_connection_info (netinet/tcp.h). Its times are milliseconds already.
// XNU reports no keepalive probe count and no time since the last segment
// received, so those stay unreported here.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/tcp_fsm.h>
#include <sys/socket.h>

#include "health.h"

namespace tcpka {

namespace {

TcpState StateFrom(int bsd_state) {
  switch (bsd_state) {
    case TCPS_CLOSED: return kStateClosed;
    case TCPS_LISTEN: return kStateListen;
    case TCPS_SYN_SENT: return kStateSynSent;
    case TCPS_SYN_RECEIVED: return kStateSynReceived;
    case TCPS_ESTABLISHED: return kStateEstablished;
    case TCPS_CLOSE_WAIT: return kStateCloseWait;
    case TCPS_FIN_WAIT_1: return kStateFinWait1;
    case TCPS_CLOSING: return kStateClosing;
    case TCPS_LAST_ACK: return kStateLastAck;
    case TCPS_FIN_WAIT_2: return kStateFinWait2;
    case TCPS_TIME_WAIT: return kStateTimeWait;
    default: return kStateUnknown;
  }
}

}  // namespace

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
  v[kHealthState] = StateFrom(info.tcpi_state);
  v[kHealthRtoMs] = info.tcpi_rto;
  v[kHealthRttMs] = info.tcpi_srtt;
  v[kHealthTotalRetransmits] =
      static_cast<double>(info.tcpi_txretransmitpackets);
  v[kHealthBytesSent] = static_cast<double>(info.tcpi_txbytes);
  v[kHealthBytesReceived] = static_cast<double>(info.tcpi_rxbytes);
  return true;
}

}  // namespace tcpka
