/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-index-matches-naive.c — the compiled domain index answers exactly as
 * a plain suffix walk over a GHashTable does, on random lists and queries.
 *
 * TRELLIS_TEST_SEED=N replays a run; the seed is printed on failure.
 */
#include "tests/unit/test-common.h"
#include <stdlib.h>

#include "policy/domain-index.h"

typedef struct
{
  guint32 bits;
  guint32 rule;
} Value;

/* The naive matcher: every entry in a hash table, and a suffix walk. */
typedef struct
{
  GHashTable *table; /* (owned) name → Value */
} Naive;

static void
naive_add (Naive *naive,
           const char *name,
           guint32 bits,
           guint32 rule)
{
  Value *value = g_hash_table_lookup (naive->table, name);

  if (value == NULL)
    {
      value = g_new (Value, 1);
      value->bits = bits;
      value->rule = rule;
      g_hash_table_insert (naive->table, g_strdup (name), value);
      return;
    }
  value->bits |= bits;
  if (rule < value->rule)
    value->rule = rule;
}

/* Returns: the offset into @name of the longest listed suffix, or -1. */
static gssize
naive_lookup (const Naive *naive,
              const char *name,
              Value *ret_value)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  gsize len = strlen (lower);
  const char *s;

  if (len > 0 && lower[len - 1] == '.')
    lower[--len] = '\0';
  if (len == 0 || lower[0] == '.' || strstr (lower, "..") != NULL)
    return -1;
  for (s = lower; s != NULL; s = strchr (s, '.'), s = s != NULL ? s + 1 : NULL)
    {
      Value *value = g_hash_table_lookup (naive->table, s);

      if (value != NULL)
        {
          *ret_value = *value;
          return s - lower;
        }
    }
  return -1;
}

typedef struct
{
  GRand *rand;       /* (owned) */
  GPtrArray *labels; /* (owned) a pool, so that names share labels */
  GPtrArray *tlds;   /* (owned) */
  guint32 seed;
} Fixture;

static char *
random_label (GRand *rand)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  gint32 len = g_rand_int_range (rand, 0, 8) == 0 ? g_rand_int_range (rand, 1, 64)
                                                  : g_rand_int_range (rand, 1, 12);
  char *label = g_malloc (len + 1);
  gint32 i;

  for (i = 0; i < len; i++)
    label[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
  label[len] = '\0';
  return label;
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  const char *env = g_getenv ("TRELLIS_TEST_SEED");
  guint i;

  f->seed = env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : 20261126;
  f->rand = g_rand_new_with_seed (f->seed);
  f->labels = g_ptr_array_new_with_free_func (g_free);
  f->tlds = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < 3000; i++)
    g_ptr_array_add (f->labels, random_label (f->rand));
  for (i = 0; i < 30; i++)
    g_ptr_array_add (f->tlds, random_label (f->rand));
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  g_rand_free (f->rand);
  g_ptr_array_unref (f->labels);
  g_ptr_array_unref (f->tlds);
  g_free (f);
  return 0;
}

static const char *
pick (Fixture *f,
      GPtrArray *pool)
{
  return pool->pdata[g_rand_int_range (f->rand, 0, (gint32) pool->len)];
}

/* One to three labels from the pool under a TLD, at most 253 bytes. */
static char *
random_name (Fixture *f)
{
  GString *name = g_string_new (NULL);
  gint32 n = g_rand_int_range (f->rand, 1, 4);
  gint32 i;

  for (i = 0; i < n; i++)
    {
      const char *label = pick (f, f->labels);

      if (name->len + strlen (label) + 1 > 180)
        break;
      g_string_append (name, label);
      g_string_append_c (name, '.');
    }
  g_string_append (name, pick (f, f->tlds));
  return g_string_free (name, FALSE);
}

/* A query: an entry, a subdomain of one, a near miss, a parent, or noise;
 * sometimes in mixed case or with a trailing dot. */
