/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dns-load.c — a DNS load generator that times every query.  Not a test:
 * it prints numbers.
 *
 *   dns-load -s SERVER [-p PORT] -d FILE (-r RATE | -c IN_FLIGHT) [-l SECONDS]
 *            [-t TIMEOUT_MS] [-S SOCKETS]
 *
 * FILE holds "NAME TYPE" lines (dnsperf's format; TYPE A, AAAA, or a
 * number), sent in turn, again and again.  With -r it sends RATE queries a
 * second on a fixed schedule, whatever the answers do (an open loop: the
 * latency of a slow answer is not hidden by sending less); with -c it keeps
 * IN_FLIGHT queries outstanding (a closed loop: the most the server gives).
 * Each query's send time is kept by its id; a reply is timed when it is
 * read.  Prints one line of key=value pairs:
 *
 *   sent answered lost late qps noerror nxdomain other p50_us p90_us p99_us
 *   p999_us max_us avg_us
 *
 * A reply after the timeout counts as late (and lost).  Queries go out
 * from SOCKETS sockets (default 1) in turn, so that the kernel sees as
 * many flows.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define IDS         65536

typedef struct {
  uint8_t wire[300];
  size_t len;
} Query;

typedef struct {
  int fds[MAX_SOCKETS];
  int n_fds;
  Query *queries;
  size_t n_queries;
  double rate;
  int in_flight;
  double seconds;
  uint64_t timeout_ns;
  _Atomic uint64_t sent_at[IDS]; /* 0: not outstanding */
  _Atomic uint32_t n_latencies;  /* latencies recorded */
  _Atomic uint64_t next_seq;     /* closed loop: the next query */
  uint32_t *latencies;           /* ns, capped */
  size_t latencies_cap;
  _Atomic uint64_t sent, answered, late, noerror, nxdomain, other;
  _Atomic int stop;
  _Atomic int draining; /* no new queries */
  _Atomic int outstanding;
} Load;

static uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int
encode_name (const char *name, uint8_t *out, size_t cap)
{
  size_t n = 0;
  const char *p = name;

  while (*p != '\0')
    {
      const char *dot = strchr (p, '.');
      size_t len = dot != NULL ? (size_t) (dot - p) : strlen (p);

      if (len == 0 || len > 63 || n + len + 2 > cap)
        return -1;
      out[n++] = (uint8_t) len;
      memcpy (out + n, p, len);
      n += len;
      p += len;
      if (*p == '.')
        p++;
    }
  out[n++] = 0;
  return (int) n;
}

static int
load_queries (Load *load, const char *path)
{
  FILE *f = fopen (path, "r");
  char line[512];
  size_t cap = 1024;

  if (f == NULL)
    return -errno;
  load->queries = calloc (cap, sizeof *load->queries);
  while (fgets (line, sizeof line, f) != NULL)
    {
      char name[300], type[32] = "A";
      unsigned qtype;
      Query *q;
      int n;

      if (sscanf (line, "%299s %31s", name, type) < 1 || name[0] == '#')
        continue;
      if (strcmp (type, "A") == 0)
        qtype = 1;
      else if (strcmp (type, "AAAA") == 0)
        qtype = 28;
      else if (strcmp (type, "TXT") == 0)
        qtype = 16;
      else if (strcmp (type, "MX") == 0)
        qtype = 15;
      else
        qtype = (unsigned) strtoul (type, NULL, 10);
      if (load->n_queries == cap)
        {
          cap *= 2;
          load->queries = realloc (load->queries, cap * sizeof *load->queries);
        }
      q = &load->queries[load->n_queries];
      memset (q->wire, 0, 12);
      q->wire[2] = 0x01; /* RD */
      q->wire[5] = 1;    /* QDCOUNT */
      n = encode_name (name, q->wire + 12, sizeof q->wire - 12 - 4);
      if (n < 0)
        continue;
      q->len = 12 + (size_t) n;
      q->wire[q->len++] = (uint8_t) (qtype >> 8);
      q->wire[q->len++] = (uint8_t) qtype;
      q->wire[q->len++] = 0;
      q->wire[q->len++] = 1; /* IN */
      load->n_queries++;
    }
  fclose (f);
  return load->n_queries > 0 ? 0 : -ENODATA;
}

