/*
 * The benchmark's reference relay: a CONNECT proxy in C that does for a blind tunnel exactly what
 * Edge's does in a bulk transfer (src/proxy/tunnel.ts: one read of up to 1 MiB from one side, one
 * write of it to the other) with no runtime around it. Run beside Edge in the tunnel scenario, its throughput is the
 * ceiling of any relay process on the machine: on two cores the client and the origin already keep
 * most of both busy, and whatever a relay costs comes out of them.
 *
 * Loopback only, IPv4 literals only (the benchmark's origin is 127.0.0.1). One process per tunnel
 * and one more per direction: blocking reads and writes, so the kernel schedules it like any simple
 * relay. Prints {"proxy":"http://127.0.0.1:PORT"} when listening. Linux (prctl).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* As Edge's RELAY_BULK_READ_BYTES. */
#define RELAY_READ_BYTES (1024 * 1024)
#define MAX_REQUEST_HEAD 4096

static const char ESTABLISHED[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
static const char BAD_REQUEST[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char BAD_GATEWAY[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static int write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Copies `from` to `to` until `from` ends, then passes the end on (half-close, as Edge does). */
static void relay(int from, int to) {
  static char buffer[RELAY_READ_BYTES];
  for (;;) {
    ssize_t n = read(from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || write_all(to, buffer, (size_t)n) < 0) break;
  }
  shutdown(to, SHUT_WR);
}

/* Reads the CONNECT request head byte by byte, so nothing of the tunnel is consumed with it. */
static int read_request_head(int client, char *head, size_t size) {
  size_t length = 0;
  while (length + 1 < size) {
    ssize_t n = read(client, head + length, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    length++;
    if (length >= 4 && memcmp(head + length - 4, "\r\n\r\n", 4) == 0) {
      head[length] = '\0';
      return 0;
    }
  }
  return -1;
}

/*
 * Makes the calling child die with `parent`. The signal is only armed from the prctl on: a parent that died before it
 * (a relay stopped right after it forked) would leave the child orphaned, holding its tunnel's sockets open for ever,
 * so a child whose parent is already gone leaves at once.
 */
static void die_with(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
}

static void serve_tunnel(int client, pid_t relay_pid) {
  /* A tunnel outlives nothing: when the relay is stopped, its tunnels go with it. */
  die_with(relay_pid);
  char head[MAX_REQUEST_HEAD];
  char host[64];
  int port = 0;
  struct sockaddr_in origin = { .sin_family = AF_INET };
  if (read_request_head(client, head, sizeof head) < 0 || sscanf(head, "CONNECT %63[0-9.]:%d ", host, &port) != 2 ||
      port <= 0 || port > 65535 || inet_pton(AF_INET, host, &origin.sin_addr) != 1) {
    write_all(client, BAD_REQUEST, sizeof BAD_REQUEST - 1);
    _exit(1);
  }
  origin.sin_port = htons((unsigned short)port);
  int upstream = socket(AF_INET, SOCK_STREAM, 0);
  if (upstream < 0 || connect(upstream, (struct sockaddr *)&origin, sizeof origin) < 0) {
    write_all(client, BAD_GATEWAY, sizeof BAD_GATEWAY - 1);
    _exit(1);
  }
  int on = 1;
  setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  /* Both directions' processes exist (and die with the tunnel) before the client hears the tunnel is open. */
  pid_t tunnel_pid = getpid();
  pid_t uploader = fork();
  if (uploader < 0) {
    write_all(client, BAD_GATEWAY, sizeof BAD_GATEWAY - 1);
    _exit(1);
  }
  if (uploader == 0) {
    die_with(tunnel_pid);
    relay(client, upstream);
    _exit(0);
  }
  if (write_all(client, ESTABLISHED, sizeof ESTABLISHED - 1) < 0) _exit(1);
  relay(upstream, client);
  _exit(0);
}

int main(void) {
  /* Tunnel processes are reaped by the kernel. */
  signal(SIGCHLD, SIG_IGN);
  pid_t relay_pid = getpid();
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 64) < 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
    perror("reference relay: cannot listen on 127.0.0.1");
    return 1;
  }
  printf("{\"proxy\":\"http://127.0.0.1:%d\"}\n", ntohs(address.sin_port));
  fflush(stdout);
  for (;;) {
    int client = accept(listener, NULL, NULL);
    if (client < 0) continue;
    pid_t tunnel = fork();
    if (tunnel == 0) {
      close(listener);
      serve_tunnel(client, relay_pid);
    }
    close(client);
  }
}
