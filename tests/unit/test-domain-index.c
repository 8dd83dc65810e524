/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-domain-index.c — the compiled domain index: building, lookups, the
 * file round trip, corrupt images refused with a GError, the count of
 * names below a watch list, and patches (a few names changed in a copy)
 * against a full compile of the same names.
 */
#include "tests/unit/test-common.h"

#include "policy/domain-index.h"

/* Header field offsets, as documented in domain-index.c. */
#define OFF_VERSION   8
#define OFF_N_BUCKETS 28
#define OFF_N_VALUES  32
#define OFF_BUCKETS   40
#define OFF_VALUES    48
#define HEADER_SIZE   64

static void
add (TrellisDomainIndexBuilder *builder,
     const char *name,
     guint32 bits,
     guint32 rule)
{
  g_autoptr(GError) error = NULL;

  if (!trellis_domain_index_builder_add (builder, name, bits, rule, &error))
    fail_msg ("adding %s: %s", name, error->message);
}

static GBytes *
example_bytes (void)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(GError) error = NULL;
  GBytes *bytes;

  add (builder, "example.com", 0x1, 10);
  add (builder, "ads.example.com", 0x2, 20);
  add (builder, "test.org", 0x4, 30);
  add (builder, "_dmarc.under_score.net", 0x8, 40);
  add (builder, "co.uk", 0x10, 50);
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_null (error);
  assert_non_null (bytes);
  return bytes;
}

static TrellisDomainIndex *
example_index (void)
{
  g_autoptr(GBytes) bytes = example_bytes ();
  g_autoptr(GError) error = NULL;
  TrellisDomainIndex *index = trellis_domain_index_new_from_bytes (bytes, &error);

  if (index == NULL)
    fail_msg ("%s", error->message);
  return index;
}

/* Asserts that @name matches with these values and the suffix that starts
 * @suffix_offset bytes into @name. */
static void
assert_match (TrellisDomainIndex *index,
              const char *name,
              guint32 bits,
              guint32 rule,
              gsize suffix_offset)
{
  guint32 got_bits = 0xdead, got_rule = 0xbeef;
  const char *suffix = NULL;

  if (!trellis_domain_index_lookup (index, name, &got_bits, &got_rule, &suffix))
    fail_msg ("%s did not match", name);
  assert_int_equal (got_bits, bits);
  assert_int_equal (got_rule, rule);
  assert_ptr_equal (suffix, name + suffix_offset);
  /* The optional outputs may be left out. */
  assert_true (trellis_domain_index_lookup (index, name, NULL, NULL, NULL));
}

static void
assert_no_match (TrellisDomainIndex *index,
                 const char *name)
{
  guint32 bits = 0xdead, rule = 0xbeef;
  const char *suffix = (const char *) &bits;

  if (trellis_domain_index_lookup (index, name, &bits, &rule, &suffix))
    fail_msg ("%s matched rule %u", name, rule);
  /* Outputs are set only on success. */
  assert_int_equal (bits, 0xdead);
  assert_int_equal (rule, 0xbeef);
  assert_ptr_equal (suffix, (const char *) &bits);
}

