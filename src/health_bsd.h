// The BSD connection states (netinet/tcp_fsm.h TCPS_*), shared by macOS and
// FreeBSD, mapped to the portable TcpState of health.h.
#ifndef TCP_KEEPALIVE_HEALTH_BSD_H_
#define TCP_KEEPALIVE_HEALTH_BSD_H_

#include <netinet/tcp_fsm.h>

#include "health.h"

namespace tcpka {

inline TcpState StateFromBsd(int bsd_state) {
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

}  // namespace tcpka

#endif  // TCP_KEEPALIVE_HEALTH_BSD_H_
