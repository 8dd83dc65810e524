/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * domain-index.c — the compiled domain index (see domain-index.h).
 *
 * File layout, every integer little-endian:
 *
 *   0   char    magic[8]        "TRLSDIX\0"
 *   8   u32     version         TRELLIS_DOMAIN_INDEX_FORMAT_VERSION
 *   12  u32     header_size     64
 *   16  u64     seed            keys the name hash
 *   24  u32     n_entries       distinct names
 *   28  u32     n_buckets       >= 1
 *   32  u32     n_values        distinct (category bits, rule id) pairs
 *   36  u32     reserved        0
 *   40  u64     buckets_offset  64
 *   48  u64     values_offset   buckets_offset + 64 * n_buckets
 *   56  u64     checksum        of bytes [0, 56) then [64, end)
 *   64  bucket  buckets[n_buckets]
 *       u32[2]  values[n_values] (category bits, rule id)
 *
 * A bucket is one cache line: five 64-bit name hashes (0 = empty slot), the
 * five value indexes, and a word of flags whose bit 0 ("overflow") says that
 * some name whose first bucket this is lives in its second bucket; a miss
 * reads the second bucket only then.
 */
#include <errno.h>
#include <string.h>

#include "policy/domain-index.h"

#define MAGIC            "TRLSDIX"
#define HEADER_SIZE      64
#define SLOTS            5
#define BUCKET_OVERFLOW  1u
#define MAX_NAME         253 /* an entry, in presentation form */
#define MAX_LABEL        63
#define MAX_QUERY        1024 /* a query name, escapes included */
#define MAX_QUERY_LABELS 128
#define MAX_ENTRIES      (1u << 31)
#define LOAD_FACTOR      0.93
#define MAX_KICKS        500
#define MAX_ATTEMPTS     64
#define PIPELINE         8 /* queries in flight in lookup_many */

/* clang-format off */  /* the quark's name is one word, with its dashes */
G_DEFINE_QUARK (trellis-domain-index-error-quark, trellis_domain_index_error)
/* clang-format on */

typedef struct
{
  guint64 fp[SLOTS];
  guint32 val[SLOTS];
  guint32 flags;
} Bucket;

G_STATIC_ASSERT (sizeof (Bucket) == 64);

typedef struct
{
  char magic[8];
  guint32 version;
  guint32 header_size;
  guint64 seed;
  guint32 n_entries;
  guint32 n_buckets;
  guint32 n_values;
  guint32 reserved;
  guint64 buckets_offset;
  guint64 values_offset;
  guint64 checksum;
} Header;

G_STATIC_ASSERT (sizeof (Header) == HEADER_SIZE);
G_STATIC_ASSERT (G_STRUCT_OFFSET (Header, checksum) == 56);

/* The keys of the name hash, derived from the seed. */
typedef struct
{
  guint64 root;
  guint64 k1;
  guint64 k2;
  guint64 k3;
} HashKeys;

typedef struct
{
  guint32 name_offset; /* into names */
  guint32 category_bits;
  guint32 rule_id;
} BuilderEntry;

struct _TrellisDomainIndexBuilder {
  GByteArray *names;      /* (owned) NUL-terminated names, back to back */
  GArray *entries;        /* (owned) BuilderEntry */
  guint64 seed;           /* the seed the first attempt uses */
  guint64 seed_used;      /* the seed of the last image made */
  GPtrArray *watch;       /* (owned) (nullable) normalized names whose subtrees are counted */
  guint32 n_watched;      /* of the last image made */
  guint32 bit_counts[32]; /* of the last image made: distinct names with each bit */
};

struct _TrellisDomainIndex {
  gatomicrefcount ref_count;
  GBytes *bytes;         /* (owned) the image: mapped file or memory */
  const Bucket *buckets; /* into bytes */
  const guint32 *values; /* into bytes: pairs */
  guint32 n_buckets;
  guint32 n_entries;
  guint32 n_values;
  guint64 seed;
  guint64 checksum;
  HashKeys keys;
};

/* ------------------------------------------------------------------------ */
/* Hashing */

static inline guint64
mum (guint64 a,
     guint64 b)
{
#ifdef __SIZEOF_INT128__
  unsigned __int128 r = (unsigned __int128) a * b;

  return (guint64) r ^ (guint64) (r >> 64);
#else
  guint64 ha = a >> 32, la = a & 0xffffffffu, hb = b >> 32, lb = b & 0xffffffffu;
  guint64 rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
  guint64 t = rl + (rm0 << 32), lo, hi;
  guint64 c = t < rl;

  lo = t + (rm1 << 32);
  c += lo < t;
  hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
  return lo ^ hi;
#endif
}

static inline guint64
rotl64 (guint64 x,
        int r)
{
  return (x << r) | (x >> (64 - r));
}

