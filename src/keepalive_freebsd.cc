// FreeBSD: TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT in seconds; the kernel
// rejects values above INT_MAX / hz (hz is 1000 by default). There is no
// retransmission bound per socket, so userTimeout is not supported.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "keepalive_posix.h"

namespace tcpka {

// SO_PROTOCOL since FreeBSD 9.
#ifdef SO_PROTOCOL
const PosixLayout kPosixLayout = {TCP_KEEPIDLE, -1, 1, SO_PROTOCOL};
#else
const PosixLayout kPosixLayout = {TCP_KEEPIDLE, -1, 1, -1};
#endif

const Capabilities kPosixCapabilities = {
    "freebsd",
    0x0f,  // no userTimeout
    0x0f,
    {0, 1, 1, 1, 0},
    {1, 2147483, 2147483, 2147483, 0},
    {-1, -1, -1, -1, 0},
    {kOptSoKeepalive, kOptTcpKeepidle, kOptTcpKeepintvl, kOptTcpKeepcnt,
     kOptTcpUserTimeout},
};

}  // namespace tcpka