static void
test_lookup_basics (void **state)
{
  g_autoptr(TrellisDomainIndex) index = example_index ();

  assert_int_equal (trellis_domain_index_get_n_entries (index), 5);

  /* Exact and subdomain. */
  assert_match (index, "example.com", 0x1, 10, 0);
  assert_match (index, "www.example.com", 0x1, 10, 4);
  assert_match (index, "a.b.c.example.com", 0x1, 10, 6);
  assert_match (index, "test.org", 0x4, 30, 0);
  assert_match (index, "_dmarc.under_score.net", 0x8, 40, 0);
  assert_match (index, "x._dmarc.under_score.net", 0x8, 40, 2);
  assert_match (index, "bbc.co.uk", 0x10, 50, 4);

  /* The longest suffix wins, in both orders of specificity. */
  assert_match (index, "ads.example.com", 0x2, 20, 0);
  assert_match (index, "x.ads.example.com", 0x2, 20, 2);
  assert_match (index, "ads2.example.com", 0x1, 10, 5);

  /* A suffix match is at a label boundary only. */
  assert_no_match (index, "notexample.com");
  assert_no_match (index, "xads.example.co");
  assert_no_match (index, "example.co");
  assert_no_match (index, "com");
  assert_no_match (index, "uk");
  assert_no_match (index, "example.com.evil.net");
  assert_no_match (index, "under_score.net");

  /* Case and a trailing dot do not matter. */
  assert_match (index, "EXAMPLE.COM", 0x1, 10, 0);
  assert_match (index, "WWW.Example.Com.", 0x1, 10, 4);
  assert_match (index, "example.com.", 0x1, 10, 0);
  assert_match (index, "Ads.Example.COM.", 0x2, 20, 0);

  /* Root, empty and malformed names match nothing. */
  assert_no_match (index, "");
  assert_no_match (index, ".");
  assert_no_match (index, "..");
  assert_no_match (index, "example.com..");
  assert_no_match (index, ".example.com");
  assert_no_match (index, "www..example.com");

  /* Escapes: a label holding one matches nothing, but the labels to its
   * right still do; an escaped dot is no separator. */
  assert_no_match (index, "exa\\109ple.com");
  assert_no_match (index, "example\\.com");
  assert_no_match (index, "a\\.example.com");
  assert_no_match (index, "example.com\\");
  assert_match (index, "foo\\.bar.example.com", 0x1, 10, 9);
  assert_match (index, "x\\032y.example.com", 0x1, 10, 7);
  assert_no_match (index, "example.c\\om");

  /* Bytes no entry can hold. */
  assert_no_match (index, "exa mple.com");
  assert_no_match (index, "ex\xc3\xa4mple.com");
  assert_match (index, "b\xc3\xa4r.example.com", 0x1, 10, 5);
}

static void
test_lookup_long_names (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GString) name = g_string_new (NULL);
  g_autofree char *label63 = g_strnfill (63, 'a');
  g_autofree char *label64 = g_strnfill (64, 'b');
  g_autofree char *long_entry = g_strdup_printf ("%s.%s.%s.example", label63, label63, label63);
  g_autofree char *q = NULL;
  guint i;

  add (builder, long_entry, 1, 1);
  add (builder, "example", 2, 2);
  bytes = trellis_domain_index_builder_to_bytes (builder, NULL);
  index = trellis_domain_index_new_from_bytes (bytes, NULL);
  assert_non_null (index);

  assert_match (index, long_entry, 1, 1, 0);
  q = g_strdup_printf ("x.%s", long_entry);
  assert_match (index, q, 1, 1, 2);
  g_clear_pointer (&q, g_free);
  /* A label longer than 63 bytes can never match, the rest still can. */
  q = g_strdup_printf ("%s.example", label64);
  assert_match (index, q, 2, 2, 65);
  g_clear_pointer (&q, g_free);

  /* Very long and very deep names do not break anything. */
  for (i = 0; i < 200; i++)
    g_string_append (name, "a.");
  g_string_append (name, "example");
  assert_no_match (index, name->str);
  g_string_truncate (name, 0);
  for (i = 0; i < 3000; i++)
    g_string_append_c (name, 'z');
  assert_no_match (index, name->str);
  g_string_append (name, ".example");
  assert_no_match (index, name->str);
}

static void
test_lookup_many (void **state)
{
  g_autoptr(TrellisDomainIndex) index = example_index ();
  const char *names[] = {
    "www.example.com", "notexample.com", "", "x.ads.example.com.", "exa\\109ple.com",
    "TEST.ORG", ".", "foo\\.bar.example.com", "bbc.co.uk", "uk", "a.b.c.d.e.f.g.h.i.test.org"
  };
  const struct {
    gboolean matched;
    guint32 bits, rule, offset;
  } want[] = {
    { TRUE, 0x1, 10, 4 },
    { FALSE, 0, 0, 0 },
    { FALSE, 0, 0, 0 },
    { TRUE, 0x2, 20, 2 },
    { FALSE, 0, 0, 0 },
    { TRUE, 0x4, 30, 0 },
    { FALSE, 0, 0, 0 },
    { TRUE, 0x1, 10, 9 },
    { TRUE, 0x10, 50, 4 },
    { FALSE, 0, 0, 0 },
    { TRUE, 0x4, 30, 18 },
  };
  TrellisDomainIndexMatch matches[G_N_ELEMENTS (names)];
  gsize n, i;

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (want));
  /* Every length, so that the pipeline is both shorter and longer than the batch. */
  for (n = 0; n <= G_N_ELEMENTS (names); n++)
    {
      gsize n_want = 0;

      memset (matches, 0xaa, sizeof matches);
      for (i = 0; i < n; i++)
        n_want += want[i].matched;
      assert_int_equal (trellis_domain_index_lookup_many (index, names, n, matches), n_want);
      for (i = 0; i < n; i++)
        {
          assert_int_equal (matches[i].matched, want[i].matched);
          assert_int_equal (matches[i].category_bits, want[i].bits);
          assert_int_equal (matches[i].rule_id, want[i].rule);
          assert_int_equal (matches[i].suffix_offset, want[i].offset);
        }
      /* Nothing past n is written. */
      if (n < G_N_ELEMENTS (names))
        assert_int_equal (matches[n].rule_id, 0xaaaaaaaa);
    }
}

