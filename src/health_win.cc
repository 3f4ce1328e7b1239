// Windows 10 1703+ / Server 2016+: WSAIoctl(SIO_TCP_INFO) with version 0
// fills TCP_INFO_v0 (mstcpip.h). It has the state, the round-trip time and
// byte counters, but no keepalive probe count and no idle time. Older
// Windows rejects the control code: reported as ENOTSUP, which the
// TypeScript layer turns into ERR_KEEPALIVE_UNSUPPORTED.
//
// mingw-w64's headers have neither SIO_TCP_INFO nor TCP_INFO_v0, so the
// control code and the structure are spelled out here from the Windows SDK
// documentation (natural alignment, as the SDK declares it).
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>
#include <uv.h>

#include <string.h>

#include "health.h"

#ifndef SIO_TCP_INFO
#define SIO_TCP_INFO _WSAIORW(IOC_VENDOR, 39)
#endif

namespace tcpka {

namespace {

struct TcpInfoV0 {
  int32_t state;  // TCPSTATE
  ULONG mss;
  ULONG64 connection_time_ms;
  BOOLEAN timestamps_enabled;
  ULONG rtt_us;
  ULONG min_rtt_us;
  ULONG bytes_in_flight;
  ULONG cwnd;
  ULONG snd_wnd;
  ULONG rcv_wnd;
  ULONG rcv_buf;
  ULONG64 bytes_out;
  ULONG64 bytes_in;
  ULONG bytes_reordered;
  ULONG bytes_retrans;
  ULONG fast_retrans;
  ULONG dup_acks_in;
  ULONG timeout_episodes;
  UCHAR syn_retrans;
};

// TCPSTATE: CLOSED, LISTEN, SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1,
// FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT.
TcpState StateFrom(int32_t windows_state) {
  static const TcpState kStates[] = {
      kStateClosed,    kStateListen,    kStateSynSent,  kStateSynReceived,
      kStateEstablished, kStateFinWait1, kStateFinWait2, kStateCloseWait,
      kStateClosing,   kStateLastAck,   kStateTimeWait};
  if (windows_state < 0 ||
      windows_state >= static_cast<int32_t>(sizeof(kStates) / sizeof(kStates[0])))
    return kStateUnknown;
  return kStates[windows_state];
}

int32_t TranslateError(int error) {
  switch (error) {
    // What Windows before 1703 answers for a control code it lacks.
    case WSAEOPNOTSUPP:
    case WSAEINVAL:
    case WSAENOPROTOOPT:
      return UV_ENOTSUP;
    default:
      return uv_translate_sys_error(error);
  }
}

}  // namespace

uint32_t HealthFieldMask() {
  return (1u << kHealthState) | (1u << kHealthRttMs) |
         (1u << kHealthBytesSent) | (1u << kHealthBytesReceived);
}

bool ReadHealth(os_socket sock, Health* health, Failure* failure) {
  DWORD version = 0;
  TcpInfoV0 info;
  memset(&info, 0, sizeof(info));
  DWORD returned = 0;
  if (WSAIoctl(sock, SIO_TCP_INFO, &version, static_cast<DWORD>(sizeof(version)),
               &info, static_cast<DWORD>(sizeof(info)), &returned, nullptr,
               nullptr) != 0) {
    failure->err = TranslateError(WSAGetLastError());
    failure->option = kOptSioTcpInfo;
    failure->syscall = kSysWSAIoctl;
    return false;
  }
  double* v = health->value;
  for (int32_t i = 0; i < kHealthFieldCount; i++) v[i] = kUnreported;
  v[kHealthState] = StateFrom(info.state);
  v[kHealthRttMs] = info.rtt_us / 1000.0;
  v[kHealthBytesSent] = static_cast<double>(info.bytes_out);
  v[kHealthBytesReceived] = static_cast<double>(info.bytes_in);
  return true;
}

}  // namespace tcpka
