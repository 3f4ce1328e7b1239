#!/usr/bin/env python3
# Reads the keepalive options of TCP sockets straight from the Linux kernel,
# by socket inode (as `ss -e` prints it), whatever process holds them: under
# Wine that is node.exe (or wineserver), whose Winsock calls end up as Linux
# setsockopt calls. Each socket is duplicated with pidfd_getfd(2) (Linux
# 5.6+, needs root or ptrace rights) and asked with getsockopt; this does not
# go through the code under test.
#
#   sockopts.py INODE...   prints {"INODE": {"keepalive": 1, "idle": 41,
#                          "interval": 7, "count": 9, "userTimeoutMs": 0}, ...}
#                          (an inode no process holds is left out)
import ctypes
import json
import os
import socket
import sys

SYS_PIDFD_GETFD = 438  # x86-64 and arm64
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)

wanted = {f"socket:[{ino}]": ino for ino in sys.argv[1:]}
libc = ctypes.CDLL(None, use_errno=True)
found = {}

for pid in filter(str.isdigit, os.listdir("/proc")):
    if len(found) == len(wanted):
        break
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        continue
    pidfd = None
    for fd in fds:
        try:
            ino = wanted.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if ino is None or ino in found:
            continue
        try:
            if pidfd is None:
                pidfd = os.pidfd_open(int(pid))
        except OSError:
            break
        dup = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd), 0)
        if dup < 0:
            continue
        s = socket.socket(fileno=dup)
        try:
            g = s.getsockopt
            found[ino] = {
                "keepalive": g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "idle": g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "interval": g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "count": g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                "userTimeoutMs": g(socket.IPPROTO_TCP, TCP_USER_TIMEOUT),
                "pid": int(pid),
            }
        finally:
            s.close()
    if pidfd is not None:
        os.close(pidfd)

json.dump(found, sys.stdout)
