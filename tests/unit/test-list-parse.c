/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-list-parse.c — reading published lists: names normalized or
 * refused with their reason, each format's lines, a list cut at every
 * byte reads the same as whole, the names sorted and written; and a
 * download unpacked, with damaged and oversized ones refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "lists/list-archive.h"
#include "lists/list-parse.h"
#include "lists/name-set.h"

static void
test_normalize (void **state)
{
  static const struct {
    const char *raw;
    const char *name; /* NULL: refused */
    TrellisListRefused reason;
  } cases[] = {
    { "example.com", "example.com", 0 },
    { "WWW.Example.COM.", "www.example.com", 0 },
    { "*.example.com", "example.com", 0 },
    { ".example.com", "example.com", 0 },
    { "_dmarc.under_score.example", "_dmarc.under_score.example", 0 },
    { "bücher.example", "xn--bcher-kva.example", 0 },
    { "faß.example", "xn--fa-hia.example", 0 }, /* UTS #46 non-transitional, as browsers */
    { "ＥＸＡＭＰＬＥ.org", "example.org", 0 }, /* full width, mapped */
    { "192.0.2.1", NULL, TRELLIS_LIST_REFUSED_ADDRESS },
    { "2001:db8::1", NULL, TRELLIS_LIST_REFUSED_ADDRESS },
    { "10.0.0", NULL, TRELLIS_LIST_REFUSED_ADDRESS },
    { "example.123", NULL, TRELLIS_LIST_REFUSED_ADDRESS },
    { "localhost", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "intranet", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "printer.local", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "1.0.0.127.in-addr.arpa", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "broadcasthost", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "com", NULL, TRELLIS_LIST_REFUSED_LOCAL },
    { "co.uk", NULL, TRELLIS_LIST_REFUSED_SUFFIX },
    { "github.io", NULL, TRELLIS_LIST_REFUSED_SUFFIX },
    { "blogspot.com", NULL, TRELLIS_LIST_REFUSED_SUFFIX },
    { "example..com", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { "exa mple.com", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { "exam/ple.com", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { "", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { ".", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { "*.", NULL, TRELLIS_LIST_REFUSED_INVALID },
    { "\xff\xfe.example", NULL, TRELLIS_LIST_REFUSED_BINARY },
    { "☃.example", NULL, TRELLIS_LIST_REFUSED_INVALID }, /* not allowed in IDNA2008 */
  };
  g_autofree char *long_label = g_strnfill (64, 'a');
  g_autofree char *long_label_name = g_strconcat (long_label, ".example", NULL);
  g_autoptr(GString) long_name = g_string_new (NULL);
  char out[254];
  TrellisListRefused reason;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean ok = trellis_list_name_normalize (cases[i].raw, strlen (cases[i].raw), out, &reason);

      if (cases[i].name != NULL)
        {
          if (!ok)
            fail_msg ("“%s” refused (%s)", cases[i].raw, trellis_list_refused_to_string (reason));
          assert_string_equal (out, cases[i].name);
        }
      else
        {
          if (ok)
            fail_msg ("“%s” taken as “%s”", cases[i].raw, out);
          if (reason != cases[i].reason)
            fail_msg ("“%s”: %s, expected %s", cases[i].raw, trellis_list_refused_to_string (reason),
                      trellis_list_refused_to_string (cases[i].reason));
        }
    }
  assert_false (trellis_list_name_normalize (long_label_name, strlen (long_label_name), out, &reason));
  assert_int_equal (reason, TRELLIS_LIST_REFUSED_INVALID);
  while (long_name->len < 250)
    g_string_append (long_name, "abcdefghi.");
  g_string_append (long_name, "example");
  assert_false (trellis_list_name_normalize (long_name->str, long_name->len, out, &reason));
  assert_int_equal (reason, TRELLIS_LIST_REFUSED_INVALID);
}

typedef struct {
  GPtrArray *names;
} Collect;

static void
collect (const char *name,
         gsize len,
         gpointer user_data)
{
  Collect *c = user_data;

  assert_int_equal (strlen (name), len);
  g_ptr_array_add (c->names, g_strdup (name));
}

/* @text read as @format, fed @chunk bytes at a time (0: at once). */
static GPtrArray *
parse (TrellisListFormat format,
       const char *text,
       gsize len,
       gsize chunk,
       TrellisListCounts *ret_counts)
{
  Collect c = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(TrellisListParser) parser = trellis_list_parser_new (format, collect, &c);

  if (chunk == 0)
    trellis_list_parser_feed (parser, text, len);
  else
    for (gsize at = 0; at < len; at += chunk)
      trellis_list_parser_feed (parser, text + at, MIN (chunk, len - at));
  trellis_list_parser_finish (parser, ret_counts);
  g_ptr_array_add (c.names, NULL);
  return c.names;
}

static void
assert_names (GPtrArray *got,
              const char *const *want)
{
  g_autofree char *joined_got = g_strjoinv (" ", (char **) got->pdata);
  g_autofree char *joined_want = g_strjoinv (" ", (char **) want);

  assert_string_equal (joined_got, joined_want);
}

static void
test_formats (void **state)
{
  static const char hosts[] =
    "# comment\r\n0.0.0.0 a.example b.example\n127.0.0.1\tc.example # trailing\n"
    "::1 localhost ip6-loopback\nd.example\n0.0.0.0\n  \n";
  static const char *const hosts_names[] = { "a.example", "b.example", "c.example", NULL };
  static const char adblock[] =
    "[Adblock Plus 2.0]\n! c\n# c\n||a.example^\n||b.example^$third-party,important\n"
    "||c.example^$domain=x.com\n||d.example^*\n||e.example/x\n@@||f.example^\n"
    "example.com##.ad\n##.ad\ng.example\n|https://h.example^\n||i.example^|\n";
  static const char *const adblock_names[] = { "a.example", "b.example", "g.example", "i.example", NULL };
  static const char plain[] = "\xef\xbb\xbf"
                              "a.example\nB.example.\n# x\nc.example # y\nd e\n\n";
  static const char *const plain_names[] = { "a.example", "b.example", "c.example", NULL };
  TrellisListCounts counts;
  g_autoptr(GPtrArray) h = parse (TRELLIS_LIST_FORMAT_HOSTS, hosts, strlen (hosts), 0, &counts);
  g_autoptr(GPtrArray) a = NULL;
  g_autoptr(GPtrArray) p = NULL;

  assert_names (h, hosts_names);
  assert_int_equal (counts.lines, 7);
  assert_int_equal (counts.comments, 2);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_LOCAL], 2);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_INVALID], 2); /* a name alone, an address alone */
  assert_false (counts.html);

  a = parse (TRELLIS_LIST_FORMAT_ADBLOCK, adblock, strlen (adblock), 0, &counts);
  assert_names (a, adblock_names);
  assert_int_equal (counts.comments, 3);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_NOT_HOST], 7);

  p = parse (TRELLIS_LIST_FORMAT_PLAIN, plain, strlen (plain), 0, &counts);
  assert_names (p, plain_names);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_INVALID], 1);
  assert_int_equal (counts.lines, 6);
  assert_int_equal (trellis_list_counts_junk (&counts), 1);
}

