// macOS (10.8+): the idle time is TCP_KEEPALIVE, not TCP_KEEPIDLE, and the
// retransmission bound TCP_RXT_CONNDROPTIME takes seconds (not milliseconds).
// XNU keeps these as seconds multiplied by its 1000 Hz TCP clock in a 32-bit
// field, so values are limited to INT32_MAX / 1000 seconds here.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "keepalive_posix.h"

namespace tcpka {

// No SO_PROTOCOL on macOS: SO_TYPE and the address family.
const PosixLayout kPosixLayout = {TCP_KEEPALIVE, TCP_RXT_CONNDROPTIME, 1, -1};

const Capabilities kPosixCapabilities = {
    "darwin",
    0x1f,
    0x1f,
    {0, 1, 1, 1, 0},
    {1, 2147483, 2147483, 2147483, 2147483},
    {-1, -1, -1, -1, -1},
    {kOptSoKeepalive, kOptTcpKeepalive, kOptTcpKeepintvl, kOptTcpKeepcnt,
     kOptTcpRxtConndroptime},
};

}  // namespace tcpka
