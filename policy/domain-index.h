/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * domain-index.h — the compiled domain index.
 *
 * One memory-mappable file maps a normalized domain name to (category bits,
 * rule id).  A query name matches an entry when it equals the entry or ends
 * with "." + entry; a lookup returns the longest such entry.
 *
 * The file holds no names: each entry is the 64-bit keyed hash of its name,
 * chained label by label from the right, in a two-choice bucketed cuckoo
 * table whose 64-byte buckets hold five (hash, value index) slots; the
 * distinct (category bits, rule id) pairs sit in a small value table.  The
 * builder refuses two different names with the same hash (it changes the
 * seed and starts again), so a name of the list always finds its own entry;
 * a name outside the list matches an entry only by a 64-bit hash collision.
 *
 * A lookup of a name of k labels hashes the name once and reads at most 2k
 * buckets, all prefetched before the first compare.
 *
 * The library never logs: every failure is a GError in
 * TRELLIS_DOMAIN_INDEX_ERROR.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_DOMAIN_INDEX_ERROR (trellis_domain_index_error_quark ())
GQuark trellis_domain_index_error_quark (void);

typedef enum {
  TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME, /* not a normalized domain name */
  TRELLIS_DOMAIN_INDEX_ERROR_IO,           /* the file could not be read or written */
  TRELLIS_DOMAIN_INDEX_ERROR_CORRUPT,      /* bad magic, sizes, offsets or checksum */
  TRELLIS_DOMAIN_INDEX_ERROR_VERSION,      /* a format version this code does not read */
  TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE,    /* more entries than the format holds */
} TrellisDomainIndexError;

/* The file format version this code writes and reads. */
#define TRELLIS_DOMAIN_INDEX_FORMAT_VERSION 1

typedef struct _TrellisDomainIndexBuilder TrellisDomainIndexBuilder;
typedef struct _TrellisDomainIndex TrellisDomainIndex;

/** trellis_domain_index_builder_new: an empty builder.  Returns: (transfer full). */
TrellisDomainIndexBuilder *trellis_domain_index_builder_new (void);

/** trellis_domain_index_builder_free: frees @builder (NULL is allowed). */
void trellis_domain_index_builder_free (TrellisDomainIndexBuilder *builder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisDomainIndexBuilder, trellis_domain_index_builder_free)

/**
 * trellis_domain_index_builder_add:
 * @normalized_name: lower case, no trailing dot, labels of 1–63 bytes of
 *   [a-z0-9_-], at most 253 bytes in all
 *
 * Adds @normalized_name → (@category_bits, @rule_id).  Adding a name again
 * ORs the category bits and keeps the lower rule id.  Returns: FALSE with
 * TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME when the name is not normalized,
 * TRELLIS_DOMAIN_INDEX_ERROR_TOO_LARGE past 2^31 names.
 */
gboolean trellis_domain_index_builder_add (TrellisDomainIndexBuilder *builder,
                                           const char *normalized_name,
                                           guint32 category_bits,
                                           guint32 rule_id,
                                           GError **error);

/**
 * trellis_domain_index_builder_set_watch:
 * @names: (nullable): NULL-terminated normalized names (others are ignored)
 *
 * Asks the next trellis_domain_index_builder_to_bytes() to count the
 * distinct names it compiles that equal a name of @names or lie below one
 * (trellis_domain_index_builder_get_n_watched()).  The count costs nothing
 * noticeable: the suffixes are hashed anyway.
 */
void trellis_domain_index_builder_set_watch (TrellisDomainIndexBuilder *builder,
                                             const char *const *names);

/** trellis_domain_index_builder_get_n_watched: of the last image made, see _set_watch(). */
guint trellis_domain_index_builder_get_n_watched (const TrellisDomainIndexBuilder *builder);

/**
 * trellis_domain_index_builder_get_bit_counts:
 * @ret_counts: (out caller-allocates): for each of the 32 category bits,
 *   the distinct names of the last image made that carry it
 */
void trellis_domain_index_builder_get_bit_counts (const TrellisDomainIndexBuilder *builder,
                                                  guint32 ret_counts[32]);

