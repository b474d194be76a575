/*
 * LD_PRELOAD shim for test-cluster pods:
 * - a bind() to the wildcard address (0.0.0.0, or :: for dual-stack sockets) becomes a
 *   bind() to the pod's own IP (KBRIDGE_POD_IP), so every pod's ports live on its address
 *   and two pods can both listen on 8080, as on a cluster;
 * - every pod process dies with the process that started it (PR_SET_PDEATHSIG), so no pod
 *   outlives its test cluster, even one killed outright;
 * - a container without NET_BIND_SERVICE (KBRIDGE_DENY_LOW_PORTS, set by the kubelet) gets
 *   EACCES binding a port below 1024 even as root, as its capability set would give it;
 * - the pod's loopback is its own: a bind() to 127.0.0.1 or ::1 goes to the pod IP but
 *   accepts only the pod itself and the node (port-forward, probes come from 127.0.0.1),
 *   and a connect() to 127.0.0.1 or ::1 goes to the pod IP, as in a pod network namespace;
 * - a pod's TCP connections leave from its pod IP, and a connection from another pod is
 *   accepted only if the cluster's NetworkPolicies admit it (asked over the unix socket
 *   KBRIDGE_POLICY_SOCKET; refused ones are closed, so the client sees a reset).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

__attribute__((constructor)) static void die_with_parent(void) {
  if (!getenv("KBRIDGE_POD_IP")) return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have gone before the line above ran. */
  if (getppid() == 1) _exit(137);
}

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

#define MAX_FDS 65536
/* Listening sockets the program bound to its loopback. */
static unsigned char loopback_only[MAX_FDS];

static bind_fn real_bind_fn(void) {
  static bind_fn real;
  if (!real) real = (bind_fn)dlsym(RTLD_NEXT, "bind");
  return real;
}

static int pod_addr(struct in_addr *out) {
  const char *pod_ip = getenv("KBRIDGE_POD_IP");
  return pod_ip && inet_pton(AF_INET, pod_ip, out) == 1;
}

static int is_loopback4(const struct in_addr *a) { return a->s_addr == htonl(INADDR_LOOPBACK); }
static int is_loopback6(const struct in6_addr *a) {
  struct in6_addr mapped;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped);
  return memcmp(a, &in6addr_loopback, sizeof *a) == 0 || memcmp(a, &mapped, sizeof *a) == 0;
}

/* The wildcard or loopback address of `addr` replaced by the pod IP; 0 when it is neither. */
static int to_pod_address(const struct sockaddr *addr, socklen_t len, struct sockaddr_storage *out, int *was_loopback) {
  struct in_addr pod;
  if (!addr || !pod_addr(&pod)) return 0;
  if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in in4 = *(const struct sockaddr_in *)addr;
    *was_loopback = is_loopback4(&in4.sin_addr);
    if (in4.sin_addr.s_addr != htonl(INADDR_ANY) && !*was_loopback) return 0;
    in4.sin_addr = pod;
    memcpy(out, &in4, sizeof in4);
    return sizeof in4;
  }
  if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 in6 = *(const struct sockaddr_in6 *)addr;
    *was_loopback = is_loopback6(&in6.sin6_addr);
    if (memcmp(&in6.sin6_addr, &in6addr_any, sizeof in6addr_any) != 0 && !*was_loopback) return 0;
    memset(&in6.sin6_addr, 0, sizeof in6.sin6_addr);
    in6.sin6_addr.s6_addr[10] = 0xff;
    in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&in6.sin6_addr.s6_addr[12], &pod, 4);
    memcpy(out, &in6, sizeof in6);
    return sizeof in6;
  }
  return 0;
}

static unsigned port_of(const struct sockaddr *addr, socklen_t len) {
  if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) return ntohs(((const struct sockaddr_in *)addr)->sin_port);
  if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
  return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  if (addr && getenv("KBRIDGE_DENY_LOW_PORTS")) {
    unsigned port = port_of(addr, len);
    if (port > 0 && port < 1024) {
      errno = EACCES;
      return -1;
    }
  }
  struct sockaddr_storage rewritten;
  int was_loopback = 0;
  int rewritten_len = to_pod_address(addr, len, &rewritten, &was_loopback);
  if (fd >= 0 && fd < MAX_FDS) loopback_only[fd] = (unsigned char)(rewritten_len > 0 && was_loopback);
  if (rewritten_len > 0) return real_bind_fn()(fd, (const struct sockaddr *)&rewritten, (socklen_t)rewritten_len);
  return real_bind_fn()(fd, addr, len);
}