static void
test_builder_rejects (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autofree char *label64 = g_strnfill (64, 'a');
  const char *bad[] = {
    "", ".", "Example.com", "example.com.", ".example.com", "a..b", "exa mple.com",
    "ex\\097mple.com", "*.example.com", "ex\xc3\xa4mple.com"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      assert_false (trellis_domain_index_builder_add (builder, bad[i], 1, 1, &error));
      assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                    TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME));
    }
  {
    g_autoptr(GError) error = NULL;

    assert_false (trellis_domain_index_builder_add (builder, label64, 1, 1, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME));
  }
  {
    /* 253 bytes is the most a name may have. */
    g_autoptr(GError) error = NULL;
    g_autofree char *l63 = g_strnfill (63, 'a');
    g_autofree char *l61 = g_strnfill (61, 'b');
    g_autofree char *l62 = g_strnfill (62, 'c');
    g_autofree char *name253 = g_strdup_printf ("%s.%s.%s.%s", l63, l63, l63, l61);
    g_autofree char *name254 = g_strdup_printf ("%s.%s.%s.%s", l63, l63, l63, l62);

    assert_int_equal (strlen (name253), 253);
    assert_int_equal (strlen (name254), 254);
    assert_true (trellis_domain_index_builder_add (builder, name253, 1, 1, &error));
    assert_false (trellis_domain_index_builder_add (builder, name254, 1, 1, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME));
  }
  assert_int_equal (trellis_domain_index_builder_get_n_added (builder), 1);
}

static void
test_builder_repeats_merge (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  add (builder, "dup.com", 0x1, 7);
  add (builder, "other.com", 0x40, 9);
  add (builder, "dup.com", 0x4, 3);
  add (builder, "dup.com", 0x8, 5);
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_non_null (bytes);
  index = trellis_domain_index_new_from_bytes (bytes, &error);
  assert_non_null (index);
  assert_int_equal (trellis_domain_index_get_n_entries (index), 2);
  assert_match (index, "dup.com", 0xd, 3, 0);
  assert_match (index, "www.other.com", 0x40, 9, 4);
}

static void
test_empty_index (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_non_null (bytes);
  index = trellis_domain_index_new_from_bytes (bytes, &error);
  assert_non_null (index);
  assert_int_equal (trellis_domain_index_get_n_entries (index), 0);
  assert_no_match (index, "example.com");
  assert_no_match (index, "com");
}

