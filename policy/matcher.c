/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * matcher.c — a hash table per rule set, looked up suffix by suffix.
 *
 * Every query name of a protected child is walked here (helplines, the
 * child's allow= and deny=, integrity), and almost none matches.  So each
 * matcher keeps a small Bloom filter of its names beside the table: the
 * hashes of all of a name's suffixes are made in one pass from its end
 * (each suffix's hash extends the shorter one's), and the table is asked
 * only for a suffix the filter does not rule out.  The filter has no false
 * negatives: a name and an equal suffix hash the same bytes the same way.
 */
#include "policy/matcher.h"

#include <string.h>

#define BLOOM_WORDS  64 /* 4096 bits: a few hundred names at well under 1% */
#define HASH_SEED    G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define HASH_PRIME   G_GUINT64_CONSTANT (0x100000001b3)
#define SUFFIXES_MAX 128 /* labels walked the fast way; longer: every suffix asked */

struct _TrellisMatcher {
  GHashTable *domains; /* (owned) normalized domain (owned) → GUINT_TO_POINTER (rule id) */
  guint64 bloom[BLOOM_WORDS];
};

/* FNV-1a over [start, end), read from the end: extends @h, the hash of
 * what follows @end. */
static guint64
hash_back (guint64 h, const char *start, const char *end)
{
  while (end > start)
    {
      h ^= (guint8) * --end;
      h *= HASH_PRIME;
    }
  return h;
}

/* Two bits of the filter for the hash @h (mixed first: FNV's low bits are weak). */
static void
bloom_bits (guint64 h, guint *ret_a, guint *ret_b)
{
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  h ^= h >> 33;
  *ret_a = (guint) (h & (BLOOM_WORDS * 64 - 1));
  *ret_b = (guint) ((h >> 20) & (BLOOM_WORDS * 64 - 1));
}

static gboolean
bloom_maybe (const TrellisMatcher *matcher, guint64 h)
{
  guint a, b;

  bloom_bits (h, &a, &b);
  return (matcher->bloom[a / 64] >> (a % 64) & 1) != 0
         && (matcher->bloom[b / 64] >> (b % 64) & 1) != 0;
}

/* The suffixes of @name (trellis_matcher_next_suffix()'s), from the
 * longest, and their hashes.  Returns: how many, or 0 when there are more
 * than SUFFIXES_MAX (then the caller asks the tables for each). */
static guint
suffixes_hash (const char *name, const char **ret_starts, guint64 *ret_hashes)
{
  const char *suffix, *end;
  guint n = 0;
  guint64 h = HASH_SEED;

  for (suffix = name; suffix != NULL; suffix = trellis_matcher_next_suffix (suffix))
    {
      if (n == SUFFIXES_MAX)
        return 0;
      ret_starts[n++] = suffix;
    }
  end = ret_starts[n - 1] + strlen (ret_starts[n - 1]);
  for (guint i = n; i-- > 0;)
    {
      h = hash_back (h, ret_starts[i], end);
      ret_hashes[i] = h;
      end = ret_starts[i];
    }
  return n;
}

TrellisMatcher *
trellis_matcher_new (void)
{
  TrellisMatcher *matcher = g_new0 (TrellisMatcher, 1);

  matcher->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return matcher;
}

void
trellis_matcher_free (TrellisMatcher *matcher)
{
  if (matcher == NULL)
    return;
  g_hash_table_unref (matcher->domains);
  g_free (matcher);
}

gboolean
trellis_matcher_insert (TrellisMatcher *matcher,
                        const char *domain,
                        guint rule_id,
                        guint *ret_existing_id)
{
  gpointer existing;

  g_return_val_if_fail (matcher != NULL, FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);

  if (g_hash_table_lookup_extended (matcher->domains, domain, NULL, &existing))
    {
      if (ret_existing_id != NULL)
        *ret_existing_id = GPOINTER_TO_UINT (existing);
      return FALSE;
    }
  g_hash_table_insert (matcher->domains, g_strdup (domain), GUINT_TO_POINTER (rule_id));
  {
    guint a, b;

    bloom_bits (hash_back (HASH_SEED, domain, domain + strlen (domain)), &a, &b);
    matcher->bloom[a / 64] |= G_GUINT64_CONSTANT (1) << (a % 64);
    matcher->bloom[b / 64] |= G_GUINT64_CONSTANT (1) << (b % 64);
  }
  return TRUE;
}

gboolean
trellis_matcher_lookup_exact (const TrellisMatcher *matcher,
                              const char *domain,
                              guint *ret_rule_id)
{
  gpointer id;

  if (matcher == NULL || domain == NULL)
    return FALSE;
  if (!g_hash_table_lookup_extended (matcher->domains, domain, NULL, &id))
    return FALSE;
  if (ret_rule_id != NULL)
    *ret_rule_id = GPOINTER_TO_UINT (id);
  return TRUE;
}

const char *
trellis_matcher_next_suffix (const char *name)
{
  const char *p;

  for (p = name; *p != '\0'; p++)
    {
      if (*p == '\\')
        {
          /* "\." and "\\" are one escaped octet; "\DDD" has only digits. */
          if (p[1] == '\0')
            return NULL;
          p++;
        }
      else if (*p == '.')
        return p[1] != '\0' ? p + 1 : NULL;
    }
  return NULL;
}

/* trellis_matcher_lookup() with the suffixes hashed already. */
static gboolean
lookup_hashed (const TrellisMatcher *matcher,
               const char *const *starts,
               const guint64 *hashes,
               guint n,
               guint *ret_rule_id)
{
  if (matcher == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (bloom_maybe (matcher, hashes[i])
        && trellis_matcher_lookup_exact (matcher, starts[i], ret_rule_id))
      return TRUE;
  return FALSE;
}

gboolean
trellis_matcher_lookup (const TrellisMatcher *matcher,
                        const char *name,
                        guint *ret_rule_id)
{
  const char *starts[SUFFIXES_MAX];
  guint64 hashes[SUFFIXES_MAX];
  const char *suffix;
  guint n;

  if (matcher == NULL || name == NULL)
    return FALSE;
  if (*name != '\0' && (n = suffixes_hash (name, starts, hashes)) > 0)
    return lookup_hashed (matcher, starts, hashes, n, ret_rule_id);
  for (suffix = name; suffix != NULL; suffix = trellis_matcher_next_suffix (suffix))
    if (trellis_matcher_lookup_exact (matcher, suffix, ret_rule_id))
      return TRUE;
  return FALSE;
}

guint
trellis_matcher_decide (const TrellisMatcher *helplines,
                        const TrellisMatcher *rules,
                        const TrellisMatcher *integrity,
                        const char *name)
{
  const char *starts[SUFFIXES_MAX];
  guint64 hashes[SUFFIXES_MAX];
  const char *suffix;
  guint id, n;

  if (name == NULL || *name == '\0')
    return 0;

  n = suffixes_hash (name, starts, hashes);
  if (n > 0)
    {
      if (lookup_hashed (helplines, starts, hashes, n, &id))
        return id;
      for (guint i = 0; i < n; i++)
        {
          if (rules != NULL && bloom_maybe (rules, hashes[i])
              && trellis_matcher_lookup_exact (rules, starts[i], &id))
            return id;
          if (integrity != NULL && bloom_maybe (integrity, hashes[i])
              && trellis_matcher_lookup_exact (integrity, starts[i], &id))
            return id;
        }
      return 0;
    }

  if (trellis_matcher_lookup (helplines, name, &id))
    return id;

  for (suffix = name; suffix != NULL; suffix = trellis_matcher_next_suffix (suffix))
    {
      if (trellis_matcher_lookup_exact (rules, suffix, &id))
        return id;
      if (trellis_matcher_lookup_exact (integrity, suffix, &id))
        return id;
    }
  return 0;
}
