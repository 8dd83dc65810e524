/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * domain-index-bench.c — compile, open and lookup speed of the domain index,
 * and its size on disk and in memory.  Not a test: it prints numbers.
 *
 *   domain-index-bench [--names N] [--list FILE] [--lookups M] [--index PATH]
 *                      [--write-list FILE]
 *
 * Without --list it makes N (default 1,000,000) synthetic names: one to
 * three random labels of 3–15 characters under common TLDs.  --write-list
 * saves them (one a line) for bench/domain-index-vs-peers.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "policy/domain-index.h"

static const char *const tlds[] = {
  "com", "com", "com", "com", "net", "org", "de", "uk", "co.uk", "ru", "io",
  "info", "xyz", "fr", "nl", "com.br", "jp", "top", "online", "site"
};

static void
random_label (GRand *rand,
              GString *out)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  gint32 len = g_rand_int_range (rand, 3, 16);
  gint32 i;

  for (i = 0; i < len; i++)
    {
      /* Mostly letters, some digits, an inner hyphen now and then. */
      if (i > 0 && i < len - 1 && g_rand_int_range (rand, 0, 20) == 0)
        g_string_append_c (out, '-');
      else
        g_string_append_c (out, alphabet[g_rand_int_range (rand, 0, g_rand_int_range (rand, 0, 8) == 0 ? 36 : 26)]);
    }
}

static char *
random_name (GRand *rand)
{
  GString *name = g_string_new (NULL);
  gint32 labels = g_rand_int_range (rand, 0, 10) < 7 ? 1 : g_rand_int_range (rand, 2, 4);
  gint32 i;

  for (i = 0; i < labels; i++)
    {
      random_label (rand, name);
      g_string_append_c (name, '.');
    }
  g_string_append (name, tlds[g_rand_int_range (rand, 0, G_N_ELEMENTS (tlds))]);
  return g_string_free (name, FALSE);
}

static gint64
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmRSS:");
  if (line == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen ("VmRSS:"), NULL, 10);
}

