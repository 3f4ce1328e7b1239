/*
 * The system-call floor for `npm run bench`: the same setsockopt/getsockopt
 * calls the addon makes, from C, on a connected loopback TCP socket of its
 * own. Compiled at bench time with the machine's cc (bench/floor.ts).
 *
 * Driven over stdin, one command a line, answering one line on stdout:
 *   set N    N times what one setKeepalive(socket, {idle, interval, count})
 *            does in the kernel, as src/keepalive_posix.cc Apply and Read
 *            make the calls: getsockopt SO_PROTOCOL (the TCP check before
 *            any change), then for TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
 *            and SO_KEEPALIVE in that order a getsockopt of the old value
 *            (kept to undo a part-way failure) and the setsockopt, then
 *            getsockopt SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 *            TCP_KEEPCNT, TCP_USER_TIMEOUT (the read-back): 14 calls.
 *   get N    N times the five getsockopt calls of getKeepalive.
 *   apply N  N times one policy application as Apply makes it, no
 *            read-back: the TCP check, then the old value and the new one of
 *            TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT and
 *            SO_KEEPALIVE: 11 calls.
 *   node N   N times what Node's socket.setKeepAlive(true, ms) does through
 *            libuv on Linux: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 *            TCP_KEEPCNT.
 *   quit
 *
 * With the argument "threaded" it first starts one idle thread. A Node
 * process always has several threads, so its descriptor table is shared and
 * the kernel takes and drops a reference on the file at every system call
 * (fdget/fput); a single-threaded program skips that. The threaded floor
 * pays the same kernel path as any code running inside Node.
 * The answer is "<command> <N> <elapsed ns> <CPU ns> <checksum>", the CPU
 * time being the process's (CLOCK_PROCESS_CPUTIME_ID); values change every
 * iteration, as in the JavaScript loops, so nothing can be skipped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void set_int(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) die("setsockopt");
}

static int get_int(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, name, &value, &len) != 0) die("getsockopt");
  return value;
}

/* One option as Apply changes it: its old value read (for the undo), then the new one set. */
static int replace_int(int fd, int level, int name, int value) {
  int old = get_int(fd, level, name);
  set_int(fd, level, name, value);
  return old;
}

static long long read_all(int fd) {
  return get_int(fd, SOL_SOCKET, SO_KEEPALIVE) + get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE) +
         get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL) + get_int(fd, IPPROTO_TCP, TCP_KEEPCNT) +
         get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT);
}

static void *idle_thread(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "threaded") == 0) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle_thread, NULL) != 0) die("pthread_create");
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof(addr);
  if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0) die("bind");
  if (listen(listener, 1) != 0) die("listen");
  if (getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) die("getsockname");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) die("connect");
  int peer = accept(listener, NULL, NULL);
  if (peer < 0) die("accept");

  char line[128];
  char command[16];
  long n = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  while (fgets(line, sizeof(line), stdin) != NULL) {
    if (sscanf(line, "%15s %ld", command, &n) < 1) continue;
    long long checksum = 0;
    long long start = now_ns(CLOCK_MONOTONIC);
    long long start_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (strcmp(command, "set") == 0) {
      for (long i = 0; i < n; i++) {
        checksum += get_int(fd, SOL_SOCKET, SO_PROTOCOL);
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 60 + (int)(i & 1023));
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 10 + (int)(i & 511));
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 3 + (int)(i & 63));
        checksum += replace_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
        checksum += read_all(fd);
      }
    } else if (strcmp(command, "apply") == 0) {
      for (long i = 0; i < n; i++) {
        checksum += get_int(fd, SOL_SOCKET, SO_PROTOCOL);
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 60 + (int)(i & 1023));
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 10 + (int)(i & 511));
        checksum += replace_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 3 + (int)(i & 63));
        checksum += replace_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 1000 * (90 + (int)(i & 1023)));
        checksum += replace_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
      }
    } else if (strcmp(command, "get") == 0) {
      for (long i = 0; i < n; i++) checksum += read_all(fd);
    } else if (strcmp(command, "node") == 0) {
      for (long i = 0; i < n; i++) {
        set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
        set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 60 + (int)(i & 1023));
        set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 1);
        set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 10);
        checksum += i + 1;
      }
    } else if (strcmp(command, "quit") == 0) {
      break;
    } else {
      printf("error unknown command %s\n", command);
      continue;
    }
    long long elapsed_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
    long long elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf("%s %ld %lld %lld %lld\n", command, n, elapsed, elapsed_cpu, checksum);
  }
  close(peer);
  close(fd);
  close(listener);
  return 0;
}
