/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz-list-parse.c — libFuzzer target for the list reader: a published
 * list is input nobody here controls.  The first byte picks the format,
 * the second how the bytes are cut; every name that comes out must be a
 * normalized domain name that normalizes to itself, and the counts must
 * add up.  abort() on any inconsistency.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lists/list-parse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  guint64 n;
} Seen;

static void
check_name (const char *name,
            gsize len,
            gpointer user_data)
{
  Seen *seen = user_data;
  char again[254];
  TrellisListRefused reason;
  gsize label = 0;

  seen->n++;
  if (len == 0 || len > 253 || strlen (name) != len || name[0] == '.' || name[len - 1] == '.')
    abort ();
  for (gsize i = 0; i < len; i++)
    {
      char c = name[i];

      if (c == '.')
        {
          if (label == 0)
            abort ();
          label = 0;
          continue;
        }
      if (!(g_ascii_islower (c) || g_ascii_isdigit (c) || c == '-' || c == '_') || ++label > 63)
        abort ();
    }
  if (strchr (name, '.') == NULL)
    abort (); /* a single label is never taken */
  if (!trellis_list_name_normalize (name, len, again, &reason) || strcmp (again, name) != 0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const TrellisListFormat formats[] = {
    TRELLIS_LIST_FORMAT_PLAIN,
    TRELLIS_LIST_FORMAT_HOSTS,
    TRELLIS_LIST_FORMAT_ADBLOCK,
    TRELLIS_LIST_FORMAT_UT1,
  };
  TrellisListParser *parser;
  TrellisListCounts counts;
  Seen seen = { 0 };
  gsize chunk, refused = 0;

  if (size < 2)
    return 0;
  parser = trellis_list_parser_new (formats[data[0] % G_N_ELEMENTS (formats)], check_name, &seen);
  chunk = 1 + data[1];
  data += 2;
  size -= 2;
  for (gsize at = 0; at < size; at += chunk)
    trellis_list_parser_feed (parser, (const char *) data + at, MIN (chunk, size - at));
  trellis_list_parser_finish (parser, &counts);
  trellis_list_parser_free (parser);

  for (guint r = 0; r < TRELLIS_LIST_REFUSED_N; r++)
    refused += counts.refused[r];
  if (counts.names != seen.n || counts.comments > counts.lines
      || trellis_list_counts_junk (&counts) > refused)
    abort ();
  return 0;
}
