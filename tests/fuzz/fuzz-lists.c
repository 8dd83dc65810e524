/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz-lists.c — libFuzzer target: the readers of a category's lists (its
 * domains and its addresses), on the same bytes.  What a reader refuses is
 * reported, in valid UTF-8, one problem per line it could not take; what it
 * takes is exactly what its lines say: every name the domain list accepted
 * is found in the index built from it, with the category's bit, and every
 * address it accepted reads back as one.  abort() on any inconsistency.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "policy/policy-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define BIT 3

static void
check (gboolean ok)
{
  if (!ok)
    abort ();
}

/* The errors in @list, checked, without the array's NULL at the end. */
static GPtrArray *
checked_errors (TrellisProblems *list)
{
  GPtrArray *problems = trellis_problems_get_errors (list);

  g_ptr_array_set_size (problems, problems->len - 1);
  for (guint i = 0; i < problems->len; i++)
    {
      const char *p = g_ptr_array_index (problems, i);

      check (g_utf8_validate (p, -1, NULL));
      check (g_str_has_prefix (p, "list:"));
      for (const char *c = p; *c != '\0'; c++)
        check ((guchar) *c >= 0x20 && *c != 0x7f);
    }
  return problems;
}

/* A NUL-terminated copy of the input, as g_file_get_contents() gives it. */
static char *
text_copy (const uint8_t *data, size_t size)
{
  char *text = g_malloc (size + 1);

  memcpy (text, data, size);
  text[size] = '\0';
  return text;
}

static void
fuzz_domains (const uint8_t *data, size_t size)
{
  g_autofree char *text = text_copy (data, size);
  g_autofree char *oracle = text_copy (data, size);
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisProblems) list = trellis_problems_new ();
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) distinct = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(TrellisDomainIndex) index = NULL;
  guint n, lines = 0, refused = 0, line_no = 0;

  n = trellis_domain_list_read (text, size, "list", BIT, builder, list);
  problems = checked_errors (list);

  if (memchr (data, '\0', size) != NULL)
    {
      check (n == 0 && problems->len == 1);
      return;
    }

  /* The oracle: the same lines, read with the same primitives. */
  for (char *cursor = oracle, *line; (line = trellis_data_line_next (&cursor, &line_no)) != NULL;)
    {
      g_autofree char *domain = NULL;
      g_autofree char *again = NULL;

      lines++;
      check (*line != '\0' && strchr (line, '#') == NULL && strchr (line, '\n') == NULL);
      check (!g_ascii_isspace (line[0]) && !g_ascii_isspace (line[strlen (line) - 1]));
      if (trellis_domain_check (line, &domain) != TRELLIS_DOMAIN_OK)
        {
          refused++;
          continue;
        }
      /* Normalizing a normalized name changes nothing. */
      again = trellis_domain_normalize (domain);
      check (again != NULL && strcmp (again, domain) == 0);
      g_hash_table_add (distinct, domain);
      g_ptr_array_add (names, g_steal_pointer (&domain));
    }
  check (line_no == 0 || line_no >= lines);
  /* Every name the check accepts, the builder takes. */
  check (n == names->len);
  check (problems->len == refused);

  bytes = trellis_domain_index_builder_to_bytes (builder, NULL);
  check (bytes != NULL);
  index = trellis_domain_index_new_from_bytes (bytes, NULL);
  check (index != NULL);
  check (trellis_domain_index_get_n_entries (index) == g_hash_table_size (distinct));
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      const char *suffix = NULL;
      guint32 bits = 0;

      check (trellis_domain_index_lookup (index, name, &bits, NULL, &suffix));
      check (bits == (1u << BIT) && suffix == name);
    }
}

static void
fuzz_cidrs (const uint8_t *data, size_t size)
{
  g_autofree char *text = text_copy (data, size);
  g_autoptr(TrellisProblems) list = trellis_problems_new ();
  g_autoptr(GPtrArray) problems = NULL;
  g_auto(GStrv) cidrs = NULL;
  guint n = 0, lines = 0, line_no = 0;
  g_autofree char *oracle = text_copy (data, size);

  cidrs = trellis_cidr_list_read (text, size, "list", list);
  check (cidrs != NULL);
  problems = checked_errors (list);
  for (; cidrs[n] != NULL; n++)
    {
      g_autoptr(GInetAddressMask) mask = g_inet_address_mask_new_from_string (cidrs[n], NULL);

      check (mask != NULL);
    }
  if (memchr (data, '\0', size) != NULL)
    {
      check (n == 0 && problems->len == 1);
      return;
    }
  for (char *cursor = oracle; trellis_data_line_next (&cursor, &line_no) != NULL;)
    lines++;
  check (n + problems->len == lines);
}

/* A warning of GLib's is a bug of ours (input reached GLib unchecked):
 * abort(), which libFuzzer catches and keeps the input of; a fatal GLib
 * log would end in SIGTRAP, which it does not. */
static void
log_abort (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  g_printerr ("%s: %s\n", domain != NULL ? domain : "", message);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
}

static GLogWriterOutput
log_write_abort (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  g_log_writer_standard_streams (level, fields, n_fields, user_data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static void
fatal_warnings (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_default_handler (log_abort, NULL);
  g_log_set_writer_func (log_write_abort, NULL, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fatal_warnings ();
  fuzz_domains (data, size);
  fuzz_cidrs (data, size);
  return 0;
}
