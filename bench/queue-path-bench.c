/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * queue-path-bench.c — what the daemon's queue path costs without the
 * kernel: the packets a queue read hands over, judged as trellisd judges
 * them, and the domain index lookups on that path.  Not a test: it prints
 * numbers.
 *
 *   queue-path-bench --household FILE --data-dir DIR --queries FILE
 *                    [--packets N] [--batch B]
 *
 * Compiles the household (its domain index into a temporary folder), makes
 * IPv4/UDP query packets for the names of --queries ("NAME TYPE" lines),
 * and then, over N packets (default 2,000,000):
 *   - "judge": reads each packet (IP and UDP headers, the DNS question) and
 *     decides it for the household's first child, as the queue does;
 *   - "index": the index lookups alone, on the names as the DNS reader
 *     writes them, one at a time and in bursts of B (default 64).
 * Prints one "key value" line each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "daemon/dns-packet.h"
#include "daemon/queue.h"
#include "policy/domain-index.h"
#include "policy/trellis-policy.h"

typedef struct {
  guint8 data[320];
  gsize  len;
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
  /* IPv4 header, then UDP: 10.53.0.1:40000 → 10.53.0.2:53. */
  out[0] = 0x45;
  out[2] = (guint8) (len >> 8);
  out[3] = (guint8) len;
  out[8] = 64;
  out[9] = 17;
  out[12] = 10; out[13] = 53; out[15] = 1;
  out[16] = 10; out[17] = 53; out[19] = 2;
  out[20] = 0x9c; out[21] = 0x40;
  out[23] = 53;
  out[24] = (guint8) ((len - 20) >> 8);
  out[25] = (guint8) (len - 20);
  return len;
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
  gint n_packets = 2000000, batch = 64;
  GOptionEntry entries[] = {
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household, "The household file", "FILE" },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "The shipped data", "DIR" },
    { "queries", 0, 0, G_OPTION_ARG_FILENAME, &queries, "NAME TYPE lines", "FILE" },
    { "packets", 0, 0, G_OPTION_ARG_INT, &n_packets, "Packets to judge (2000000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Packets read together (64)", "B" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("— the queue path without the kernel");
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = NULL;
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GArray) packets = NULL;
  g_autofree char *dir = NULL, *index_path = NULL;
  g_autoptr(GDateTime) now = NULL;
  const TrellisChild *const *children;
  guint n_children, blocked = 0;
  gint64 t0, t1;
  char **names;
  guint n_names;
  gsize hits = 0;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || household == NULL ||
      data_dir == NULL || queries == NULL || n_packets < 1 || batch < 1 || batch > 4096)
    {
      g_printerr ("queue-path-bench: %s\n", error != NULL ? error->message
                  : "--household, --data-dir and --queries are needed");
      return 2;
    }
  dir = g_dir_make_tmp ("trellis-queue-path-XXXXXX", &error);
  if (dir == NULL)
    {
      g_printerr ("queue-path-bench: %s\n", error->message);
      return 1;
    }
  index_path = g_build_filename (dir, "domains.idx", NULL);
  t0 = g_get_monotonic_time ();
  policy = trellis_policy_load_file_full (household, data_dir, index_path, &error);
  t1 = g_get_monotonic_time ();
  if (policy == NULL)
    {
      g_printerr ("queue-path-bench: %s\n", error->message);
      return 1;
    }
  printf ("load %.3f s\n", (double) (t1 - t0) / 1e6);
  children = trellis_policy_get_children (policy, &n_children);
  if (n_children == 0)
    {
      g_printerr ("queue-path-bench: the household has no child\n");
      return 1;
    }
  packets = packets_load (queries, &error);
  if (packets == NULL || packets->len == 0)
    {
      g_printerr ("queue-path-bench: no queries in %s\n", queries);
      return 1;
    }

  /* The daemon's path: headers, question, decision, packet by packet. */
  now = g_date_time_new_now_utc ();
  t0 = g_get_monotonic_time ();
  for (gint i = 0; i < n_packets; i++)
    {
      const Packet *p = &g_array_index (packets, Packet, (guint) i % packets->len);
      TrellisQueuePacket qp;
      TrellisDnsQuery query;
      TrellisDecision decision;
      g_autoptr(GDateTime) at = g_date_time_new_now_utc ();

      if (trellis_queue_packet_parse (p->data, p->len, &qp) < 0 ||
          trellis_dns_query_parse (qp.payload, qp.payload_len, &query) < 0)
        continue;
      trellis_policy_decide_at (policy, children[0], query.qname, at, &decision);
      blocked += decision.verdict == TRELLIS_VERDICT_BLOCK;
    }
  t1 = g_get_monotonic_time ();
  printf ("judge %.2f M/s (%u of %d blocked, one at a time)\n",
          n_packets / ((double) (t1 - t0)), blocked, n_packets);

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
      const Packet *p = &g_array_index (packets, Packet, i);
      TrellisQueuePacket qp;
      TrellisDnsQuery query;

      if (trellis_queue_packet_parse (p->data, p->len, &qp) == 0 &&
          trellis_dns_query_parse (qp.payload, qp.payload_len, &query) == 0)
        names[i] = g_strdup (query.qname);
      else
        names[i] = g_strdup ("");
    }
  t0 = g_get_monotonic_time ();
  for (gint i = 0; i < n_packets; i++)
    hits += trellis_domain_index_lookup (index, names[(guint) i % n_names], NULL, NULL, NULL);
  t1 = g_get_monotonic_time ();
  printf ("index-one %.2f M/s (%" G_GSIZE_FORMAT " hits)\n", n_packets / ((double) (t1 - t0)), hits);
  {
    g_autofree TrellisDomainIndexMatch *matches = g_new (TrellisDomainIndexMatch, batch);
    g_autofree const char **burst = g_new (const char *, batch);

    hits = 0;
    t0 = g_get_monotonic_time ();
    for (gint i = 0; i < n_packets; i += batch)
      {
        gint n = MIN (batch, n_packets - i);

        for (gint j = 0; j < n; j++)
          burst[j] = names[(guint) (i + j) % n_names];
        hits += trellis_domain_index_lookup_many (index, burst, (gsize) n, matches);
      }
    t1 = g_get_monotonic_time ();
    printf ("index-burst %.2f M/s (bursts of %d, %" G_GSIZE_FORMAT " hits)\n",
            n_packets / ((double) (t1 - t0)), batch, hits);
  }
  for (guint i = 0; i < n_names; i++)
    g_free (names[i]);
  g_free (names);
  g_unlink (index_path);
  {
    g_autofree char *last_good = g_strconcat (index_path, ".last-good", NULL);

    g_unlink (last_good);
  }
  g_rmdir (dir);
  return 0;
}