/* Sends query number @seq; FALSE when its id is still outstanding. */
static int
send_one (Load *load, uint64_t seq)
{
  const Query *q = &load->queries[seq % load->n_queries];
  uint16_t id = (uint16_t) seq;
  uint8_t buf[300];
  uint64_t expected = 0;

  memcpy (buf, q->wire, q->len);
  buf[0] = (uint8_t) (id >> 8);
  buf[1] = (uint8_t) id;
  if (!atomic_compare_exchange_strong (&load->sent_at[id], &expected, now_ns ()))
    return 0; /* that id is still waiting: skip it */
  atomic_fetch_add (&load->outstanding, 1);
  if (send (load->fds[seq % (uint64_t) load->n_fds], buf, q->len, 0) != (ssize_t) q->len)
    {
      atomic_store (&load->sent_at[id], 0);
      atomic_fetch_sub (&load->outstanding, 1);
      return 0;
    }
  atomic_fetch_add (&load->sent, 1);
  return 1;
}

static void
record (Load *load, const uint8_t *buf, ssize_t n, uint64_t t)
{
  uint16_t id;
  uint64_t sent;
  uint32_t slot;

  if (n < 12 || (buf[2] & 0x80) == 0)
    return;
  id = (uint16_t) (buf[0] << 8 | buf[1]);
  sent = atomic_exchange (&load->sent_at[id], 0);
  if (sent == 0)
    return; /* a duplicate, or one we gave up on */
  atomic_fetch_sub (&load->outstanding, 1);
  if (t - sent > load->timeout_ns)
    {
      atomic_fetch_add (&load->late, 1);
      return;
    }
  atomic_fetch_add (&load->answered, 1);
  switch (buf[3] & 0x0f)
    {
    case 0: atomic_fetch_add (&load->noerror, 1); break;
    case 3: atomic_fetch_add (&load->nxdomain, 1); break;
    default: atomic_fetch_add (&load->other, 1); break;
    }
  slot = atomic_fetch_add (&load->n_latencies, 1);
  if (slot < load->latencies_cap)
    load->latencies[slot] = (uint32_t) ((t - sent) > UINT32_MAX ? UINT32_MAX : (t - sent));
}

/* Closed loop: the next query in turn, skipping ids still out. */
static void
send_next (Load *load)
{
  for (int tries = 0; tries < 16; tries++)
    if (send_one (load, atomic_fetch_add (&load->next_seq, 1)))
      return;
}

/* Gives up on queries older than the timeout, so that their ids can go again. */
static void
expire (Load *load, uint64_t t)
{
  for (uint32_t id = 0; id < IDS; id++)
    {
      uint64_t sent = atomic_load (&load->sent_at[id]);

      if (sent != 0 && t - sent > load->timeout_ns
          && atomic_compare_exchange_strong (&load->sent_at[id], &sent, 0))
        atomic_fetch_sub (&load->outstanding, 1);
    }
}

static void *
receiver (void *data)
{
  Load *load = data;
  struct pollfd pfds[MAX_SOCKETS];
  uint8_t buf[4096];

  for (int i = 0; i < load->n_fds; i++)
    pfds[i] = (struct pollfd) { .fd = load->fds[i], .events = POLLIN };
  while (!atomic_load (&load->stop))
    {
      if (poll (pfds, (nfds_t) load->n_fds, 50) <= 0)
        continue;
      for (int i = 0; i < load->n_fds; i++)
        {
          ssize_t n;

          if ((pfds[i].revents & POLLIN) == 0)
            continue;
          while ((n = recv (load->fds[i], buf, sizeof buf, MSG_DONTWAIT)) >= 0)
            {
              record (load, buf, n, now_ns ());
              /* Closed loop: one answer, one new query. */
              if (load->in_flight > 0 && !atomic_load (&load->draining))
                send_next (load);
            }
        }
    }
  return NULL;
}

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

  return x < y ? -1 : x > y;
}

static double
pct (const uint32_t *v, size_t n, double p)
{
  size_t i;

  if (n == 0)
    return 0;
  i = (size_t) (p * (double) (n - 1) + 0.5);
  return v[i] / 1000.0;
}