/**
 * trellis_domain_index_builder_set_seed:
 * The seed the builder tries first (0: the default).  It changes the seed
 * by itself when two names of the list have the same hash.
 */
void trellis_domain_index_builder_set_seed (TrellisDomainIndexBuilder *builder,
                                            guint64 seed);

/** trellis_domain_index_builder_get_n_added: names added so far, repeats included. */
guint trellis_domain_index_builder_get_n_added (const TrellisDomainIndexBuilder *builder);

/**
 * trellis_domain_index_builder_to_bytes:
 *
 * Compiles the names added so far into the file image.  Returns: (transfer
 * full): the image, or NULL with @error set.
 */
GBytes *trellis_domain_index_builder_to_bytes (TrellisDomainIndexBuilder *builder,
                                               GError **error);

/**
 * trellis_domain_index_builder_write:
 *
 * Compiles and writes the index to a temporary file beside @path, then
 * renames it over @path: a reader sees the old file or the new one, whole.
 */
gboolean trellis_domain_index_builder_write (TrellisDomainIndexBuilder *builder,
                                             const char *path,
                                             GError **error);

/**
 * trellis_domain_index_open:
 *
 * Maps @path read-only and validates its header, sizes, offsets, checksum
 * and every slot.  Returns: (transfer full): the index, or NULL with @error
 * set (TRELLIS_DOMAIN_INDEX_ERROR_IO, _CORRUPT or _VERSION).
 */
TrellisDomainIndex *trellis_domain_index_open (const char *path,
                                               GError **error);

/**
 * trellis_domain_index_new_from_bytes:
 *
 * As trellis_domain_index_open() for an image in memory; keeps a reference
 * to @bytes (or an aligned copy of it).  Returns: (transfer full).
 */
TrellisDomainIndex *trellis_domain_index_new_from_bytes (GBytes *bytes,
                                                         GError **error);

/** trellis_domain_index_ref: Returns: (transfer full): @index. */
TrellisDomainIndex *trellis_domain_index_ref (TrellisDomainIndex *index);

/** trellis_domain_index_unref: drops a reference (NULL is allowed). */
void trellis_domain_index_unref (TrellisDomainIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisDomainIndex, trellis_domain_index_unref)

/** trellis_domain_index_get_n_entries: the number of distinct names in @index. */
guint trellis_domain_index_get_n_entries (const TrellisDomainIndex *index);

/** trellis_domain_index_get_size: the size of the image in bytes. */
gsize trellis_domain_index_get_size (const TrellisDomainIndex *index);

/**
 * trellis_domain_index_lookup:
 * @name: a domain name in presentation form; upper case and one trailing
 *   dot are allowed.  A backslash escape ("\." or "\046") is never a label
 *   separator, and a label holding one matches no entry.
 * @ret_category_bits: (out) (optional)
 * @ret_rule_id: (out) (optional)
 * @ret_matched_suffix: (out) (optional): points into @name at the start of
 *   the matched suffix (which keeps @name's case and trailing dot)
 *
 * Finds the longest entry that @name equals or ends with after a ".".
 * Returns: TRUE when one matched; the ret_* are set only then.
 */
gboolean trellis_domain_index_lookup (const TrellisDomainIndex *index,
                                      const char *name,
                                      guint32 *ret_category_bits,
                                      guint32 *ret_rule_id,
                                      const char **ret_matched_suffix);

/**
 * trellis_domain_index_lookup_exact:
 * @normalized_name: as for trellis_domain_index_builder_add()
 *
 * The entry for exactly @normalized_name, not a suffix of it.  Returns:
 * TRUE when there is one; the ret_* are set only then.
 */
gboolean trellis_domain_index_lookup_exact (const TrellisDomainIndex *index,
                                            const char *normalized_name,
                                            guint32 *ret_category_bits,
                                            guint32 *ret_rule_id);

/** trellis_domain_index_get_seed: the seed that keys the index's name hash. */
guint64 trellis_domain_index_get_seed (const TrellisDomainIndex *index);