static void
test_file_round_trip (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("test-domain-index-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "index", NULL);
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndexBuilder) builder2 = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(TrellisDomainIndex) index2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  g_autoptr(GBytes) bytes = example_bytes ();
  g_autofree char *contents = NULL;
  gsize length;
  const char *entry;
  guint n_files = 0;

  assert_non_null (dir);
  add (builder, "example.com", 0x1, 10);
  add (builder, "ads.example.com", 0x2, 20);
  add (builder, "test.org", 0x4, 30);
  add (builder, "_dmarc.under_score.net", 0x8, 40);
  add (builder, "co.uk", 0x10, 50);
  if (!trellis_domain_index_builder_write (builder, path, &error))
    fail_msg ("%s", error->message);

  /* The file is exactly the image. */
  assert_true (g_file_get_contents (path, &contents, &length, NULL));
  assert_int_equal (length, g_bytes_get_size (bytes));
  assert_memory_equal (contents, g_bytes_get_data (bytes, NULL), length);

  index = trellis_domain_index_open (path, &error);
  if (index == NULL)
    fail_msg ("%s", error->message);
  assert_int_equal (trellis_domain_index_get_size (index), length);
  assert_match (index, "www.example.com", 0x1, 10, 4);
  assert_match (index, "x.ads.example.com.", 0x2, 20, 2);
  assert_no_match (index, "notexample.com");

  /* Writing again replaces the file whole; the old mapping stays valid. */
  add (builder2, "new.example", 0x80, 99);
  if (!trellis_domain_index_builder_write (builder2, path, &error))
    fail_msg ("%s", error->message);
  index2 = trellis_domain_index_open (path, &error);
  assert_non_null (index2);
  assert_match (index2, "a.new.example", 0x80, 99, 2);
  assert_no_match (index2, "example.com");
  assert_match (index, "example.com", 0x1, 10, 0);

  /* No temporary file is left behind. */
  listing = g_dir_open (dir, 0, NULL);
  assert_non_null (listing);
  while ((entry = g_dir_read_name (listing)) != NULL)
    {
      assert_string_equal (entry, "index");
      n_files++;
    }
  assert_int_equal (n_files, 1);

  /* Writing into a missing directory is an I/O error. */
  {
    g_autofree char *bad = g_build_filename (dir, "missing", "index", NULL);
    g_autoptr(GError) write_error = NULL;

    assert_false (trellis_domain_index_builder_write (builder2, bad, &write_error));
    assert_true (g_error_matches (write_error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_IO));
  }

  g_unlink (path);
  g_rmdir (dir);
}

/* Asserts that @data is refused with @code (-1: CORRUPT or VERSION) and, if given, @words in the message. */
static void
assert_refused (const guint8 *data,
                gsize size,
                gint code,
                const char *words)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisDomainIndex) index = trellis_domain_index_new_from_bytes (bytes, &error);

  if (index != NULL)
    fail_msg ("a corrupt image of %zu bytes was accepted", size);
  assert_true (error != NULL && error->domain == TRELLIS_DOMAIN_INDEX_ERROR);
  if (code >= 0)
    assert_int_equal (error->code, code);
  if (code < 0)
    assert_true (error->code == TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT
                 || error->code == TRELLIS_DOMAIN_INDEX_ERROR_VERSION);
  if (words != NULL && strstr (error->message, words) == NULL)
    fail_msg ("“%s” does not say “%s”", error->message, words);
}

static void
put32 (guint8 *p,
       guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static void
put64 (guint8 *p,
       guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static void
test_corrupt_images (void **state)
{
  g_autoptr(GBytes) bytes = example_bytes ();
  gsize size;
  const guint8 *image = g_bytes_get_data (bytes, &size);
  g_autofree guint8 *copy = g_malloc (size + 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  gsize cut[] = { 0, 1, 8, 63, 64, 65, 127, 128, size / 2 };
  guint i;

  assert_true (size > HEADER_SIZE + 64);

  /* Truncated, and one byte too long. */
  for (i = 0; i < G_N_ELEMENTS (cut); i++)
    assert_refused (image, cut[i], TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);
  assert_refused (image, size - 1, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);
  assert_refused (image, size - 8, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);
  memcpy (copy, image, size);
  copy[size] = 0;
  assert_refused (copy, size + 1, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);

  /* Bad magic. */
  memcpy (copy, image, size);
  copy[0] ^= 0x20;
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, "magic");

  /* Another format version. */
  memcpy (copy, image, size);
  put32 (copy + OFF_VERSION, TRELLIS_DOMAIN_INDEX_FORMAT_VERSION + 1);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_VERSION, NULL);
  put32 (copy + OFF_VERSION, 0);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_VERSION, NULL);

  /* Offsets and counts out of range. */
  memcpy (copy, image, size);
  put64 (copy + OFF_VALUES, G_MAXUINT64 - 3);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, "out of range");
  memcpy (copy, image, size);
  put64 (copy + OFF_BUCKETS, size + 4096);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, "out of range");
  memcpy (copy, image, size);
  put32 (copy + OFF_N_BUCKETS, G_MAXUINT32);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, "out of range");
  memcpy (copy, image, size);
  put32 (copy + OFF_N_BUCKETS, 0);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);
  memcpy (copy, image, size);
  put32 (copy + OFF_N_VALUES, G_MAXUINT32);
  assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT, NULL);

  /* A flipped byte anywhere past the checksum field breaks the checksum:
   * in the buckets, in the value table, the last byte. */
  {
    gsize positions[] = { HEADER_SIZE, HEADER_SIZE + 41, size - 12, size - 1, 16, 24 };

    for (i = 0; i < G_N_ELEMENTS (positions); i++)
      {
        memcpy (copy, image, size);
        copy[positions[i]] ^= 0x01;
        assert_refused (copy, size, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT,
                        positions[i] >= HEADER_SIZE ? "checksum" : NULL);
      }
  }

  /* Random damage: always refused, never a crash. */
  for (i = 0; i < 2000; i++)
    {
      guint n_flips = (guint) g_rand_int_range (rand, 1, 4);
      guint f;

      memcpy (copy, image, size);
      for (f = 0; f < n_flips; f++)
        copy[g_rand_int_range (rand, 0, (gint32) size)] ^= (guint8) g_rand_int_range (rand, 1, 256);
      if (memcmp (copy, image, size) != 0)
        assert_refused (copy, size, -1, NULL);
    }

  /* The intact image is still accepted from an unaligned buffer. */
  {
    g_autofree guint8 *unaligned = g_malloc (size + 1);
    g_autoptr(GBytes) shifted = NULL;
    g_autoptr(TrellisDomainIndex) index = NULL;
    g_autoptr(GError) error = NULL;

    memcpy (unaligned + 1, image, size);
    shifted = g_bytes_new_static (unaligned + 1, size);
    index = trellis_domain_index_new_from_bytes (shifted, &error);
    assert_non_null (index);
    assert_match (index, "www.example.com", 0x1, 10, 4);
  }
}

