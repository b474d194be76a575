/*
 * LD_PRELOAD shim for test-cluster pods:
 * - a bind() to the wildcard address (0.0.0.0, or :: for dual-stack sockets) becomes a
 *   bind() to the pod's own IP (KBRIDGE_POD_IP), so every pod's ports live on its address
 *   and two pods can both listen on 8080, as on a cluster;
 * - every pod process dies with the process that started it (PR_SET_PDEATHSIG), so no pod
 *   outlives its test cluster, even one killed outright;
 * - a container without NET_BIND_SERVICE (KBRIDGE_DENY_LOW_PORTS, set by the kubelet) gets
 *   EACCES binding a port below 1024 even as root, as its capability set would give it.
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
#include <unistd.h>

__attribute__((constructor)) static void die_with_parent(void) {
  if (!getenv("KBRIDGE_POD_IP")) return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* The parent may have gone before the line above ran. */
  if (getppid() == 1) _exit(137);
}

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind;
  if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  const char *pod_ip = getenv("KBRIDGE_POD_IP");
  if (addr && getenv("KBRIDGE_DENY_LOW_PORTS")) {
    unsigned port = 0;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    if (port > 0 && port < 1024) {
      errno = EACCES;
      return -1;
    }
  }
  if (pod_ip && addr) {
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
      struct sockaddr_in in4 = *(const struct sockaddr_in *)addr;
      if (in4.sin_addr.s_addr == htonl(INADDR_ANY) && inet_pton(AF_INET, pod_ip, &in4.sin_addr) == 1)
        return real_bind(fd, (const struct sockaddr *)&in4, sizeof in4);
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
      struct sockaddr_in6 in6 = *(const struct sockaddr_in6 *)addr;
      char mapped[64];
      snprintf(mapped, sizeof mapped, "::ffff:%s", pod_ip);
      if (memcmp(&in6.sin6_addr, &in6addr_any, sizeof in6addr_any) == 0 && inet_pton(AF_INET6, mapped, &in6.sin6_addr) == 1)
        return real_bind(fd, (const struct sockaddr *)&in6, sizeof in6);
    }
  }
  return real_bind(fd, addr, len);
}