/**
 * trellis_domain_index_image_peek:
 * @image: an image the builder or a patch made
 *
 * Its header's seed, names and checksum, read without validating the
 * image (its maker knows it is whole; a reader validates with
 * trellis_domain_index_new_from_bytes()).  Returns: FALSE when @image does
 * not even start like one.
 */
gboolean trellis_domain_index_image_peek (GBytes *image,
                                          guint64 *ret_seed,
                                          guint32 *ret_n_entries,
                                          guint64 *ret_checksum);

/** trellis_domain_index_get_checksum: the checksum of the image, as its header holds it. */
guint64 trellis_domain_index_get_checksum (const TrellisDomainIndex *index);

/**
 * TrellisDomainIndexPatch:
 *
 * A few names changed in a copy of a compiled index, without compiling
 * every name again: what a list update that changes 1% of a list costs
 * instead of a full compile.  The index holds no names, only their 64-bit
 * hashes, so the caller, who holds the lists the index was compiled from,
 * is the one to know that a name it adds is not on any of them already
 * (a hash already there for another name is a collision only the caller
 * can see: it then compiles in full, and the builder picks another seed).
 */
typedef struct _TrellisDomainIndexPatch TrellisDomainIndexPatch;

/** trellis_domain_index_patch_new: a writable copy of @base.  Returns: (transfer full). */
TrellisDomainIndexPatch *trellis_domain_index_patch_new (const TrellisDomainIndex *base);

/** trellis_domain_index_patch_free: frees @patch (NULL is allowed). */
void trellis_domain_index_patch_free (TrellisDomainIndexPatch *patch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisDomainIndexPatch, trellis_domain_index_patch_free)

/** trellis_domain_index_patch_lookup: as trellis_domain_index_lookup_exact(), in @patch. */
gboolean trellis_domain_index_patch_lookup (const TrellisDomainIndexPatch *patch,
                                            const char *normalized_name,
                                            guint32 *ret_category_bits,
                                            guint32 *ret_rule_id);

/**
 * trellis_domain_index_patch_set:
 *
 * @normalized_name → (@category_bits, @rule_id), added or replaced;
 * @category_bits 0 removes the name.  Returns: FALSE with
 * TRELLIS_DOMAIN_INDEX_ERROR_INVALID_NAME for a name that is not
 * normalized (nothing changed), or _TOO_LARGE when the table is too full
 * for another name: then @patch may only be freed, and the caller compiles
 * in full (the builder makes a bigger table).
 */
gboolean trellis_domain_index_patch_set (TrellisDomainIndexPatch *patch,
                                         const char *normalized_name,
                                         guint32 category_bits,
                                         guint32 rule_id,
                                         GError **error);

/** trellis_domain_index_patch_get_n_entries: the distinct names @patch holds now. */
guint trellis_domain_index_patch_get_n_entries (const TrellisDomainIndexPatch *patch);

/**
 * trellis_domain_index_patch_to_bytes:
 * The patched index's file image (the same format and seed as the base),
 * made in place: @patch may then only be freed.  Returns: (transfer full).
 */
GBytes *trellis_domain_index_patch_to_bytes (TrellisDomainIndexPatch *patch);

/* The answer for one name of trellis_domain_index_lookup_many(). */
typedef struct
{
  gboolean matched;
  guint32 category_bits; /* 0 unless matched */
  guint32 rule_id;       /* 0 unless matched */
  guint32 suffix_offset; /* where in the name the matched suffix starts */
} TrellisDomainIndexMatch;

/**
 * trellis_domain_index_lookup_many:
 * @names: (array length=n_names): as for trellis_domain_index_lookup()
 * @ret_matches: (out caller-allocates) (array length=n_names)
 *
 * trellis_domain_index_lookup() for many names at once: the memory reads of
 * several names overlap, which is faster when the index is larger than the
 * CPU caches.  Returns: the number of names that matched.
 */
gsize trellis_domain_index_lookup_many (const TrellisDomainIndex *index,
                                        const char *const *names,
                                        gsize n_names,
                                        TrellisDomainIndexMatch *ret_matches);

G_END_DECLS