static guint64
splitmix (guint64 x)
{
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static void
hash_keys_init (HashKeys *keys,
                guint64 seed)
{
  keys->root = splitmix (seed);
  keys->k1 = splitmix (seed + 1) | 1;
  keys->k2 = splitmix (seed + 2) | 1;
  keys->k3 = splitmix (seed + 3) | 1;
}

static inline guint64
load64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

/* The first @n (0–8) bytes at @p; reads 8 bytes. */
static inline guint64
load_partial (const guint8 *p,
              gsize n)
{
  if (n >= 8)
    return load64 (p);
  if (n == 0)
    return 0;
  return load64 (p) & ((G_GUINT64_CONSTANT (1) << (8 * n)) - 1);
}

/*
 * Extends @h, the hash of a suffix, by the label at @p to its left.  @p is
 * followed by at least 16 readable bytes past @len.
 */
static inline guint64
label_hash (const HashKeys *keys,
            guint64 h,
            const guint8 *p,
            gsize len)
{
  gsize rest = len;

  while (rest > 16)
    {
      h = mum (load64 (p) ^ keys->k1 ^ h, load64 (p + 8) ^ keys->k2) + rotl64 (h, 29);
      p += 16;
      rest -= 16;
    }
  h = mum (load_partial (p, MIN (rest, 8)) ^ keys->k1 ^ h,
           load_partial (p + 8, rest > 8 ? rest - 8 : 0) ^ keys->k2 ^ (len * keys->k3))
      + rotl64 (h, 29);
  return h != 0 ? h : 1;
}

static inline guint32
bucket_first (guint64 h,
              guint32 n_buckets)
{
  return (guint32) (((h >> 32) * (guint64) n_buckets) >> 32);
}

static inline guint32
bucket_second (guint64 h,
               guint32 n_buckets,
               guint32 first)
{
  guint32 b = (guint32) (((h & 0xffffffffu) * (guint64) n_buckets) >> 32);

  if (b == first)
    b = first + 1 == n_buckets ? 0 : first + 1;
  return b;
}

/* A name byte: its lower-case form, or CLASS_BAD when no entry can hold it;
 * CLASS_END for NUL, CLASS_DOT for ".", CLASS_ESCAPE for a backslash. */
#define CLASS_BAD    0
#define CLASS_END    1
#define CLASS_DOT    2
#define CLASS_ESCAPE 3
/* clang-format off */  /* a table, in rows of 16 */
static const guint8 name_class[256] = {
    1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  45,   2,   0,
   48,  49,  50,  51,  52,  53,  54,  55,  56,  57,   0,   0,   0,   0,   0,   0,
    0,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
  112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0,   3,   0,   0,  95,
    0,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
  112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Checksum: four xxhash-style lanes over 64-bit words. */

#define CK_P1 G_GUINT64_CONSTANT (0x9e3779b185ebca87)
#define CK_P2 G_GUINT64_CONSTANT (0xc2b2ae3d27d4eb4f)
#define CK_P3 G_GUINT64_CONSTANT (0x165667b19e3779f9)

static inline guint64
ck_round (guint64 acc,
          guint64 word)
{
  return rotl64 (acc + word * CK_P2, 31) * CK_P1;
}

static guint64
checksum_update (guint64 state,
                 const guint8 *p,
                 gsize len)
{
  guint64 v[4] = { state + CK_P1, state ^ CK_P2, state + CK_P3, state - CK_P1 };
  guint64 h;
  gsize i;

  while (len >= 32)
    {
      for (i = 0; i < 4; i++)
        v[i] = ck_round (v[i], load64 (p + 8 * i));
      p += 32;
      len -= 32;
    }
  h = rotl64 (v[0], 1) + rotl64 (v[1], 7) + rotl64 (v[2], 12) + rotl64 (v[3], 18);
  while (len >= 8)
    {
      h = ck_round (h, load64 (p));
      p += 8;
      len -= 8;
    }
  while (len > 0)
    {
      h = rotl64 (h ^ (*p * CK_P3), 11) * CK_P1;
      p++;
      len--;
    }
  h ^= h >> 33;
  h *= CK_P2;
  h ^= h >> 29;
  return h;
}

static guint64
image_checksum (const guint8 *image,
                gsize size)
{
  guint64 state = checksum_update (0, image, G_STRUCT_OFFSET (Header, checksum));

  return checksum_update (state, image + HEADER_SIZE, size - HEADER_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Builder */

TrellisDomainIndexBuilder *
trellis_domain_index_builder_new (void)
{
  TrellisDomainIndexBuilder *builder = g_new0 (TrellisDomainIndexBuilder, 1);

  builder->names = g_byte_array_new ();
  builder->entries = g_array_new (FALSE, FALSE, sizeof (BuilderEntry));
  builder->seed = G_GUINT64_CONSTANT (0x7472656c6c697321); /* "trellis!" */
  return builder;
}

void
trellis_domain_index_builder_free (TrellisDomainIndexBuilder *builder)
{
  if (builder == NULL)
    return;
  g_byte_array_unref (builder->names);
  g_array_unref (builder->entries);
  g_clear_pointer (&builder->watch, g_ptr_array_unref);
  g_free (builder);
}

guint
trellis_domain_index_builder_get_n_added (const TrellisDomainIndexBuilder *builder)
{
  g_return_val_if_fail (builder != NULL, 0);
  return builder->entries->len;
}

static gboolean
name_is_normalized (const char *name,
                    gsize *ret_len)
{
  gsize i, label = 0;

  for (i = 0; name[i] != '\0'; i++)
    {
      guint8 c = (guint8) name[i];

      if (i >= MAX_NAME)
        return FALSE;
      if (c == '.')
        {
          if (label == 0)
            return FALSE;
          label = 0;
          continue;
        }
      if (c < 4 || name_class[c] != c || ++label > MAX_LABEL)
        return FALSE;
    }
  if (label == 0)
    return FALSE; /* empty, or a trailing dot */
  *ret_len = i;
  return TRUE;
}

gboolean
trellis_domain_index_builder_add (TrellisDomainIndexBuilder *builder,
                                  const char *normalized_name,
                                  guint32 category_bits,
                                  guint32 rule_id,
                                  GError **error)
{
  BuilderEntry entry;
  gsize len;

  g_return_val_if_fail (builder != NULL, FALSE);
  g_return_val_if_fail (normalized_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!name_is_normalized (normalized_name, &len))
    {
      g_autofree char *shown = g_strescape (normalized_name, NULL);

      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME,
                   "“%.300s” is not a normalized domain name (lower-case labels of "
                   "1–63 letters, digits, “-” or “_”, no trailing dot, at most 253 bytes)",
                   shown);
      return FALSE;
    }
  if (builder->entries->len >= MAX_ENTRIES
      || builder->names->len > G_MAXUINT32 - (len + 1))
    {
      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE,
                   "The domain index holds at most %u names", MAX_ENTRIES);
      return FALSE;
    }

  entry.name_offset = builder->names->len;
  entry.category_bits = category_bits;
  entry.rule_id = rule_id;
  g_byte_array_append (builder->names, (const guint8 *) normalized_name, len + 1);
  g_array_append_val (builder->entries, entry);
  return TRUE;
}

typedef struct
{
  Bucket *buckets;
  guint32 n_buckets;
  guint64 rng;
  gboolean keep_flags; /* set overflow flags as names are placed (a patch);
                           * otherwise they are set once at the end */
} Table;

/* @h was put in bucket @b: flag its first bucket if @b is its second. */
static inline void
table_placed (Table *table,
              guint32 b,
              guint64 h)
{
  guint32 first;

  if (!table->keep_flags)
    return;
  first = bucket_first (h, table->n_buckets);
  if (first != b)
    table->buckets[first].flags |= BUCKET_OVERFLOW;
}

static inline guint64
table_rng (Table *table)
{
  table->rng ^= table->rng << 13;
  table->rng ^= table->rng >> 7;
  table->rng ^= table->rng << 17;
  return table->rng;
}

static gboolean
bucket_place (Bucket *bucket,
              guint64 h,
              guint32 val)
{
  guint i;

  for (i = 0; i < SLOTS; i++)
    if (bucket->fp[i] == 0)
      {
        bucket->fp[i] = h;
        bucket->val[i] = val;
        return TRUE;
      }
  return FALSE;
}

/* Returns: the slot holding @h as bucket * SLOTS + slot, or -1. */
static gint64
table_find (const Table *table,
            guint64 h)
{
  guint32 b1 = bucket_first (h, table->n_buckets);
  guint32 b2 = bucket_second (h, table->n_buckets, b1);
  guint i;

  for (i = 0; i < SLOTS; i++)
    {
      if (table->buckets[b1].fp[i] == h)
        return (gint64) b1 * SLOTS + i;
      if (table->n_buckets > 1 && table->buckets[b2].fp[i] == h)
        return (gint64) b2 * SLOTS + i;
    }
  return -1;
}

/* Cuckoo insertion.  Returns: FALSE when the table is too full (an entry was
 * lost on the way: the caller starts again with more buckets). */
static gboolean
table_insert (Table *table,
              guint64 h,
              guint32 val)
{
  guint32 b1 = bucket_first (h, table->n_buckets);
  guint32 b2 = bucket_second (h, table->n_buckets, b1);
  guint32 b;
  guint kick;

  if (bucket_place (&table->buckets[b1], h, val))
    return TRUE;
  if (table->n_buckets == 1)
    return FALSE;
  if (bucket_place (&table->buckets[b2], h, val))
    {
      table_placed (table, b2, h);
      return TRUE;
    }

  b = (table_rng (table) & 1) ? b1 : b2;
  for (kick = 0; kick < MAX_KICKS; kick++)
    {
      guint slot = (guint) (table_rng (table) % SLOTS);
      guint64 evicted_h = table->buckets[b].fp[slot];
      guint32 evicted_val = table->buckets[b].val[slot];
      guint32 e1;

      table->buckets[b].fp[slot] = h;
      table->buckets[b].val[slot] = val;
      table_placed (table, b, h);
      h = evicted_h;
      val = evicted_val;
      e1 = bucket_first (h, table->n_buckets);
      b = (b == e1) ? bucket_second (h, table->n_buckets, e1) : e1;
      if (bucket_place (&table->buckets[b], h, val))
        {
          table_placed (table, b, h);
          return TRUE;
        }
    }
  return FALSE;
}

typedef enum {
  FILL_OK,
  FILL_FULL,
  FILL_COLLISION,
} FillResult;

/* A small open-addressing set of 64-bit hashes (0 is never a hash). */
typedef struct
{
  guint64 *slots;
  guint64 mask;
} HashSet;

static void
hash_set_init (HashSet *set,
               guint n)
{
  guint64 size = 16;

  while (size < 2 * (guint64) n + 2)
    size *= 2;
  set->slots = g_new0 (guint64, size);
  set->mask = size - 1;
}

static void
hash_set_add (HashSet *set,
              guint64 h)
{
  guint64 i = h & set->mask;

  while (set->slots[i] != 0 && set->slots[i] != h)
    i = (i + 1) & set->mask;
  set->slots[i] = h;
}

static inline gboolean
hash_set_contains (const HashSet *set,
                   guint64 h)
{
  guint64 i = h & set->mask;

  while (set->slots[i] != 0)
    {
      if (set->slots[i] == h)
        return TRUE;
      i = (i + 1) & set->mask;
    }
  return FALSE;
}

/* The hash of a whole normalized name, as a lookup computes it, and
 * whether a suffix of it (or all of it) is in @watch (nullable). */
static guint64
name_hash_watched (const HashKeys *keys,
                   const char *name,
                   const HashSet *watch,
                   gboolean *ret_watched)
{
  guint8 buf[MAX_NAME + 1 + 16] = { 0 };
  gsize len = strlen (name);
  gsize end = len;
  gsize i;
  guint64 h = keys->root;
  gboolean watched = FALSE;

  memcpy (buf, name, len);
  for (i = len; i > 0; i--)
    {
      if (buf[i - 1] == '.')
        {
          h = label_hash (keys, h, buf + i, end - i);
          if (watch != NULL && hash_set_contains (watch, h))
            watched = TRUE;
          end = i - 1;
        }
    }
  h = label_hash (keys, h, buf, end);
  if (watch != NULL && hash_set_contains (watch, h))
    watched = TRUE;
  *ret_watched = watched;
  return h;
}

/* The hash of a whole normalized name, as a lookup computes it. */
static guint64
name_hash (const HashKeys *keys,
           const char *name)
{
  gboolean watched;

  return name_hash_watched (keys, name, NULL, &watched);
}

#define FILL_AHEAD 8 /* names hashed (and their buckets fetched) ahead of their insertion */

/*
 * Fills @table with every entry of @builder.  A repeated name merges into
 * the entry seen first, in place (bits ORed, the lower rule id kept: both
 * idempotent, so an attempt that starts again merges the same way).  Slots
 * hold entry indexes.  @ret_n_watched: the distinct names on or below a
 * name of the builder's watch list.
 */
static FillResult
table_fill (Table *table,
            TrellisDomainIndexBuilder *builder,
            const HashKeys *keys,
            guint32 *ret_n_unique,
            guint32 *ret_n_watched)
{
  BuilderEntry *entries = (BuilderEntry *) (gpointer) builder->entries->data;
  const char *names = (const char *) builder->names->data;
  guint32 n = builder->entries->len;
  guint32 n_unique = 0, n_watched = 0;
  guint64 ahead[FILL_AHEAD];
  gboolean ahead_watched[FILL_AHEAD];
  HashSet watch = { NULL, 0 };
  guint32 i;

  if (builder->watch != NULL && builder->watch->len > 0)
    {
      hash_set_init (&watch, builder->watch->len);
      for (i = 0; i < builder->watch->len; i++)
        hash_set_add (&watch, name_hash (keys, g_ptr_array_index (builder->watch, i)));
    }

  for (i = 0; i < n + FILL_AHEAD; i++)
    {
      guint slot = i % FILL_AHEAD;

      if (i >= FILL_AHEAD)
        {
          guint32 e = i - FILL_AHEAD;
          guint64 h = ahead[slot];
          gint64 found = table_find (table, h);

          if (found >= 0)
            {
              guint32 other = table->buckets[found / SLOTS].val[found % SLOTS];

              if (strcmp (names + entries[other].name_offset, names + entries[e].name_offset) != 0)
                {
                  g_free (watch.slots);
                  return FILL_COLLISION;
                }
              entries[other].category_bits |= entries[e].category_bits;
              entries[other].rule_id = MIN (entries[other].rule_id, entries[e].rule_id);
            }
          else
            {
              if (!table_insert (table, h, e))
                {
                  g_free (watch.slots);
                  return FILL_FULL;
                }
              n_unique++;
              n_watched += ahead_watched[slot];
            }
        }
      if (i < n)
        {
          guint64 h = name_hash_watched (keys, names + entries[i].name_offset,
                                         watch.slots != NULL ? &watch : NULL,
                                         &ahead_watched[slot]);
          guint32 b1 = bucket_first (h, table->n_buckets);

          ahead[slot] = h;
          __builtin_prefetch (&table->buckets[b1], 1);
          __builtin_prefetch (&table->buckets[bucket_second (h, table->n_buckets, b1)], 1);
        }
    }
  g_free (watch.slots);
  *ret_n_unique = n_unique;
  *ret_n_watched = n_watched;
  return FILL_OK;
}

/* The distinct (category bits, rule id) pairs, in order of first use. */
typedef struct
{
  GArray *pairs;     /* (owned) guint32 pairs, little-endian */
  GHashTable *index; /* (owned) packed (owned) → value index + 1 */
  guint64 last_packed;
  guint32 last_index;
  gboolean have_last;
} ValueTable;

static void
value_table_init (ValueTable *values)
{
  values->pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  values->index = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  values->have_last = FALSE;
}

static void
value_table_clear (ValueTable *values)
{
  g_clear_pointer (&values->pairs, g_array_unref);
  g_clear_pointer (&values->index, g_hash_table_unref);
}

static guint32
value_table_get (ValueTable *values,
                 guint32 category_bits,
                 guint32 rule_id)
{
  guint64 packed = ((guint64) category_bits << 32) | rule_id;
  gpointer found;

  if (values->have_last && packed == values->last_packed)
    return values->last_index;
  found = g_hash_table_lookup (values->index, &packed);
  if (found == NULL)
    {
      guint32 pair[2] = { GUINT32_TO_LE (category_bits), GUINT32_TO_LE (rule_id) };
      guint64 *key = g_memdup2 (&packed, sizeof packed);

      values->last_index = values->pairs->len / 2;
      g_array_append_vals (values->pairs, pair, 2);
      g_hash_table_insert (values->index, key, GUINT_TO_POINTER (values->last_index + 1));
    }
  else
    values->last_index = GPOINTER_TO_UINT (found) - 1;
  values->last_packed = packed;
  values->have_last = TRUE;
  return values->last_index;
}

/* Sets every bucket's overflow flag from where its names are: a name that
 * lives in its second bucket flags its first. */
static void
table_set_overflow (Bucket *buckets,
                    guint32 n_buckets)
{
  guint32 b;

  for (b = 0; b < n_buckets; b++)
    buckets[b].flags = 0;
  for (b = 0; b < n_buckets; b++)
    {
      guint s;

      for (s = 0; s < SLOTS; s++)
        {
          guint64 h = buckets[b].fp[s];

          if (h != 0 && bucket_first (h, n_buckets) != b)
            buckets[bucket_first (h, n_buckets)].flags |= BUCKET_OVERFLOW;
        }
    }
}

/*
 * The file image: the header, @buckets (host order, overflow flags set;
 * they are converted to little-endian in place) and @values after them.
 * Takes @image, which holds the header's room and the buckets.
 */
static GBytes *
image_finish (guint8 *image,
              guint32 n_buckets,
              guint64 seed,
              guint32 n_entries,
              GArray *values)
{
  Bucket *buckets = (Bucket *) (gpointer) (image + HEADER_SIZE);
  guint64 values_offset = HEADER_SIZE + (guint64) n_buckets * sizeof (Bucket);
  guint64 total = values_offset + (guint64) values->len * sizeof (guint32);
  Header header;

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  for (guint32 b = 0; b < n_buckets; b++)
    {
      Bucket *bucket = &buckets[b];
      guint s;

      for (s = 0; s < SLOTS; s++)
        {
          bucket->fp[s] = GUINT64_TO_LE (bucket->fp[s]);
          bucket->val[s] = GUINT32_TO_LE (bucket->val[s]);
        }
      bucket->flags = GUINT32_TO_LE (bucket->flags);
    }
#else
  (void) buckets;
#endif

  image = g_realloc (image, total);
  if (values->len > 0)
    memcpy (image + values_offset, values->data, values->len * sizeof (guint32));

  memset (&header, 0, sizeof header);
  memcpy (header.magic, MAGIC, sizeof header.magic);
  header.version = GUINT32_TO_LE (TRELLIS_DOMAIN_INDEX_FORMAT_VERSION);
  header.header_size = GUINT32_TO_LE (HEADER_SIZE);
  header.seed = GUINT64_TO_LE (seed);
  header.n_entries = GUINT32_TO_LE (n_entries);
  header.n_buckets = GUINT32_TO_LE (n_buckets);
  header.n_values = GUINT32_TO_LE (values->len / 2);
  header.buckets_offset = GUINT64_TO_LE (HEADER_SIZE);
  header.values_offset = GUINT64_TO_LE (values_offset);
  memcpy (image, &header, sizeof header);
  header.checksum = GUINT64_TO_LE (image_checksum (image, total));
  memcpy (image, &header, sizeof header);
  return g_bytes_new_take (image, total);
}

GBytes *
trellis_domain_index_builder_to_bytes (TrellisDomainIndexBuilder *builder,
                                       GError **error)
{
  const BuilderEntry *entries;
  guint32 n;
  g_autofree guint8 *image = NULL;
  ValueTable values;
  guint64 seed;
  guint32 n_buckets;
  guint32 n_unique = 0, n_watched = 0;
  Table table;
  guint attempt;
  guint32 b;
  GBytes *bytes;

  g_return_val_if_fail (builder != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entries = (const BuilderEntry *) (gpointer) builder->entries->data;
  n = builder->entries->len;
  seed = builder->seed;
  n_buckets = (guint32) MAX (1.0, (double) n / (SLOTS * LOAD_FACTOR) + 1.0);

  for (attempt = 0;; attempt++)
    {
      FillResult result;
      HashKeys keys;

      if (attempt == MAX_ATTEMPTS)
        {
          g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE,
                       "Could not lay out %u names in the domain index", n);
          return NULL;
        }
      g_free (image);
      image = g_malloc0 (HEADER_SIZE + (guint64) n_buckets * sizeof (Bucket));
      table.buckets = (Bucket *) (gpointer) (image + HEADER_SIZE);
      table.n_buckets = n_buckets;
      table.rng = seed | 1;
      table.keep_flags = FALSE;
      hash_keys_init (&keys, seed);

      result = table_fill (&table, builder, &keys, &n_unique, &n_watched);
      if (result == FILL_OK)
        break;
      if (result == FILL_COLLISION)
        seed = splitmix (seed);
      else
        n_buckets = n_buckets + n_buckets / 16 + 1;
    }

  /* Slots: entry index → value index (repeats were merged into the entry
   * seen first). */
  value_table_init (&values);
  memset (builder->bit_counts, 0, sizeof builder->bit_counts);
  for (b = 0; b < n_buckets; b++)
    {
      Bucket *bucket = &table.buckets[b];
      guint s;

      for (s = 0; s < SLOTS; s++)
        if (bucket->fp[s] != 0)
          {
            const BuilderEntry *entry = &entries[bucket->val[s]];
            guint32 bits = entry->category_bits;

            bucket->val[s] = value_table_get (&values, entry->category_bits, entry->rule_id);
            while (bits != 0)
              {
                builder->bit_counts[g_bit_nth_lsf (bits, -1)]++;
                bits &= bits - 1;
              }
          }
    }
  table_set_overflow (table.buckets, n_buckets);

  builder->n_watched = n_watched;
  builder->seed_used = seed;
  bytes = image_finish (g_steal_pointer (&image), n_buckets, seed, n_unique, values.pairs);
  value_table_clear (&values);
  return bytes;
}

void
trellis_domain_index_builder_set_watch (TrellisDomainIndexBuilder *builder,
                                        const char *const *names)
{
  g_return_if_fail (builder != NULL);

  g_clear_pointer (&builder->watch, g_ptr_array_unref);
  if (names == NULL)
    return;
  builder->watch = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i] != NULL; i++)
    {
      gsize len;

      if (name_is_normalized (names[i], &len))
        g_ptr_array_add (builder->watch, g_strdup (names[i]));
    }
}