int
main (int argc,
      char *argv[])
{
  gint n_names = 1000000;
  gint64 n_lookups = 10000000;
  g_autofree char *list = NULL;
  g_autofree char *index_path = NULL;
  g_autofree char *write_list = NULL;
  g_autofree char *tmpdir = NULL;
  GOptionEntry entries[] = {
    { "names", 0, 0, G_OPTION_ARG_INT, &n_names, "Synthetic names to make", "N" },
    { "list", 0, 0, G_OPTION_ARG_FILENAME, &list, "Read names from FILE, one a line", "FILE" },
    { "lookups", 0, 0, G_OPTION_ARG_INT64, &n_lookups, "Lookups to time", "M" },
    { "index", 0, 0, G_OPTION_ARG_FILENAME, &index_path, "Where to write the index", "PATH" },
    { "write-list", 0, 0, G_OPTION_ARG_FILENAME, &write_list, "Save the names to FILE", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— domain index benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);
  g_autoptr(TrellisDomainIndexBuilder) builder = NULL;
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GStringChunk) query_chunk = NULL;
  g_autoptr(GPtrArray) queries = NULL;
  GStatBuf st;
  gint64 t0, t1, t2, t3, t_read, rss_before, rss_after;
  gint64 i, hits = 0, expected_hits = 0;
  guint64 sink = 0;
  guint n_queries;
  double lookup_s, batch_s;
  gint64 batch_hits;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  t0 = g_get_monotonic_time ();
  if (list != NULL)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (list, &contents, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      lines = g_strsplit (contents, "\n", -1);
      for (i = 0; lines[i] != NULL; i++)
        {
          char *name = g_strstrip (lines[i]);
          gsize len = strlen (name);

          if (len > 0 && name[len - 1] == '.')
            name[len - 1] = '\0';
          if (name[0] != '\0' && name[0] != '#')
            g_ptr_array_add (names, g_ascii_strdown (name, -1));
        }
    }
  else
    for (i = 0; i < n_names; i++)
      g_ptr_array_add (names, random_name (rand));
  t_read = g_get_monotonic_time () - t0;

  if (write_list != NULL)
    {
      g_autoptr(GString) out = g_string_sized_new (names->len * 16);

      for (i = 0; i < names->len; i++)
        g_string_append_printf (out, "%s\n", (const char *) names->pdata[i]);
      if (!g_file_set_contents (write_list, out->str, (gssize) out->len, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  if (index_path == NULL)
    {
      tmpdir = g_dir_make_tmp ("domain-index-bench-XXXXXX", &error);
      if (tmpdir == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      index_path = g_build_filename (tmpdir, "index", NULL);
    }

  /* Compile: build and write. */
  t0 = g_get_monotonic_time ();
  builder = trellis_domain_index_builder_new ();
  for (i = 0; i < names->len; i++)
    if (!trellis_domain_index_builder_add (builder, names->pdata[i], 1u << (i % 8),
                                           (guint32) (i % 64) + 1, &error))
      {
        g_printerr ("%s\n", error->message);
        return 1;
      }
  t1 = g_get_monotonic_time ();
  if (!trellis_domain_index_builder_write (builder, index_path, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  t2 = g_get_monotonic_time ();
  g_clear_pointer (&builder, trellis_domain_index_builder_free);

  /* Queries: exact hits (some upper case or with a trailing dot), hits on
   * subdomains, near misses and plain misses, in a random order. */
  query_chunk = g_string_chunk_new (1 << 20);
  queries = g_ptr_array_new ();
  n_queries = MIN (1000000u, MAX (names->len, 1000u) * 4);
  for (i = 0; i < n_queries; i++)
    {
      const char *base = names->len > 0 ? names->pdata[g_rand_int_range (rand, 0, (gint32) names->len)] : "x.com";
      g_autofree char *q = NULL;
      gint32 kind = g_rand_int_range (rand, 0, 10);

      if (kind < 2)
        q = g_strdup (base);
      else if (kind < 3)
        q = g_strdup_printf ("%s.", base);
      else if (kind < 4)
        q = g_ascii_strup (base, -1);
      else if (kind < 6)
        q = g_strdup_printf ("www.%s", base);
      else if (kind < 7)
        q = g_strdup_printf ("cdn-%u.static.%s", g_rand_int_range (rand, 0, 100), base);
      else if (kind < 8)
        q = g_strdup_printf ("x%s", base); /* a near miss */
      else
        q = random_name (rand); /* almost always a miss */
      g_ptr_array_add (queries, g_string_chunk_insert (query_chunk, q));
    }

  /* Open, then touch every page by looking every query up once. */
  rss_before = rss_kib ();
  t3 = g_get_monotonic_time ();
  index = trellis_domain_index_open (index_path, &error);
  if (index == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  t3 = g_get_monotonic_time () - t3;
  for (i = 0; i < queries->len; i++)
    expected_hits += trellis_domain_index_lookup (index, queries->pdata[i], NULL, NULL, NULL);
  rss_after = rss_kib ();

  {
    gint64 start = g_get_monotonic_time ();
    guint q = 0;

    for (i = 0; i < n_lookups; i++)
      {
        guint32 bits = 0, rule = 0;

        if (trellis_domain_index_lookup (index, queries->pdata[q], &bits, &rule, NULL))
          {
            hits++;
            sink += bits ^ rule;
          }
        if (++q == queries->len)
          q = 0;
      }
    lookup_s = (g_get_monotonic_time () - start) / 1e6;
  }

  /* The same queries in bursts of 64, as packets arrive from a queue. */
  {
    TrellisDomainIndexMatch matches[64];
    gint64 start = g_get_monotonic_time ();
    gint64 done = 0;
    guint q = 0;

    batch_hits = 0;
    while (done < n_lookups)
      {
        guint burst = (guint) MIN (64, MIN (n_lookups - done, (gint64) (queries->len - q)));

        batch_hits += trellis_domain_index_lookup_many (index, (const char *const *) queries->pdata + q,
                                                        burst, matches);
        sink += matches[0].rule_id;
        done += burst;
        q += burst;
        if (q == queries->len)
          q = 0;
      }
    batch_s = (g_get_monotonic_time () - start) / 1e6;
  }

  if (g_stat (index_path, &st) != 0)
    st.st_size = 0;

  g_print ("names given          %u\n", names->len);
  g_print ("distinct entries     %u\n", trellis_domain_index_get_n_entries (index));
  g_print ("%s %.3f s\n", list != NULL ? "read list            " : "generate names       ", t_read / 1e6);
  g_print ("compile              %.3f s (add %.3f s, build+write %.3f s)\n",
           (t2 - t0) / 1e6, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
  g_print ("open (map+validate)  %.3f ms\n", t3 / 1e3);
  g_print ("lookups              %" G_GINT64_FORMAT " in %.3f s: %.2f M/s (%.1f%% hits)\n",
           n_lookups, lookup_s, n_lookups / lookup_s / 1e6, 100.0 * hits / MAX (n_lookups, 1));
  g_print ("lookups, bursts of 64 %" G_GINT64_FORMAT " in %.3f s: %.2f M/s (%.1f%% hits)\n",
           n_lookups, batch_s, n_lookups / batch_s / 1e6, 100.0 * batch_hits / MAX (n_lookups, 1));
  g_print ("file size            %" G_GINT64_FORMAT " bytes, %.2f bytes/name\n",
           (gint64) st.st_size, (double) st.st_size / MAX (names->len, 1));
  g_print ("RSS growth open+touch %" G_GINT64_FORMAT " KiB, %.2f bytes/name\n",
           rss_after - rss_before, (rss_after - rss_before) * 1024.0 / MAX (names->len, 1));
  g_print ("(check %" G_GUINT64_FORMAT ", first pass hits %" G_GINT64_FORMAT ")\n", sink, expected_hits);

  if (tmpdir != NULL)
    {
      g_unlink (index_path);
      g_rmdir (tmpdir);
    }
  return 0;
}