static char *
random_query (Fixture *f,
              GPtrArray *entries)
{
  const char *entry = entries->len > 0 ? pick (f, entries) : "example.com";
  char *q;
  gint32 kind = g_rand_int_range (f->rand, 0, 9);

  switch (kind)
    {
    case 0:
      q = g_strdup (entry);
      break;
    case 1:
      q = g_strdup_printf ("%s.%s", pick (f, f->labels), entry);
      break;
    case 2:
      q = g_strdup_printf ("%s.%s.%s", pick (f, f->labels), pick (f, f->labels), entry);
      break;
    case 3:
      q = g_strdup_printf ("%s%s", pick (f, f->labels), entry); /* "notexample.com" */
      break;
    case 4:
      {
        const char *dot = strchr (entry, '.');

        q = g_strdup (dot != NULL ? dot + 1 : entry); /* a parent */
        break;
      }
    case 5:
      {
        gsize len = strlen (entry);

        q = g_strdup (entry); /* a changed byte */
        q[g_rand_int_range (f->rand, 0, (gint32) len)] = 'q';
        break;
      }
    case 6:
      q = g_strdup_printf ("%s.%s", entry, pick (f, f->tlds)); /* entry as a prefix */
      break;
    default:
      q = random_name (f);
      break;
    }

  if (g_rand_int_range (f->rand, 0, 5) == 0)
    {
      char *upper = g_ascii_strup (q, -1);

      g_free (q);
      q = upper;
    }
  else if (g_rand_int_range (f->rand, 0, 5) == 0)
    {
      gsize i, len = strlen (q);

      for (i = 0; i < len; i++)
        if (g_rand_boolean (f->rand))
          q[i] = g_ascii_toupper (q[i]);
    }
  if (g_rand_int_range (f->rand, 0, 6) == 0)
    {
      char *dotted = g_strconcat (q, ".", NULL);

      g_free (q);
      q = dotted;
    }
  return q;
}

/* Builds both matchers from @n_entries random entries and compares them on
 * @n_queries queries.  Returns: the number of queries that matched. */
static guint
compare_names (Fixture *f,
               GPtrArray *names,
               guint n_entries,
               guint n_queries,
               gboolean through_file)
{
  g_autoptr(TrellisDomainIndexBuilder) builder = trellis_domain_index_builder_new ();
  g_autoptr(TrellisDomainIndex) index = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  Naive naive = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free) };
  g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func (g_free);
  g_autofree gssize *want_offsets = g_new (gssize, MAX (n_queries, 1));
  g_autofree Value *wants = g_new0 (Value, MAX (n_queries, 1));
  g_autofree TrellisDomainIndexMatch *batch = g_new (TrellisDomainIndexMatch, MAX (n_queries, 1));
  guint i, n_matched = 0;

  for (i = 0; i < n_entries; i++)
    {
      char *name;
      guint32 bits = 1u << g_rand_int_range (f->rand, 0, 32);
      guint32 rule = (guint32) g_rand_int_range (f->rand, 1, 2000);

      /* Some names twice, with other values. */
      if (names != NULL)
        name = g_strdup (names->pdata[i]);
      else if (entries->len > 0 && g_rand_int_range (f->rand, 0, 20) == 0)
        name = g_strdup (pick (f, entries));
      else
        name = random_name (f);
      if (!trellis_domain_index_builder_add (builder, name, bits, rule, &error))
        fail_msg ("seed %u: %s", f->seed, error->message);
      naive_add (&naive, name, bits, rule);
      g_ptr_array_add (entries, name);
    }

  if (through_file)
    {
      g_autofree char *dir = g_dir_make_tmp ("test-index-matches-naive-XXXXXX", NULL);
      g_autofree char *path = g_build_filename (dir, "index", NULL);

      if (!trellis_domain_index_builder_write (builder, path, &error))
        fail_msg ("%s", error->message);
      index = trellis_domain_index_open (path, &error);
      g_unlink (path);
      g_rmdir (dir);
    }
  else
    {
      g_autoptr(GBytes) bytes = trellis_domain_index_builder_to_bytes (builder, &error);

      assert_non_null (bytes);
      index = trellis_domain_index_new_from_bytes (bytes, &error);
    }
  if (index == NULL)
    fail_msg ("seed %u: %s", f->seed, error->message);
  assert_int_equal (trellis_domain_index_get_n_entries (index), g_hash_table_size (naive.table));

  /* Every entry finds itself. */
  for (i = 0; i < entries->len; i++)
    {
      Value want;
      guint32 bits, rule;

      assert_int_equal (naive_lookup (&naive, entries->pdata[i], &want), 0);
      if (!trellis_domain_index_lookup (index, entries->pdata[i], &bits, &rule, NULL))
        fail_msg ("seed %u: entry %s not found", f->seed, (const char *) entries->pdata[i]);
      assert_int_equal (bits, want.bits);
      assert_int_equal (rule, want.rule);
    }

  for (i = 0; i < n_queries; i++)
    {
      char *q = random_query (f, entries);
      Value want = { 0, 0 };
      gssize want_offset = naive_lookup (&naive, q, &want);
      guint32 bits = 0, rule = 0;
      const char *suffix = NULL;
      gboolean got = trellis_domain_index_lookup (index, q, &bits, &rule, &suffix);

      g_ptr_array_add (queries, q);
      want_offsets[i] = want_offset;
      wants[i] = want;

      if (got != (want_offset >= 0))
        fail_msg ("seed %u: %s: index says %s, naive says %s", f->seed, q,
                  got ? "match" : "no match", want_offset >= 0 ? "match" : "no match");
      if (!got)
        continue;
      n_matched++;
      if (bits != want.bits || rule != want.rule || suffix != q + want_offset)
        fail_msg ("seed %u: %s: index (%#x, %u, +%td), naive (%#x, %u, +%zd)", f->seed, q,
                  bits, rule, suffix - q, want.bits, want.rule, want_offset);
    }

  /* The batch interface answers the same. */
  assert_int_equal (trellis_domain_index_lookup_many (index, (const char *const *) queries->pdata,
                                                      queries->len, batch),
                    n_matched);
  for (i = 0; i < queries->len; i++)
    {
      if (batch[i].matched != (want_offsets[i] >= 0))
        fail_msg ("seed %u: %s: batch disagrees", f->seed, (const char *) queries->pdata[i]);
      if (!batch[i].matched)
        continue;
      assert_int_equal (batch[i].category_bits, wants[i].bits);
      assert_int_equal (batch[i].rule_id, wants[i].rule);
      assert_int_equal (batch[i].suffix_offset, want_offsets[i]);
    }

  g_hash_table_unref (naive.table);
  return n_matched;
}