static void
test_corrupt_files (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("test-domain-index-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "index", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autoptr(GBytes) bytes = example_bytes ();
  gsize size;
  const guint8 *image = g_bytes_get_data (bytes, &size);
  g_autofree guint8 *copy = g_malloc (size);

  memcpy (copy, image, size);
  {
    g_autoptr(GError) error = NULL;

    assert_null (trellis_domain_index_open (missing, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_IO));
  }
  {
    /* An empty file. */
    g_autoptr(GError) error = NULL;

    assert_true (g_file_set_contents (path, "", 0, NULL));
    assert_null (trellis_domain_index_open (path, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT));
    assert_non_null (strstr (error->message, path));
  }
  {
    /* A truncated file. */
    g_autoptr(GError) error = NULL;

    assert_true (g_file_set_contents (path, (const char *) image, (gssize) size - 20, NULL));
    assert_null (trellis_domain_index_open (path, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT));
  }
  {
    /* A flipped byte in the payload. */
    g_autoptr(GError) error = NULL;

    copy[size - 30] ^= 0x80;
    assert_true (g_file_set_contents (path, (const char *) copy, (gssize) size, NULL));
    assert_null (trellis_domain_index_open (path, &error));
    assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                  TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT));
    assert_non_null (strstr (error->message, "checksum"));
  }
  {
    /* And the intact file opens. */
    g_autoptr(GError) error = NULL;
    g_autoptr(TrellisDomainIndex) index = NULL;

    assert_true (g_file_set_contents (path, (const char *) image, (gssize) size, NULL));
    index = trellis_domain_index_open (path, &error);
    assert_non_null (index);
    assert_match (index, "test.org", 0x4, 30, 0);
  }
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_ref_unref (void **state)
{
  TrellisDomainIndex *index = example_index ();
  TrellisDomainIndex *again = trellis_domain_index_ref (index);

  assert_ptr_equal (again, index);
  trellis_domain_index_unref (index);
  assert_match (again, "example.com", 0x1, 10, 0);
  trellis_domain_index_unref (again);
  trellis_domain_index_unref (NULL);
  trellis_domain_index_builder_free (NULL);
}

