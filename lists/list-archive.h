/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-archive.h — the bytes of a downloaded list, unpacked: gzip (or any
 * compression libarchive knows) around a plain file, or a UT1 tar archive
 * from which one member is read.  A cut-short or damaged archive is an
 * error, never a shorter list.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_LIST_ARCHIVE_ERROR (trellis_list_archive_error_quark ())
GQuark trellis_list_archive_error_quark (void);

typedef enum {
  TRELLIS_LIST_ARCHIVE_ERROR_DAMAGED,   /* cut short, corrupt, not what it says */
  TRELLIS_LIST_ARCHIVE_ERROR_NO_MEMBER, /* the archive does not hold the file asked for */
  TRELLIS_LIST_ARCHIVE_ERROR_TOO_LARGE, /* more bytes unpacked than allowed */
} TrellisListArchiveError;

/* Gets the unpacked bytes, in order. */
typedef void (*TrellisListArchiveFunc) (const char *data,
                                        gsize len,
                                        gpointer user_data);

/**
 * trellis_list_archive_read:
 * @fd: the download, read from its start (not closed)
 * @member: (nullable): the file to read in a tar archive ("adult/domains");
 *   NULL: the download is one file, compressed or not
 * @max_bytes: the most it may unpack to
 *
 * Returns: FALSE with @error when the download is damaged or cut short,
 *   lacks @member (or it is not a plain file), or unpacks to more than
 *   @max_bytes.
 */
gboolean trellis_list_archive_read (int fd,
                                    const char *member,
                                    guint64 max_bytes,
                                    TrellisListArchiveFunc func,
                                    gpointer user_data,
                                    guint64 *ret_bytes,
                                    GError **error);

G_END_DECLS
