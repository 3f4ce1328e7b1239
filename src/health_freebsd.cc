// FreeBSD: getsockopt(TCP_INFO) fills FreeBSD's own struct tcp_info
// (netinet/tcp.h): the Linux layout, but with BSD state numbers, times in
// microseconds, and the probe and retransmit counters left as unused
// placeholders. tcpi_last_data_recv is the time since any segment arrived
// (t_rcvtime), the idle time keepalive counts from.
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
  v[kHealthState] = StateFrom(info.tcpi_state);
  v[kHealthRtoMs] = info.tcpi_rto / 1000.0;
  v[kHealthRttMs] = info.tcpi_rtt / 1000.0;
  v[kHealthLastReceivedMs] = info.tcpi_last_data_recv / 1000.0;
  v[kHealthTotalRetransmits] = info.tcpi_snd_rexmitpack;
  return true;
}

}  // namespace tcpka
