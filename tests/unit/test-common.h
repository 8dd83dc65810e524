/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-common.h — what the unit tests share: cmocka with the headers it
 * needs before it, and the fixtures more than one test file uses.  Only
 * static inline functions, so a test pays for none it does not call.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "policy/trellis-policy.h"

#ifndef TRELLIS_SRC_DATADIR
#error "TRELLIS_SRC_DATADIR must name policy/data"
#endif

/* The household @text ("household.conf") with the shipped data; fails the
 * test, showing the errors, when it does not load.  Transfer full. */
static inline TrellisPolicy *
trellis_test_load_policy (const char *text)
{
  g_autoptr(GError) error = NULL;
  TrellisPolicy *policy = trellis_policy_load_data (text, strlen (text), "household.conf",
                                                    TRELLIS_SRC_DATADIR, &error);

  if (policy == NULL)
    fail_msg ("unexpected errors:\n%s", error->message);
  return policy;
}

/* The household @text must be refused as invalid: returns the message.
 * Transfer full. */
static inline char *
trellis_test_refused_policy (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_data (text, strlen (text), "household.conf",
                                                               TRELLIS_SRC_DATADIR, &error);

  if (policy != NULL)
    fail_msg ("accepted:\n%s", text);
  assert_true (g_error_matches (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID));
  return g_strdup (error->message);
}

/* Removes @path and everything below it (a test's g_dir_make_tmp folder). */
static inline void
trellis_test_remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      trellis_test_remove_tree (child);
    }
  g_dir_close (dir);
  g_rmdir (path);
}