static int is_stream(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  static connect_fn real_connect;
  if (!real_connect) real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
  struct in_addr pod;
  if (!addr || !pod_addr(&pod) || !is_stream(fd) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) return real_connect(fd, addr, len);
  /* Leave from the pod IP, so the other end (and its policies) knows which pod this is (cluster addresses are all 127/8). */
  struct in_addr destination;
  int local_destination = 0;
  if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    destination = ((const struct sockaddr_in *)addr)->sin_addr;
    local_destination = (ntohl(destination.s_addr) >> 24) == 127;
  } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const unsigned char *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    local_destination = is_loopback6(&((const struct sockaddr_in6 *)addr)->sin6_addr) || (memcmp(b, prefix, 12) == 0 && b[12] == 127);
  }
  if (!local_destination) return real_connect(fd, addr, len);
  struct sockaddr_storage mine;
  socklen_t mine_len = sizeof mine;
  if (getsockname(fd, (struct sockaddr *)&mine, &mine_len) == 0 && port_of((struct sockaddr *)&mine, mine_len) == 0) {
    struct sockaddr_storage source;
    int loopback = 0;
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    any.ss_family = addr->sa_family;
    int source_len = to_pod_address((struct sockaddr *)&any, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6), &source, &loopback);
    if (source_len > 0) real_bind_fn()(fd, (struct sockaddr *)&source, (socklen_t)source_len);
  }
  struct sockaddr_storage target;
  int was_loopback = 0;
  int target_len = to_pod_address(addr, len, &target, &was_loopback);
  if (target_len > 0 && was_loopback) return real_connect(fd, (const struct sockaddr *)&target, (socklen_t)target_len);
  return real_connect(fd, addr, len);
}

/* The peer's IPv4 address (IPv4-mapped IPv6 too); 0 when it has none. */
static int peer_v4(int fd, struct in_addr *out) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0) return 0;
  if (peer.ss_family == AF_INET) {
    *out = ((struct sockaddr_in *)&peer)->sin_addr;
    return 1;
  }
  if (peer.ss_family == AF_INET6) {
    const unsigned char *b = ((struct sockaddr_in6 *)&peer)->sin6_addr.s6_addr;
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, prefix, 12) != 0) return 0;
    memcpy(out, b + 12, 4);
    return 1;
  }
  return 0;
}

/* Asks the cluster whether `from` may connect to this pod's `port`. Unanswered: refused. */
static int policy_admits(const char *from, const char *to, unsigned port) {
  const char *path = getenv("KBRIDGE_POLICY_SOCKET");
  if (!path) return 1;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return 0;
  struct sockaddr_un where;
  memset(&where, 0, sizeof where);
  where.sun_family = AF_UNIX;
  strncpy(where.sun_path, path, sizeof where.sun_path - 1);
  connect_fn real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
  char line[96];
  int n = snprintf(line, sizeof line, "%s %s %u\n", from, to, port);
  char answer = 'n';
  if (real_connect(sock, (struct sockaddr *)&where, sizeof where) == 0 && write(sock, line, (size_t)n) == n) {
    if (read(sock, &answer, 1) != 1) answer = 'n';
  }
  close(sock);
  return answer == 'y';
}

/* Whether this pod takes a connection accepted on `listener`. */
static int admitted(int listener, int fd) {
  struct in_addr pod, peer;
  if (!pod_addr(&pod) || !peer_v4(fd, &peer)) return 1;
  if (peer.s_addr == pod.s_addr) return 1;
  if (listener >= 0 && listener < MAX_FDS && loopback_only[listener]) return peer.s_addr == htonl(INADDR_LOOPBACK);
  const char *prefix = getenv("KBRIDGE_POD_PREFIX");
  char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer, from, sizeof from);
  inet_ntop(AF_INET, &pod, to, sizeof to);
  size_t plen = prefix ? strlen(prefix) : 0;
  if (!prefix || strncmp(from, prefix, plen) != 0 || from[plen] != '.') return 1;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  unsigned port = getsockname(fd, (struct sockaddr *)&local, &local_len) == 0 ? port_of((struct sockaddr *)&local, local_len) : 0;
  return policy_admits(from, to, port);
}

int accept4(int listener, struct sockaddr *addr, socklen_t *len, int flags) {
  static accept4_fn real_accept4;
  if (!real_accept4) real_accept4 = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
  for (;;) {
    int fd = real_accept4(listener, addr, len, flags);
    if (fd < 0 || admitted(listener, fd)) return fd;
    close(fd);
  }
}

int accept(int listener, struct sockaddr *addr, socklen_t *len) { return accept4(listener, addr, len, 0); }