static void
test_hostile_lines (void **state)
{
  g_autoptr(GString) text = g_string_new ("a.example\n");
  g_autoptr(GPtrArray) names = NULL;
  static const char *const want[] = { "a.example", "b.example", "c.example", NULL };
  TrellisListCounts counts;

  g_string_append_len (text, "nul\0.example\n", 13);
  g_string_append (text, "ctrl\033[31m.example\n");
  g_string_append (text, "\xc3\x28.example\n"); /* not UTF-8 */
  for (guint i = 0; i < 3 * TRELLIS_LIST_LINE_MAX; i++)
    g_string_append_c (text, 'x');
  g_string_append (text, ".example\nb.example\n");
  g_string_append (text, "c.example"); /* no newline at the end */

  names = parse (TRELLIS_LIST_FORMAT_PLAIN, text->str, text->len, 0, &counts);
  assert_names (names, want);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_BINARY], 3);
  assert_int_equal (counts.refused[TRELLIS_LIST_REFUSED_TOO_LONG], 1);
  assert_int_equal (counts.lines, 7);

  /* A web page is said to be one. */
  {
    static const char page[] = "\n   <!DOCTYPE html>\n<html><body>a.example</body></html>\n";
    g_autoptr(GPtrArray) none = parse (TRELLIS_LIST_FORMAT_PLAIN, page, strlen (page), 0, &counts);

    assert_true (counts.html);
    assert_int_equal (counts.names, 0);
  }
}