static void
test_watch_counts_subtrees (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *const watch[] = { "sexed.example", "health.org", "NOT normalized", NULL };

  add (builder, "sexed.example", 1, 0);     /* the name itself */
  add (builder, "cdn.sexed.example", 1, 0); /* below it */
  add (builder, "cdn.sexed.example", 2, 0); /* a repeat: counted once */
  add (builder, "notsexed.example", 1, 0);  /* a different label */
  add (builder, "example", 1, 0);           /* above it: not below */
  add (builder, "a.b.health.org", 4, 0);
  add (builder, "health.org.evil.com", 4, 0);
  trellis_domain_index_builder_set_watch (builder, watch);
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_non_null (bytes);
  assert_int_equal (trellis_domain_index_builder_get_n_watched (builder), 3);

  /* No watch list: nothing counted. */
  trellis_domain_index_builder_set_watch (builder, NULL);
  g_bytes_unref (bytes);
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_non_null (bytes);
  assert_int_equal (trellis_domain_index_builder_get_n_watched (builder), 0);
}

static void
test_lookup_exact (void **state)
{
  g_autoptr(TrellisDomainIndex) index = example_index ();
  guint32 bits = 0, rule = 0;

  assert_true (trellis_domain_index_lookup_exact (index, "ads.example.com", &bits, &rule));
  assert_int_equal (bits, 0x2);
  assert_int_equal (rule, 20);
  assert_false (trellis_domain_index_lookup_exact (index, "www.example.com", &bits, &rule));
  assert_false (trellis_domain_index_lookup_exact (index, "com", NULL, NULL));
  assert_false (trellis_domain_index_lookup_exact (index, "Example.com", NULL, NULL));
  assert_false (trellis_domain_index_lookup_exact (index, "example.com.", NULL, NULL));
  assert_int_equal (bits, 0x2); /* untouched by the misses */
}

static char *
random_name (GRand *rand)
{
  GString *name = g_string_new (NULL);
  gint32 labels = g_rand_int_range (rand, 1, 4);

  for (gint32 i = 0; i < labels; i++)
    {
      gint32 len = g_rand_int_range (rand, 1, 12);

      for (gint32 j = 0; j < len; j++)
        g_string_append_c (name, "abcdefghijklmnopqrstuvwxyz0123456789-_"[g_rand_int_range (rand, 0, j > 0 && j < len - 1 ? 38 : 36)]);
      g_string_append_c (name, '.');
    }
  g_string_append (name, g_rand_boolean (rand) ? "com" : "example.org");
  return g_string_free (name, FALSE);
}

/* Every name of @expected maps to its value in @index, and the entry count
 * matches. */
static void
assert_same_as (const TrellisDomainIndex *index,
                GHashTable *expected)
{
  GHashTableIter iter;
  gpointer name, value;

  assert_int_equal (trellis_domain_index_get_n_entries (index), g_hash_table_size (expected));
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      guint32 bits = 0, rule = 0;

      if (!trellis_domain_index_lookup_exact (index, name, &bits, &rule))
        fail_msg ("%s is missing", (const char *) name);
      assert_int_equal (bits, GPOINTER_TO_UINT (value));
      assert_int_equal (rule, 0);
    }
}