static void
usage (void)
{
  fprintf (stderr, "usage: dns-load -s SERVER [-p PORT] -d FILE (-r RATE | -c IN_FLIGHT) "
                   "[-l SECONDS] [-t TIMEOUT_MS] [-S SOCKETS]\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  static Load load;
  const char *server = NULL, *file = NULL;
  int port = 53, opt, n_sockets = 1;
  struct sockaddr_storage ss = { 0 };
  socklen_t sslen;
  pthread_t rx;
  uint64_t start, end, seq = 0, last_expire;
  size_t n;
  double elapsed, sum = 0;

  load.seconds = 5;
  load.timeout_ns = 2000000000u;
  while ((opt = getopt (argc, argv, "s:p:d:r:c:l:t:S:")) != -1)
    switch (opt)
      {
      case 's': server = optarg; break;
      case 'p': port = atoi (optarg); break;
      case 'd': file = optarg; break;
      case 'r': load.rate = atof (optarg); break;
      case 'c': load.in_flight = atoi (optarg); break;
      case 'l': load.seconds = atof (optarg); break;
      case 't': load.timeout_ns = (uint64_t) atol (optarg) * 1000000u; break;
      case 'S': n_sockets = atoi (optarg); break;
      default: usage ();
      }
  if (server == NULL || file == NULL || (load.rate <= 0) == (load.in_flight <= 0) || n_sockets < 1
      || n_sockets > MAX_SOCKETS || load.in_flight >= IDS / 2)
    usage ();
  if (load_queries (&load, file) < 0)
    {
      fprintf (stderr, "dns-load: no queries in %s\n", file);
      return 1;
    }
  if (inet_pton (AF_INET, server, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
    {
      ((struct sockaddr_in *) &ss)->sin_family = AF_INET;
      ((struct sockaddr_in *) &ss)->sin_port = htons ((uint16_t) port);
      sslen = sizeof (struct sockaddr_in);
    }
  else if (inet_pton (AF_INET6, server, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
    {
      ((struct sockaddr_in6 *) &ss)->sin6_family = AF_INET6;
      ((struct sockaddr_in6 *) &ss)->sin6_port = htons ((uint16_t) port);
      sslen = sizeof (struct sockaddr_in6);
    }
  else
    usage ();
  for (int i = 0; i < n_sockets; i++)
    {
      int size = 4 << 20;

      load.fds[i] = socket (ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (load.fds[i] < 0 || connect (load.fds[i], (struct sockaddr *) &ss, sslen) < 0)
        {
          perror ("dns-load: socket");
          return 1;
        }
      setsockopt (load.fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  load.n_fds = n_sockets;
  load.latencies_cap = (size_t) ((load.rate > 0 ? load.rate : 400000) * load.seconds * 1.2) + 1024;
  load.latencies = calloc (load.latencies_cap, sizeof *load.latencies);
  /* Timers as exact as the kernel gives them: the schedule is the measure. */
  prctl (PR_SET_TIMERSLACK, 1UL);

  pthread_create (&rx, NULL, receiver, &load);
  start = now_ns ();
  end = start + (uint64_t) (load.seconds * 1e9);
  last_expire = start;
  if (load.in_flight > 0)
    {
      for (int i = 0; i < load.in_flight; i++)
        send_next (&load);
      while (now_ns () < end)
        {
          struct timespec ts = { 0, 10000000 };
          uint64_t t;

          nanosleep (&ts, NULL);
          t = now_ns ();
          if (t - last_expire > load.timeout_ns / 4)
            {
              /* Lost queries leave the loop: put them back in flight. */
              expire (&load, t);
              last_expire = t;
              for (int i = atomic_load (&load.outstanding); i < load.in_flight; i++)
                send_next (&load);
            }
        }
    }
  else
    {
      double interval = 1e9 / load.rate;

      for (;;)
        {
          uint64_t due = start + (uint64_t) ((double) seq * interval);
          struct timespec ts = { (time_t) (due / 1000000000u), (long) (due % 1000000000u) };

          if (due >= end)
            break;
          clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
          send_one (&load, seq++);
          if (due - last_expire > load.timeout_ns / 4)
            {
              expire (&load, due);
              last_expire = due;
            }
        }
    }
  atomic_store (&load.draining, 1);
  elapsed = (double) (now_ns () - start) / 1e9;
  /* The stragglers: up to the timeout. */
  {
    uint64_t wait_end = now_ns () + load.timeout_ns;

    while (atomic_load (&load.outstanding) > 0 && now_ns () < wait_end)
      usleep (1000);
  }
  atomic_store (&load.stop, 1);
  pthread_join (rx, NULL);

  n = atomic_load (&load.n_latencies);
  if (n > load.latencies_cap)
    n = load.latencies_cap;
  qsort (load.latencies, n, sizeof *load.latencies, cmp_u32);
  for (size_t i = 0; i < n; i++)
    sum += load.latencies[i];
  printf ("sent=%lu answered=%lu lost=%lu late=%lu qps=%.0f noerror=%lu nxdomain=%lu other=%lu "
          "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f avg_us=%.1f\n",
          (unsigned long) load.sent, (unsigned long) load.answered,
          (unsigned long) (load.sent - load.answered), (unsigned long) load.late,
          (double) load.answered / elapsed,
          (unsigned long) load.noerror, (unsigned long) load.nxdomain, (unsigned long) load.other,
          pct (load.latencies, n, 0.50), pct (load.latencies, n, 0.90),
          pct (load.latencies, n, 0.99), pct (load.latencies, n, 0.999),
          n > 0 ? load.latencies[n - 1] / 1000.0 : 0.0, n > 0 ? sum / (double) n / 1000.0 : 0.0);
  return 0;
}
