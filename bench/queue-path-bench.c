/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * queue-path-bench.c — what the daemon's queue path costs without the
 * kernel: the packets a queue read hands over, judged as trellisd's queue
 * threads judge them, and the domain index lookups on that path.  Not a
 * test: it prints numbers.
 *
 *   queue-path-bench --household FILE --data-dir DIR --queries FILE --uid UID
 *                    [--packets N] [--batch B]
 *
 * Loads the household as trellisd does (its domain index in a temporary
 * state folder), makes IPv4/UDP query packets from 127.0.0.1 to
 * 127.0.0.53:53 for the names of --queries ("NAME TYPE" lines), owned by
 * UID (a child's account), and then, over N packets (default 2,000,000):
 *   - "judge": the queue threads' judging (trellis_daemon_judge_run()) in
 *     reads of B packets (default 64): headers, DNS question, the decisions
 *     of the read together, and the answers to blocked names, sent on a raw
 *     socket to the loopback as the queue would (run it as root in a
 *     network namespace of its own: bench/run does);
 *   - "index-daemon": the index lookups alone as that path makes them (the
 *     names as the DNS reader writes them, B at a time); "index-one": the
 *     same names one at a time.
 * Each is timed in 5 rounds of N/5 and the best round is printed (the
 * machine's other work only ever slows a round down), with the median.
 * Prints one "key value" line each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "daemon/dns-packet.h"
#include "daemon/queue.h"
#include "daemon/trellisd.h"
#include "policy/domain-index.h"
#include "policy/trellis-policy.h"

typedef struct {
  guint8 data[320];
  gsize len;
} Packet;

static gsize
packet_make (const char *name, guint16 qtype, guint16 id, guint8 *out)
{
  gsize n = 28, len;
  const char *p = name;

  memset (out, 0, 40);
  /* DNS header: id, RD, one question. */
  out[28] = (guint8) (id >> 8);
  out[29] = (guint8) id;
  out[30] = 0x01;
  out[33] = 1;
  n = 40;
  while (*p != '\0')
    {
      const char *dot = strchr (p, '.');
      gsize l = dot != NULL ? (gsize) (dot - p) : strlen (p);

      out[n++] = (guint8) l;
      memcpy (out + n, p, l);
      n += l;
      p += l + (dot != NULL);
    }
  out[n++] = 0;
  out[n++] = (guint8) (qtype >> 8);
  out[n++] = (guint8) qtype;
  out[n++] = 0;
  out[n++] = 1;
  len = n;
  /* IPv4 header, then UDP: 127.0.0.1:40000 → 127.0.0.53:53. */
  out[0] = 0x45;
  out[2] = (guint8) (len >> 8);
  out[3] = (guint8) len;
  out[8] = 64;
  out[9] = 17;
  out[12] = 127;
  out[15] = 1;
  out[16] = 127;
  out[19] = 53;
  out[20] = 0x9c;
  out[21] = 0x40;
  out[23] = 53;
  out[24] = (guint8) ((len - 20) >> 8);
  out[25] = (guint8) (len - 20);
  return len;
}

#define ROUNDS 5

static int
double_compare (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
best (const double *rates)
{
  double m = rates[0];

  for (guint i = 1; i < ROUNDS; i++)
    m = MAX (m, rates[i]);
  return m;
}

static double
median (const double *rates)
{
  double sorted[ROUNDS];

  memcpy (sorted, rates, sizeof sorted);
  qsort (sorted, ROUNDS, sizeof sorted[0], double_compare);
  return sorted[ROUNDS / 2];
}

static GArray *
packets_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *packets = g_array_new (FALSE, FALSE, sizeof (Packet));

  if (!g_file_get_contents (path, &text, NULL, error))
    {
      g_array_unref (packets);
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
      Packet p;

      if (f[0] == NULL || f[0][0] == '\0' || f[0][0] == '#' || strlen (f[0]) > 253)
        continue;
      p.len = packet_make (f[0], f[1] != NULL && strcmp (f[1], "AAAA") == 0 ? 28 : 1,
                           (guint16) i, p.data);
      g_array_append_val (packets, p);
    }
  return packets;
}

int
main (int argc, char **argv)
{
  g_autofree char *household = NULL, *data_dir = NULL, *queries = NULL;
  gint n_packets = 2000000, batch = 64, uid = -1;
  GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household, "The household file", "FILE" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "The shipped data", "DIR" },
    { "queries", 0, 0, G_OPTION_ARG_FILENAME, &queries, "NAME TYPE lines", "FILE" },
    { "uid", 0, 0, G_OPTION_ARG_INT, &uid, "The packets' owner, a child's account", "UID" },
    { "packets", 0, 0, G_OPTION_ARG_INT, &n_packets, "Packets to judge (2000000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Packets read together (64)", "B" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("— the queue path without the kernel");
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisDaemon) daemon = NULL;
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GArray) packets = NULL;
  g_autofree char *dir = NULL, *index_path = NULL;
  g_autofree TrellisQueuePacket *parsed = NULL;
  g_autofree const TrellisQueuePacket **burst = NULL;
  g_autofree TrellisQueueVerdict *verdicts = NULL;
  TrellisDaemonConfig config = { 0 };
  TrellisDaemonJudge *judge;
  guint blocked = 0, dropped = 0;
  double rates[ROUNDS];
  gint per_round;
  gint64 t0, t1;
  char **names;
  guint n_names;
  gsize hits = 0;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || household == NULL
      || data_dir == NULL || queries == NULL || uid < 0 || n_packets < 1 || batch < 1
      || batch > TRELLIS_QUEUE_BATCH)
    {
      g_printerr ("queue-path-bench: %s\n", error != NULL ? error->message
                                                          : "--household, --data-dir, --queries and --uid are needed; --batch 1 to 64");
      return 2;
    }
  per_round = MAX (n_packets / ROUNDS, 1);
  dir = g_dir_make_tmp ("trellis-queue-path-XXXXXX", &error);
  if (dir == NULL)
    {
      g_printerr ("queue-path-bench: %s\n", error->message);
      return 1;
    }
  index_path = g_build_filename (dir, "domains.idx", NULL);
  config.household_path = household;
  config.state_dir = dir;
  config.data_dir = data_dir;
  config.queue_num = 1;
  config.answer_port = 5399;
  t0 = g_get_monotonic_time ();
  daemon = trellis_daemon_new (&config, &error);
  t1 = g_get_monotonic_time ();
  if (daemon == NULL)
    {
      g_printerr ("queue-path-bench: %s\n", error->message);
      return 1;
    }
  printf ("load %.3f s\n", (double) (t1 - t0) / 1e6);
  packets = packets_load (queries, &error);
  if (packets == NULL || packets->len == 0)
    {
      g_printerr ("queue-path-bench: no queries in %s\n", queries);
      return 1;
    }

  /* The packets as a queue read hands them over: headers read, owner set. */
  parsed = g_new0 (TrellisQueuePacket, packets->len);
  for (guint i = 0; i < packets->len; i++)
    {
      const Packet *p = &g_array_index (packets, Packet, i);

      if (trellis_queue_packet_parse (p->data, p->len, &parsed[i]) < 0)
        {
          g_printerr ("queue-path-bench: a packet of ours does not parse\n");
          return 1;
        }
      parsed[i].has_uid = TRUE;
      parsed[i].uid = (uid_t) uid;
    }

  /* The daemon's path, a read of @batch at a time. */
  judge = trellis_daemon_judge_new (daemon);
  burst = g_new (const TrellisQueuePacket *, batch);
  verdicts = g_new (TrellisQueueVerdict, batch);
  for (guint round = 0; round < ROUNDS; round++)
    {
      t0 = g_get_monotonic_time ();
      for (gint i = 0; i < per_round; i += batch)
        {
          gint n = MIN (batch, per_round - i);

          for (gint j = 0; j < n; j++)
            burst[j] = &parsed[(guint) (i + j) % packets->len];
          trellis_daemon_judge_run (judge, burst, (guint) n, verdicts);
          for (gint j = 0; j < n; j++)
            dropped += verdicts[j] == TRELLIS_QUEUE_DROP;
        }
      t1 = g_get_monotonic_time ();
      rates[round] = per_round / (double) (t1 - t0);
    }
  trellis_daemon_judge_free (judge);
  printf ("judge %.2f M/s (median %.2f; %u of %d dropped: blocked and answered, reads of %d)\n",
          best (rates), median (rates), dropped, per_round * ROUNDS, batch);
  (void) blocked;

  /* The index alone, on the names as the DNS reader writes them. */
  index = trellis_domain_index_open (index_path, &error);
  if (index == NULL)
    {
      g_printerr ("queue-path-bench: %s\n", error->message);
      return 1;
    }
  n_names = packets->len;
  names = g_new0 (char *, n_names);
  for (guint i = 0; i < n_names; i++)
    {
      TrellisDnsQuery query;

      if (trellis_dns_query_parse (parsed[i].payload, parsed[i].payload_len, &query) == 0)
        names[i] = g_strdup (query.qname);
      else
        names[i] = g_strdup ("");
    }
  {
    g_autofree TrellisDomainIndexMatch *matches = g_new (TrellisDomainIndexMatch, batch);
    g_autofree const char **chunk = g_new (const char *, batch);

    for (guint round = 0; round < ROUNDS; round++)
      {
        t0 = g_get_monotonic_time ();
        for (gint i = 0; i < per_round; i += batch)
          {
            gint n = MIN (batch, per_round - i);

            for (gint j = 0; j < n; j++)
              chunk[j] = names[(guint) (i + j) % n_names];
            hits += trellis_domain_index_lookup_many (index, chunk, (gsize) n, matches);
          }
        t1 = g_get_monotonic_time ();
        rates[round] = per_round / (double) (t1 - t0);
      }
    printf ("index-daemon %.2f M/s (median %.2f; %d at a time, %" G_GSIZE_FORMAT " hits)\n",
            best (rates), median (rates), batch, hits);
  }
  hits = 0;
  for (guint round = 0; round < ROUNDS; round++)
    {
      t0 = g_get_monotonic_time ();
      for (gint i = 0; i < per_round; i++)
        hits += trellis_domain_index_lookup (index, names[(guint) i % n_names], NULL, NULL, NULL);
      t1 = g_get_monotonic_time ();
      rates[round] = per_round / (double) (t1 - t0);
    }
  printf ("index-one %.2f M/s (median %.2f; %" G_GSIZE_FORMAT " hits)\n",
          best (rates), median (rates), hits);

  for (guint i = 0; i < n_names; i++)
    g_free (names[i]);
  g_free (names);
  g_clear_pointer (&index, trellis_domain_index_unref);
  g_clear_pointer (&daemon, trellis_daemon_free);
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *entry;

    while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *path = g_build_filename (dir, entry, NULL);

        g_unlink (path);
      }
  }
  g_rmdir (dir);
  return 0;
}