static void
test_patch_matches_full_compile (void **state)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free); /* copies: expected loses some */
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) base = NULL;
  g_autoptr(TrellisDomainIndex) patched = NULL;
  g_autoptr(TrellisDomainIndexPatch) patch = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint i;

  /* 20,000 names in 1–3 categories. */
  while (g_hash_table_size (expected) < 20000)
    {
      char *name = random_name (rand);
      guint32 bits = 1u << g_rand_int_range (rand, 0, 3);

      if (g_hash_table_contains (expected, name))
        {
          g_free (name);
          continue;
        }
      add (builder, name, bits, 0);
      g_hash_table_insert (expected, name, GUINT_TO_POINTER (bits));
      g_ptr_array_add (names, g_strdup (name));
    }
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  assert_non_null (bytes);
  base = trellis_domain_index_new_from_bytes (bytes, &error);
  assert_non_null (base);
  assert_same_as (base, expected);

  /* Remove 2%, change the bits of 2%, add 2% new names. */
  patch = trellis_domain_index_patch_new (base);
  for (i = 0; i < 400; i++)
    {
      const char *gone = g_ptr_array_index (names, i);

      assert_true (trellis_domain_index_patch_set (patch, gone, 0, 0, &error));
      assert_false (trellis_domain_index_patch_lookup (patch, gone, NULL, NULL));
      g_hash_table_remove (expected, gone);
    }
  for (i = 400; i < 800; i++)
    {
      const char *moved = g_ptr_array_index (names, i);
      guint32 bits = 0;

      assert_true (trellis_domain_index_patch_lookup (patch, moved, &bits, NULL));
      assert_true (trellis_domain_index_patch_set (patch, moved, bits | 0x80, 0, &error));
      g_hash_table_replace (expected, g_strdup (moved), GUINT_TO_POINTER (bits | 0x80));
    }
  for (i = 0; i < 400;)
    {
      char *name = random_name (rand);

      if (g_hash_table_contains (expected, name))
        {
          g_free (name);
          continue;
        }
      assert_true (trellis_domain_index_patch_set (patch, name, 0x10, 0, &error));
      g_hash_table_insert (expected, name, GUINT_TO_POINTER (0x10));
      i++;
    }
  /* Removing what is not there changes nothing; a bad name changes nothing. */
  assert_true (trellis_domain_index_patch_set (patch, "never-there.example", 0, 0, &error));
  assert_false (trellis_domain_index_patch_set (patch, "Bad Name", 1, 0, &error));
  assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME));
  g_clear_error (&error);
  assert_int_equal (trellis_domain_index_patch_get_n_entries (patch), g_hash_table_size (expected));

  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = trellis_domain_index_patch_to_bytes (patch);
  assert_non_null (bytes);
  /* The image validates (checksum, counts, every slot) and answers as the
   * lists say, suffixes too. */
  patched = trellis_domain_index_new_from_bytes (bytes, &error);
  if (patched == NULL)
    fail_msg ("the patched image does not open: %s", error->message);
  assert_same_as (patched, expected);
  assert_int_equal (trellis_domain_index_get_seed (patched), trellis_domain_index_get_seed (base));
  {
    const char *kept = g_ptr_array_index (names, 900);
    g_autofree char *below = g_strconcat ("www.", kept, NULL);
    guint32 bits = 0;

    assert_true (trellis_domain_index_lookup (patched, below, &bits, NULL, NULL));
    assert_int_equal (bits, GPOINTER_TO_UINT (g_hash_table_lookup (expected, kept)));
    /* A name the patch removed matches nothing (unless a parent of it is
     * still listed). */
    assert_false (g_hash_table_contains (expected, g_ptr_array_index (names, 3)));
    assert_false (trellis_domain_index_lookup_exact (patched, g_ptr_array_index (names, 3), NULL, NULL));
  }
  /* A spent patch refuses more. */
  assert_false (trellis_domain_index_patch_set (patch, "late.example", 1, 0, &error));
  g_clear_error (&error);
}

static void
test_patch_refuses_when_full (void **state)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) base = NULL;
  g_autoptr(TrellisDomainIndexPatch) patch = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gboolean refused = FALSE;
  guint i;

  for (i = 0; i < 1000; i++)
    {
      g_autofree char *name = g_strdup_printf ("n%u.example", i);

      add (builder, name, 1, 0);
    }
  bytes = trellis_domain_index_builder_to_bytes (builder, &error);
  base = trellis_domain_index_new_from_bytes (bytes, &error);
  assert_non_null (base);
  patch = trellis_domain_index_patch_new (base);
  /* The table was sized for 1000: it takes a few more, then says so. */
  for (i = 0; i < 1000 && !refused; i++)
    {
      g_autofree char *name = g_strdup_printf ("more%u.example", i);

      if (!trellis_domain_index_patch_set (patch, name, 1, 0, &error))
        {
          assert_true (g_error_matches (error, TRELLIS_DOMAIN_INDEX_ERROR,
                                        TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE));
          refused = TRUE;
        }
    }
  assert_true (refused);
  assert_true (i > 10);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lookup_basics),
    cmocka_unit_test (test_lookup_long_names),
    cmocka_unit_test (test_lookup_many),
    cmocka_unit_test (test_builder_rejects),
    cmocka_unit_test (test_builder_repeats_merge),
    cmocka_unit_test (test_empty_index),
    cmocka_unit_test (test_file_round_trip),
    cmocka_unit_test (test_corrupt_images),
    cmocka_unit_test (test_corrupt_files),
    cmocka_unit_test (test_ref_unref),
    cmocka_unit_test (test_watch_counts_subtrees),
    cmocka_unit_test (test_lookup_exact),
    cmocka_unit_test (test_patch_matches_full_compile),
    cmocka_unit_test (test_patch_refuses_when_full),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