void
trellis_domain_index_builder_get_bit_counts (const TrellisDomainIndexBuilder *builder,
                                             guint32 ret_counts[32])
{
  g_return_if_fail (builder != NULL);
  memcpy (ret_counts, builder->bit_counts, sizeof builder->bit_counts);
}

guint
trellis_domain_index_builder_get_n_watched (const TrellisDomainIndexBuilder *builder)
{
  g_return_val_if_fail (builder != NULL, 0);
  return builder->n_watched;
}

void
trellis_domain_index_builder_set_seed (TrellisDomainIndexBuilder *builder,
                                       guint64 seed)
{
  g_return_if_fail (builder != NULL);
  builder->seed = seed != 0 ? seed : G_GUINT64_CONSTANT (0x7472656c6c697321);
}


gboolean
trellis_domain_index_builder_write (TrellisDomainIndexBuilder *builder,
                                    const char *path,
                                    GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize size;
  const guint8 *data;

  g_return_val_if_fail (builder != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  bytes = trellis_domain_index_builder_to_bytes (builder, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  /* A temporary file in the same directory, renamed over @path. */
  if (!g_file_set_contents_full (path, (const char *) data, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_IO,
                   "Could not write the domain index: %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Reader */

static gboolean
corrupt (GError **error,
         const char *what)
{
  g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT,
               "The domain index is corrupt: %s", what);
  return FALSE;
}

/* Checks everything a lookup relies on; fills @index's views. */
static gboolean
index_validate (TrellisDomainIndex *index,
                const guint8 *image,
                gsize size,
                GError **error)
{
  Header header;
  guint64 buckets_end;
  guint64 n_used = 0;
  guint32 b;

  if (size < HEADER_SIZE)
    return corrupt (error, "shorter than its header");
  memcpy (&header, image, sizeof header);
  if (memcmp (header.magic, MAGIC, sizeof header.magic) != 0)
    return corrupt (error, "not a domain index (bad magic)");
  if (GUINT32_FROM_LE (header.version) != TRELLIS_DOMAIN_INDEX_FORMAT_VERSION)
    {
      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_VERSION,
                   "The domain index has format version %u; this program reads version %u: "
                   "compile the policy again",
                   GUINT32_FROM_LE (header.version), TRELLIS_DOMAIN_INDEX_FORMAT_VERSION);
      return FALSE;
    }
  if (GUINT32_FROM_LE (header.header_size) != HEADER_SIZE || header.reserved != 0)
    return corrupt (error, "bad header size");

  index->n_buckets = GUINT32_FROM_LE (header.n_buckets);
  index->n_entries = GUINT32_FROM_LE (header.n_entries);
  index->n_values = GUINT32_FROM_LE (header.n_values);
  if (index->n_buckets == 0)
    return corrupt (error, "no buckets");
  if (GUINT64_FROM_LE (header.buckets_offset) != HEADER_SIZE)
    return corrupt (error, "bucket section offset out of range");
  buckets_end = HEADER_SIZE + (guint64) index->n_buckets * sizeof (Bucket);
  if (GUINT64_FROM_LE (header.values_offset) != buckets_end || buckets_end > size)
    return corrupt (error, "value section offset out of range");
  if (buckets_end + (guint64) index->n_values * 2 * sizeof (guint32) != size)
    return corrupt (error, "size does not match its sections");
  if ((guint64) index->n_entries > (guint64) index->n_buckets * SLOTS)
    return corrupt (error, "more entries than slots");
  if (image_checksum (image, size) != GUINT64_FROM_LE (header.checksum))
    return corrupt (error, "checksum mismatch");

  index->buckets = (const Bucket *) (gconstpointer) (image + HEADER_SIZE);
  index->values = (const guint32 *) (gconstpointer) (image + buckets_end);
  index->seed = GUINT64_FROM_LE (header.seed);
  index->checksum = GUINT64_FROM_LE (header.checksum);
  hash_keys_init (&index->keys, index->seed);

  /* Every slot a lookup can reach must point inside the value table. */
  for (b = 0; b < index->n_buckets; b++)
    {
      const Bucket *bucket = &index->buckets[b];
      guint s;

      if ((GUINT32_FROM_LE (bucket->flags) & ~BUCKET_OVERFLOW) != 0)
        return corrupt (error, "unknown bucket flags");
      for (s = 0; s < SLOTS; s++)
        {
          if (bucket->fp[s] == 0)
            continue;
          n_used++;
          if (GUINT32_FROM_LE (bucket->val[s]) >= index->n_values)
            return corrupt (error, "value index out of range");
        }
    }
  if (n_used != index->n_entries)
    return corrupt (error, "entry count does not match the table");
  return TRUE;
}

TrellisDomainIndex *
trellis_domain_index_new_from_bytes (GBytes *bytes,
                                     GError **error)
{
  g_autoptr(TrellisDomainIndex) index = NULL;
  const guint8 *data;
  gsize size;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  index = g_new0 (TrellisDomainIndex, 1);
  g_atomic_ref_count_init (&index->ref_count);
  data = g_bytes_get_data (bytes, &size);
  if (((guintptr) data % sizeof (guint64)) != 0)
    index->bytes = g_bytes_new (data, size); /* malloc'ed: aligned */
  else
    index->bytes = g_bytes_ref (bytes);
  data = g_bytes_get_data (index->bytes, &size);
  if (data == NULL)
    {
      corrupt (error, "empty");
      return NULL;
    }
  if (!index_validate (index, data, size, error))
    return NULL;
  return g_steal_pointer (&index);
}

TrellisDomainIndex *
trellis_domain_index_open (const char *path,
                           GError **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  TrellisDomainIndex *index;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_IO,
                   "Could not open the domain index: %s", local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  index = trellis_domain_index_new_from_bytes (bytes, &local_error);
  if (index == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return NULL;
    }
  return index;
}

TrellisDomainIndex *
trellis_domain_index_ref (TrellisDomainIndex *index)
{
  g_return_val_if_fail (index != NULL, NULL);
  g_atomic_ref_count_inc (&index->ref_count);
  return index;
}

void
trellis_domain_index_unref (TrellisDomainIndex *index)
{
  if (index == NULL)
    return;
  if (!g_atomic_ref_count_dec (&index->ref_count))
    return;
  g_bytes_unref (index->bytes);
  g_free (index);
}

guint
trellis_domain_index_get_n_entries (const TrellisDomainIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->n_entries;
}

gsize
trellis_domain_index_get_size (const TrellisDomainIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return g_bytes_get_size (index->bytes);
}

static inline gint
bucket_find (const Bucket *bucket,
             guint64 h_le)
{
  guint s;

  for (s = 0; s < SLOTS; s++)
    if (bucket->fp[s] == h_le)
      return (gint) s;
  return -1;
}

/* One query between hashing and comparing. */
typedef struct
{
  guint n_labels;
  guint first_matchable;           /* labels before it hold an escape or a strange byte */
  guint16 start[MAX_QUERY_LABELS]; /* into the name */
  guint64 hash[MAX_QUERY_LABELS];  /* of the suffix starting at each label */
  guint32 first[MAX_QUERY_LABELS]; /* its first bucket */
} Probe;

/*
 * Parses @name, hashes each suffix that could match and prefetches its
 * buckets.  Returns: FALSE when no suffix of @name can match.
 */
static gboolean
probe_prepare (const TrellisDomainIndex *index,
               const char *name,
               Probe *probe)
{
  guint8 buf[MAX_QUERY + 16];
  guint16 len[MAX_QUERY_LABELS];
  guint n_labels = 0;
  guint first_matchable = 0;
  gboolean label_ok = TRUE;
  gsize i = 0, label_start = 0;
  guint64 h;
  guint32 n_buckets = index->n_buckets;
  gint k;

  /* Fold @name into buf, byte for byte, and find its labels. */
  for (;;)
    {
      guint8 t;

      while (i < MAX_QUERY && (t = name_class[(guint8) name[i]]) > CLASS_ESCAPE)
        buf[i++] = t;
      if (i >= MAX_QUERY)
        return FALSE;
      switch (t)
        {
        case CLASS_BAD:
          label_ok = FALSE;
          buf[i++] = 0;
          break;

        case CLASS_ESCAPE:
          /* The next byte is data, never a separator. */
          label_ok = FALSE;
          buf[i] = '\\';
          if (name[i + 1] == '\0')
            return FALSE;
          buf[i + 1] = (guint8) name[i + 1];
          i += 2;
          break;

        default: /* CLASS_DOT, CLASS_END */
          if (i == label_start)
            {
              /* An empty label: only the root after a trailing dot is fine. */
              if (t == CLASS_END && n_labels > 0)
                goto parsed;
              return FALSE;
            }
          if (n_labels == MAX_QUERY_LABELS)
            return FALSE;
          if (!label_ok || i - label_start > MAX_LABEL)
            first_matchable = n_labels + 1;
          probe->start[n_labels] = (guint16) label_start;
          len[n_labels] = (guint16) (i - label_start);
          n_labels++;
          if (t == CLASS_END)
            goto parsed;
          buf[i++] = '.';
          label_start = i;
          label_ok = TRUE;
          break;
        }
    }
parsed:
  if (first_matchable >= n_labels)
    return FALSE;
  memset (buf + i, 0, 16);
  probe->n_labels = n_labels;
  probe->first_matchable = first_matchable;

  /* Hash every matchable suffix from the right; fetch its buckets early. */
  h = index->keys.root;
  for (k = (gint) n_labels - 1; k >= (gint) first_matchable; k--)
    {
      guint32 b;

      h = label_hash (&index->keys, h, buf + probe->start[k], len[k]);
      b = bucket_first (h, n_buckets);
      probe->hash[k] = h;
      probe->first[k] = b;
      __builtin_prefetch (&index->buckets[b]);
      __builtin_prefetch (&index->buckets[bucket_second (h, n_buckets, b)]);
    }
  return TRUE;
}

/* Compares a prepared probe, the longest suffix first.  Returns: the value
 * index of the match, or -1; @ret_label is the first label of the match. */
static gint64
probe_resolve (const TrellisDomainIndex *index,
               const Probe *probe,
               guint *ret_label)
{
  guint k;

  for (k = probe->first_matchable; k < probe->n_labels; k++)
    {
      guint64 h_le = GUINT64_TO_LE (probe->hash[k]);
      const Bucket *bucket = &index->buckets[probe->first[k]];
      gint s = bucket_find (bucket, h_le);

      if (s < 0 && (GUINT32_FROM_LE (bucket->flags) & BUCKET_OVERFLOW) != 0)
        {
          bucket = &index->buckets[bucket_second (probe->hash[k], index->n_buckets,
                                                  probe->first[k])];
          s = bucket_find (bucket, h_le);
        }
      if (s >= 0)
        {
          *ret_label = k;
          return GUINT32_FROM_LE (bucket->val[s]);
        }
    }
  return -1;
}

gboolean
trellis_domain_index_lookup (const TrellisDomainIndex *index,
                             const char *name,
                             guint32 *ret_category_bits,
                             guint32 *ret_rule_id,
                             const char **ret_matched_suffix)
{
  Probe probe;
  gint64 v;
  guint label;

  g_return_val_if_fail (index != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (!probe_prepare (index, name, &probe))
    return FALSE;
  v = probe_resolve (index, &probe, &label);
  if (v < 0)
    return FALSE;
  if (ret_category_bits != NULL)
    *ret_category_bits = GUINT32_FROM_LE (index->values[2 * v]);
  if (ret_rule_id != NULL)
    *ret_rule_id = GUINT32_FROM_LE (index->values[2 * v + 1]);
  if (ret_matched_suffix != NULL)
    *ret_matched_suffix = name + probe.start[label];
  return TRUE;
}

gsize
trellis_domain_index_lookup_many (const TrellisDomainIndex *index,
                                  const char *const *names,
                                  gsize n_names,
                                  TrellisDomainIndexMatch *ret_matches)
{
  Probe probes[PIPELINE];
  gboolean prepared[PIPELINE];
  gsize i, n_matched = 0;

  g_return_val_if_fail (index != NULL, 0);
  g_return_val_if_fail (names != NULL || n_names == 0, 0);
  g_return_val_if_fail (ret_matches != NULL || n_names == 0, 0);

  /* Query i is prepared PIPELINE queries before it is compared, so that
   * its buckets arrive while the others are hashed. */
  for (i = 0; i < n_names + PIPELINE; i++)
    {
      guint slot = i % PIPELINE;

      if (i >= PIPELINE)
        {
          TrellisDomainIndexMatch *match = &ret_matches[i - PIPELINE];
          gint64 v = -1;
          guint label = 0;

          if (prepared[slot])
            v = probe_resolve (index, &probes[slot], &label);
          if (v < 0)
            {
              match->matched = FALSE;
              match->category_bits = 0;
              match->rule_id = 0;
              match->suffix_offset = 0;
            }
          else
            {
              match->matched = TRUE;
              match->category_bits = GUINT32_FROM_LE (index->values[2 * v]);
              match->rule_id = GUINT32_FROM_LE (index->values[2 * v + 1]);
              match->suffix_offset = probes[slot].start[label];
              n_matched++;
            }
        }
      if (i < n_names)
        prepared[slot] = probe_prepare (index, names[i], &probes[slot]);
    }
  return n_matched;
}

/* ------------------------------------------------------------------------ */
/* Exact lookups and patches */

guint64
trellis_domain_index_get_seed (const TrellisDomainIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->seed;
}

gboolean
trellis_domain_index_image_peek (GBytes *image,
                                 guint64 *ret_seed,
                                 guint32 *ret_n_entries,
                                 guint64 *ret_checksum)
{
  Header header;
  gsize size;
  const guint8 *data = g_bytes_get_data (image, &size);

  if (data == NULL || size < HEADER_SIZE)
    return FALSE;
  memcpy (&header, data, sizeof header);
  if (memcmp (header.magic, MAGIC, sizeof header.magic) != 0
      || GUINT32_FROM_LE (header.version) != TRELLIS_DOMAIN_INDEX_FORMAT_VERSION)
    return FALSE;
  if (ret_seed != NULL)
    *ret_seed = GUINT64_FROM_LE (header.seed);
  if (ret_n_entries != NULL)
    *ret_n_entries = GUINT32_FROM_LE (header.n_entries);
  if (ret_checksum != NULL)
    *ret_checksum = GUINT64_FROM_LE (header.checksum);
  return TRUE;
}

guint64
trellis_domain_index_get_checksum (const TrellisDomainIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->checksum;
}

/* The slot of @h in @buckets (little-endian when @le) as bucket * SLOTS +
 * slot, or -1.  The second bucket is read only when the first's overflow
 * flag says some name of it lives there. */
static gint64
buckets_find (const Bucket *buckets,
              guint32 n_buckets,
              guint64 h,
              gboolean le)
{
  guint32 b1 = bucket_first (h, n_buckets);
  guint64 want = le ? GUINT64_TO_LE (h) : h;
  guint32 flags = le ? GUINT32_FROM_LE (buckets[b1].flags) : buckets[b1].flags;
  gint s = bucket_find (&buckets[b1], want);
  guint32 b2;

  if (s >= 0)
    return (gint64) b1 * SLOTS + s;
  if ((flags & BUCKET_OVERFLOW) == 0 || n_buckets == 1)
    return -1;
  b2 = bucket_second (h, n_buckets, b1);
  s = bucket_find (&buckets[b2], want);
  return s >= 0 ? (gint64) b2 * SLOTS + s : -1;
}

gboolean
trellis_domain_index_lookup_exact (const TrellisDomainIndex *index,
                                   const char *normalized_name,
                                   guint32 *ret_category_bits,
                                   guint32 *ret_rule_id)
{
  gsize len;
  gint64 slot;
  guint32 v;

  g_return_val_if_fail (index != NULL, FALSE);
  g_return_val_if_fail (normalized_name != NULL, FALSE);

  if (!name_is_normalized (normalized_name, &len))
    return FALSE;
  slot = buckets_find (index->buckets, index->n_buckets, name_hash (&index->keys, normalized_name), TRUE);
  if (slot < 0)
    return FALSE;
  v = GUINT32_FROM_LE (index->buckets[slot / SLOTS].val[slot % SLOTS]);
  if (v >= index->n_values)
    return FALSE;
  if (ret_category_bits != NULL)
    *ret_category_bits = GUINT32_FROM_LE (index->values[2 * v]);
  if (ret_rule_id != NULL)
    *ret_rule_id = GUINT32_FROM_LE (index->values[2 * v + 1]);
  return TRUE;
}

/* A patch stops taking names past this share of its slots: cuckoo
 * insertion gets slow, then fails, close to full. */
#define PATCH_MAX_LOAD 0.97

struct _TrellisDomainIndexPatch {
  guint8 *image; /* (owned) header room + buckets, host order */
  Table table;   /* into image */
  ValueTable values;
  guint32 n_entries;
  guint64 seed;
  HashKeys keys;
  gboolean broken; /* an insertion failed: only free is left */
};

TrellisDomainIndexPatch *
trellis_domain_index_patch_new (const TrellisDomainIndex *base)
{
  TrellisDomainIndexPatch *patch;
  gsize buckets_size;
  guint32 v;

  g_return_val_if_fail (base != NULL, NULL);

  patch = g_new0 (TrellisDomainIndexPatch, 1);
  buckets_size = (gsize) base->n_buckets * sizeof (Bucket);
  patch->image = g_malloc (HEADER_SIZE + buckets_size);
  memcpy (patch->image + HEADER_SIZE, base->buckets, buckets_size);
  patch->table.buckets = (Bucket *) (gpointer) (patch->image + HEADER_SIZE);
  patch->table.n_buckets = base->n_buckets;
  patch->table.rng = base->seed | 1;
  /* The base's flags are right for its names; a name placed now flags its
   * first bucket as it goes, and one removed leaves a flag that only costs
   * a read: no pass over the table at the end. */
  patch->table.keep_flags = TRUE;
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  for (guint32 b = 0; b < base->n_buckets; b++)
    {
      Bucket *bucket = &patch->table.buckets[b];

      for (guint s = 0; s < SLOTS; s++)
        {
          bucket->fp[s] = GUINT64_FROM_LE (bucket->fp[s]);
          bucket->val[s] = GUINT32_FROM_LE (bucket->val[s]);
        }
      bucket->flags = GUINT32_FROM_LE (bucket->flags);
    }
#endif
  value_table_init (&patch->values);
  for (v = 0; v < base->n_values; v++)
    value_table_get (&patch->values, GUINT32_FROM_LE (base->values[2 * v]),
                     GUINT32_FROM_LE (base->values[2 * v + 1]));
  patch->n_entries = base->n_entries;
  patch->seed = base->seed;
  patch->keys = base->keys;
  return patch;
}

void
trellis_domain_index_patch_free (TrellisDomainIndexPatch *patch)
{
  if (patch == NULL)
    return;
  g_free (patch->image);
  value_table_clear (&patch->values);
  g_free (patch);
}

guint
trellis_domain_index_patch_get_n_entries (const TrellisDomainIndexPatch *patch)
{
  g_return_val_if_fail (patch != NULL, 0);
  return patch->n_entries;
}

gboolean
trellis_domain_index_patch_lookup (const TrellisDomainIndexPatch *patch,
                                   const char *normalized_name,
                                   guint32 *ret_category_bits,
                                   guint32 *ret_rule_id)
{
  gsize len;
  gint64 slot;
  guint32 v;

  g_return_val_if_fail (patch != NULL, FALSE);
  g_return_val_if_fail (normalized_name != NULL, FALSE);

  if (patch->broken || !name_is_normalized (normalized_name, &len))
    return FALSE;
  /* Overflow flags are set again only at the end: read both buckets. */
  slot = table_find (&patch->table, name_hash (&patch->keys, normalized_name));
  if (slot < 0)
    return FALSE;
  v = patch->table.buckets[slot / SLOTS].val[slot % SLOTS];
  if (ret_category_bits != NULL)
    *ret_category_bits = GUINT32_FROM_LE (g_array_index (patch->values.pairs, guint32, 2 * v));
  if (ret_rule_id != NULL)
    *ret_rule_id = GUINT32_FROM_LE (g_array_index (patch->values.pairs, guint32, 2 * v + 1));
  return TRUE;
}

gboolean
trellis_domain_index_patch_set (TrellisDomainIndexPatch *patch,
                                const char *normalized_name,
                                guint32 category_bits,
                                guint32 rule_id,
                                GError **error)
{
  gsize len;
  guint64 h;
  gint64 slot;

  g_return_val_if_fail (patch != NULL, FALSE);
  g_return_val_if_fail (normalized_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (patch->broken)
    {
      g_set_error_literal (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE,
                           "The patched domain index is full: compile it in full");
      return FALSE;
    }
  if (!name_is_normalized (normalized_name, &len))
    {
      g_autofree char *shown = g_strescape (normalized_name, NULL);

      g_set_error (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME,
                   "“%.300s” is not a normalized domain name", shown);
      return FALSE;
    }
  h = name_hash (&patch->keys, normalized_name);
  slot = table_find (&patch->table, h);
  if (slot >= 0)
    {
      Bucket *bucket = &patch->table.buckets[slot / SLOTS];

      if (category_bits == 0)
        {
          bucket->fp[slot % SLOTS] = 0;
          bucket->val[slot % SLOTS] = 0;
          patch->n_entries--;
        }
      else
        bucket->val[slot % SLOTS] = value_table_get (&patch->values, category_bits, rule_id);
      return TRUE;
    }
  if (category_bits == 0)
    return TRUE; /* not there: nothing to remove */
  if ((double) patch->n_entries + 1 > (double) patch->table.n_buckets * SLOTS * PATCH_MAX_LOAD
      || !table_insert (&patch->table, h, value_table_get (&patch->values, category_bits, rule_id)))
    {
      patch->broken = TRUE;
      g_set_error_literal (error, TRELLIS_DOMAIN_INDEX_ERROR, TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE,
                           "The patched domain index is full: compile it in full");
      return FALSE;
    }
  patch->n_entries++;
  return TRUE;
}

GBytes *
trellis_domain_index_patch_to_bytes (TrellisDomainIndexPatch *patch)
{
  GBytes *bytes;

  g_return_val_if_fail (patch != NULL, NULL);
  g_return_val_if_fail (!patch->broken, NULL);

  /* The image is made in place, without a second copy of the table: the
   * patch is spent.  The overflow flags were kept as names were placed. */
  bytes = image_finish (g_steal_pointer (&patch->image), patch->table.n_buckets, patch->seed,
                        patch->n_entries, patch->values.pairs);
  patch->table.buckets = NULL;
  patch->broken = TRUE;
  return bytes;
}