/* However the bytes are cut, the list reads the same. */
static void
test_chunks_read_the_same (void **state)
{
  /* An IDN, written as UTF-8 (the literal is cut so \xbc ends there). */
  static const char buecher[] = "b\xc3\xbc"
                                "cher.example\n";
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) whole = NULL;
  TrellisListCounts whole_counts;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (guint i = 0; i < 400; i++)
    {
      switch (g_rand_int_range (rand, 0, 6))
        {
        case 0: g_string_append_printf (text, "0.0.0.0 n%u.example n%ub.example\r\n", i, i); break;
        case 1: g_string_append_printf (text, "# comment %u\n", i); break;
        case 2: g_string_append_printf (text, "N%u.Example.\n", i); break;
        case 3: g_string_append (text, buecher); break;
        case 4: g_string_append_len (text, "x\0y\n", 4); break;
        default:
          for (guint j = 0; j < TRELLIS_LIST_LINE_MAX + 5; j++)
            g_string_append_c (text, 'q');
          g_string_append_c (text, '\n');
          break;
        }
    }
  whole = parse (TRELLIS_LIST_FORMAT_HOSTS, text->str, text->len, 0, &whole_counts);
  for (gsize chunk = 1; chunk < 40; chunk += 7)
    {
      TrellisListCounts counts;
      g_autoptr(GPtrArray) cut = parse (TRELLIS_LIST_FORMAT_HOSTS, text->str, text->len, chunk, &counts);

      assert_names (cut, (const char *const *) whole->pdata);
      assert_memory_equal (&counts, &whole_counts, sizeof counts);
    }
}

