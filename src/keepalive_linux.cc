// Linux: TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT in seconds, TCP_USER_TIMEOUT
// in milliseconds (RFC 5482). Ranges are the kernel's: MAX_TCP_KEEPIDLE,
// MAX_TCP_KEEPINTVL = 32767 s, MAX_TCP_KEEPCNT = 127; the user timeout is an
// int of milliseconds, so at most INT_MAX / 1000 seconds.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "keepalive_posix.h"

namespace tcpka {

const PosixLayout kPosixLayout = {TCP_KEEPIDLE, TCP_USER_TIMEOUT, 1000,
                                   SO_PROTOCOL};

const Capabilities kPosixCapabilities = {
    "linux",
    0x1f,  // every setting can be set
    0x1f,  // and read back
    {0, 1, 1, 1, 0},
    {1, 32767, 32767, 127, 2147483},
    {-1, -1, -1, -1, -1},
    {kOptSoKeepalive, kOptTcpKeepidle, kOptTcpKeepintvl, kOptTcpKeepcnt,
     kOptTcpUserTimeout},
};

}  // namespace tcpka