static guint
compare (Fixture *f,
         guint n_entries,
         guint n_queries,
         gboolean through_file)
{
  return compare_names (f, NULL, n_entries, n_queries, through_file);
}

/* Reads one name per line ('#' comments) from @path into @names. */
static void
names_read (GPtrArray *names, const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    fail_msg ("%s", error->message);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (*line != '\0' && *line != '#')
        g_ptr_array_add (names, g_strdup (line));
    }
}

/* Real names: the lists shipped in the tree and, when TRELLIS_REAL_NAMES
 * names a file (the real-list-compile test makes one from published lists),
 * every name in it. */
static void
test_index_matches_naive_real (void **state)
{
  Fixture *f = *state;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *categories = g_build_filename (TRELLIS_TEST_DATADIR, "..", "..", "..",
                                                  "policy", "categories", NULL);
  const char *extra = g_getenv ("TRELLIS_REAL_NAMES");
  g_autoptr(GDir) dir = g_dir_open (categories, 0, NULL);
  const char *entry;
  guint matched;

  assert_non_null (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (categories, entry, "domains", NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        names_read (names, path);
    }
  assert_true (names->len >= 50);
  if (extra != NULL && *extra != '\0')
    names_read (names, extra);

  matched = compare_names (f, names, names->len, MAX (names->len * 2, 20000), FALSE);
  print_message ("%u real names; %u queries matched\n", names->len, matched);
  assert_true (matched > 0);
}

static void
test_index_matches_naive_50k (void **state)
{
  Fixture *f = *state;
  guint matched = compare (f, 50000, 200000, FALSE);

  print_message ("%u of 200000 queries matched\n", matched);

  /* The query mix must exercise both answers. */
  assert_true (matched > 200000 / 4);
  assert_true (matched < 200000 - 200000 / 8);
}

static void
test_index_matches_naive_file (void **state)
{
  Fixture *f = *state;

  assert_true (compare (f, 5000, 20000, TRUE) > 0);
}

static void
test_index_matches_naive_small (void **state)
{
  Fixture *f = *state;
  guint n;

  /* Tiny tables: one bucket, two buckets, nearly full ones. */
  for (n = 0; n <= 64; n++)
    compare (f, n, 300, FALSE);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_index_matches_naive_small, setup, teardown),
    cmocka_unit_test_setup_teardown (test_index_matches_naive_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_index_matches_naive_50k, setup, teardown),
    cmocka_unit_test_setup_teardown (test_index_matches_naive_real, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