static void
test_name_set (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("trellis-names-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "list.names", NULL);
  g_autoptr(TrellisNameSet) sorted = trellis_name_set_new ();
  g_autoptr(TrellisNameSet) unsorted = trellis_name_set_new ();
  g_autoptr(TrellisNamesFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  static const char *const in_order[] = { "a.example", "a.example", "b-c.example", "b.example", "bb.example", NULL };
  static const char *const shuffled[] = { "zz.example", "a.example", "m.example", "a.example", "b.example", NULL };
  TrellisNamesCursor cursor;
  const char *name;
  gsize len;
  guint n = 0;

  for (guint i = 0; in_order[i] != NULL; i++)
    trellis_name_set_add (sorted, in_order[i], strlen (in_order[i]));
  assert_int_equal (trellis_name_set_finish (sorted), 4);
  for (guint i = 0; shuffled[i] != NULL; i++)
    trellis_name_set_add (unsorted, shuffled[i], strlen (shuffled[i]));
  assert_int_equal (trellis_name_set_get_n_added (unsorted), 5);
  assert_int_equal (trellis_name_set_finish (unsorted), 4);
  assert_true (trellis_name_set_write (unsorted, path, &error));
  assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  assert_string_equal (contents, "a.example\nb.example\nm.example\nzz.example\n");

  file = trellis_names_file_open (path, &error);
  assert_non_null (file);
  assert_true (trellis_names_file_contains (file, "a.example", 9));
  assert_true (trellis_names_file_contains (file, "zz.example", 10));
  assert_true (trellis_names_file_contains (file, "m.example", 9));
  assert_false (trellis_names_file_contains (file, "m.exampl", 8));
  assert_false (trellis_names_file_contains (file, "c.example", 9));
  assert_false (trellis_names_file_contains (file, "zzz.example", 11));
  assert_false (trellis_names_file_contains (NULL, "a.example", 9));
  trellis_names_cursor_init (&cursor, file);
  while (trellis_names_cursor_next (&cursor, &name, &len))
    n++;
  assert_int_equal (n, 4);
  assert_true (trellis_names_compare ("a", 1, "ab", 2) < 0);
  assert_true (trellis_names_compare ("b", 1, "ab", 2) > 0);

  g_clear_pointer (&file, trellis_names_file_free);
  assert_int_equal (g_unlink (path), 0);
  assert_int_equal (g_rmdir (dir), 0);
}

/* A list read again with the names its earlier version gave reads the
 * same (the names found there are taken as they are), whatever its order;
 * and two versions of a names file are walked past what they share. */
static void
test_known_names (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("trellis-known-XXXXXX", NULL);
  g_autofree char *old_path = g_build_filename (dir, "old.names", NULL);
  g_autofree char *new_path = g_build_filename (dir, "new.names", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) shuffled = g_string_new (NULL);
  g_autoptr(TrellisNameSet) set = trellis_name_set_new ();
  g_autoptr(TrellisNamesFile) known = NULL;
  g_autoptr(GPtrArray) plain = NULL;
  g_autoptr(GError) error = NULL;
  TrellisListCounts counts_plain, counts_known;
  guint i;

  for (i = 0; i < 5000; i++)
    g_string_append_printf (text, "%s%05u-site.example\n", i % 7 == 0 ? "WWW." : "", i);
  g_string_append (text, "co.uk\n192.0.2.1\nb\xc3\xbc"
                         "cher.example\n");
  plain = parse (TRELLIS_LIST_FORMAT_PLAIN, text->str, text->len, 0, &counts_plain);
  for (i = 0; g_ptr_array_index (plain, i) != NULL; i++)
    trellis_name_set_add (set, g_ptr_array_index (plain, i), strlen (g_ptr_array_index (plain, i)));
  trellis_name_set_finish (set);
  assert_true (trellis_name_set_write (set, old_path, &error));
  known = trellis_names_file_open (old_path, &error);
  assert_non_null (known);

  /* In order, and out of order (the walk only finds less). */
  for (guint pass = 0; pass < 2; pass++)
    {
      Collect c = { g_ptr_array_new_with_free_func (g_free) };
      g_autoptr(GPtrArray) names = c.names;
      g_autoptr(TrellisListParser) parser = trellis_list_parser_new (TRELLIS_LIST_FORMAT_PLAIN, collect, &c);
      const GString *input = text;

      if (pass == 1)
        {
          g_auto(GStrv) lines = g_strsplit (text->str, "\n", -1);

          for (gint j = (gint) g_strv_length (lines) - 1; j >= 0; j--)
            g_string_append_printf (shuffled, "%s\n", lines[j]);
          input = shuffled;
        }
      trellis_list_parser_set_known (parser, known);
      trellis_list_parser_feed (parser, input->str, input->len);
      trellis_list_parser_finish (parser, &counts_known);
      assert_int_equal (counts_known.names, counts_plain.names);
      assert_int_equal (counts_known.refused[TRELLIS_LIST_REFUSED_SUFFIX], 1);
      assert_int_equal (counts_known.refused[TRELLIS_LIST_REFUSED_ADDRESS], 1);
      assert_int_equal (names->len, plain->len - 1);
    }

  /* Skipping what two names files share. */
  {
    g_autoptr(TrellisNameSet) next = trellis_name_set_new ();
    g_autoptr(TrellisNamesFile) new_file = NULL;
    TrellisNamesCursor a, b;
    const char *name;
    gsize len, skipped;

    for (i = 0; g_ptr_array_index (plain, i) != NULL; i++)
      if (i != 3000)
        trellis_name_set_add (next, g_ptr_array_index (plain, i), strlen (g_ptr_array_index (plain, i)));
    trellis_name_set_finish (next);
    assert_true (trellis_name_set_write (next, new_path, &error));
    new_file = trellis_names_file_open (new_path, &error);
    trellis_names_cursor_init (&a, known);
    trellis_names_cursor_init (&b, new_file);
    skipped = trellis_names_cursors_skip_same (&a, &b);
    assert_true (skipped > 0);
    /* Both stop at the start of the first line that differs. */
    assert_true (trellis_names_cursor_next (&a, &name, &len));
    {
      const char *other;
      gsize other_len;

      assert_true (trellis_names_cursor_next (&b, &other, &other_len));
      assert_true (trellis_names_compare (name, len, other, other_len) != 0);
      assert_true (a.at[-1] == '\n' && b.at[-1] == '\n');
    }
    /* Identical files: all of it. */
    trellis_names_cursor_init (&a, known);
    trellis_names_cursor_init (&b, known);
    {
      gsize whole = (gsize) (a.end - a.at);

      assert_int_equal (trellis_names_cursors_skip_same (&a, &b), whole);
      assert_false (trellis_names_cursor_next (&a, &name, &len));
    }
    g_clear_pointer (&new_file, trellis_names_file_free);
    assert_int_equal (g_unlink (new_path), 0);
  }

  g_clear_pointer (&known, trellis_names_file_free);
  assert_int_equal (g_unlink (old_path), 0);
  assert_int_equal (g_rmdir (dir), 0);
}

static void
feed_string (const char *data,
             gsize len,
             gpointer user_data)
{
  g_string_append_len (user_data, data, len);
}

/* Runs @argv (a shell command) to make @path. */
static void
make_file (const char *command)
{
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync (command, NULL, NULL, &status, &error) || status != 0)
    fail_msg ("%s failed", command);
}

static int
open_file (const char *path)
{
  int fd = open (path, O_RDONLY);

  assert_true (fd >= 0);
  return fd;
}

static void
test_archives (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("trellis-archive-XXXXXX", NULL);
  g_autofree char *cmd = NULL;
  g_autofree char *tgz = g_build_filename (dir, "adult.tar.gz", NULL);
  g_autofree char *cut = g_build_filename (dir, "cut.tar.gz", NULL);
  g_autofree char *gz = g_build_filename (dir, "plain.gz", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain", NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  guint64 bytes = 0;
  int fd;

  cmd = g_strdup_printf ("sh -c 'cd %s && mkdir adult && printf \"a.example\\nb.example\\n\" > adult/domains "
                         "&& printf x > adult/urls && ln -s /etc/passwd adult/evil && tar czf adult.tar.gz adult "
                         "&& head -c 60 adult.tar.gz > cut.tar.gz && printf \"c.example\\n\" > plain "
                         "&& gzip -c plain > plain.gz'",
                         dir);
  make_file (cmd);

  fd = open_file (tgz);
  assert_true (trellis_list_archive_read (fd, "adult/domains", 1 << 20, feed_string, out, &bytes, &error));
  assert_string_equal (out->str, "a.example\nb.example\n");
  assert_int_equal (bytes, 20);
  /* A member that is not there, or a link, is refused. */
  assert_false (trellis_list_archive_read (fd, "adult/nothing", 1 << 20, feed_string, out, NULL, &error));
  assert_true (g_error_matches (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_NO_MEMBER));
  g_clear_error (&error);
  assert_false (trellis_list_archive_read (fd, "adult/evil", 1 << 20, feed_string, out, NULL, &error));
  assert_true (g_error_matches (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_NO_MEMBER));
  g_clear_error (&error);
  /* More unpacked than allowed. */
  assert_false (trellis_list_archive_read (fd, "adult/domains", 10, feed_string, out, NULL, &error));
  assert_true (g_error_matches (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_TOO_LARGE));
  g_clear_error (&error);
  close (fd);

  fd = open_file (cut);
  assert_false (trellis_list_archive_read (fd, "adult/domains", 1 << 20, feed_string, out, NULL, &error));
  assert_true (g_error_matches (error, TRELLIS_LIST_ARCHIVE_ERROR, TRELLIS_LIST_ARCHIVE_ERROR_DAMAGED));
  g_clear_error (&error);
  close (fd);

  /* A gzip'd plain list, and a plain one, read raw. */
  g_string_truncate (out, 0);
  fd = open_file (gz);
  assert_true (trellis_list_archive_read (fd, NULL, 1 << 20, feed_string, out, NULL, &error));
  assert_string_equal (out->str, "c.example\n");
  close (fd);
  g_string_truncate (out, 0);
  fd = open_file (plain);
  assert_true (trellis_list_archive_read (fd, NULL, 1 << 20, feed_string, out, NULL, &error));
  assert_string_equal (out->str, "c.example\n");
  close (fd);

  g_clear_pointer (&cmd, g_free);
  cmd = g_strdup_printf ("rm -rf %s", dir);
  make_file (cmd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_normalize),
    cmocka_unit_test (test_formats),
    cmocka_unit_test (test_hostile_lines),
    cmocka_unit_test (test_chunks_read_the_same),
    cmocka_unit_test (test_name_set),
    cmocka_unit_test (test_known_names),
    cmocka_unit_test (test_archives),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
