/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * public-suffix.c — refusing rules that would cover a whole public suffix.
 */
#include "policy/public-suffix.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libpsl.h>

#include "policy/trellis-policy.h"

/* The list, read once and kept: a read-only table, as libpsl's built-in
 * one is.  psl_latest() takes whichever of Debian's file and libpsl's own
 * copy is newer; psl_builtin() is the copy alone, when there is no file. */
static const psl_ctx_t *
suffix_list (void)
{
  static gsize once = 0;
  static const psl_ctx_t *list = NULL;

  if (g_once_init_enter (&once))
    {
      const psl_ctx_t *latest = psl_latest (NULL);

      list = latest != NULL ? latest : psl_builtin ();
      g_once_init_leave (&once, 1);
    }
  return list;
}

char *
trellis_public_suffix_list_version (void)
{
  const char *dist = psl_dist_filename ();
  GStatBuf st;
  gint64 dist_time = 0;

  if (dist != NULL && *dist != '\0' && g_stat (dist, &st) == 0)
    dist_time = (gint64) st.st_mtime;
  return g_strdup_printf ("libpsl %s, built in %" G_GINT64_FORMAT ", %s %" G_GINT64_FORMAT,
                          psl_get_version (), (gint64) psl_builtin_file_time (),
                          dist != NULL ? dist : "-", dist_time);
}

gboolean
trellis_public_suffix_check (const char *normalized,
                             TrellisSuffixUse use,
                             GError **error)
{
  const psl_ctx_t *list = suffix_list ();
  g_autofree char *shown = NULL;
  const char *dot = strchr (normalized, '.');
  gboolean icann, private_suffix;

  g_return_val_if_fail (normalized != NULL && *normalized != '\0', FALSE);

  if (dot == NULL)
    icann = TRUE; /* a single label: a top-level domain, or nothing on the Internet */
  else if (list == NULL)
    return TRUE; /* libpsl without a list: only single labels are known */
  else
    icann = psl_is_public_suffix2 (list, normalized, PSL_TYPE_ICANN) != 0;
  private_suffix = !icann && list != NULL
                   && psl_is_public_suffix2 (list, normalized, PSL_TYPE_PRIVATE) != 0;
  if (!icann && !(private_suffix && use == TRELLIS_SUFFIX_USE_LIFT))
    return TRUE;

  /* An internationalized suffix is shown as it is written. */
  shown = g_hostname_to_unicode (normalized);
  if (shown == NULL)
    shown = g_strdup (normalized);

  if (dot == NULL
      && (list == NULL || !psl_is_public_suffix2 (list, normalized, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE)))
    g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                 /* Translators: %s is one word with no dot, such as “google”;
                  * keep %s.com as it is, it shows what to write. */
                 _ ("“%s” is one word, not a site's full name: a rule for it would cover every "
                    "name that ends in .%s; write the name with its ending, such as %s.com"),
                 shown, shown, shown);
  else if (dot == NULL)
    g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                 use == TRELLIS_SUFFIX_USE_LIFT
                   /* Translators: %s is a one-word name such as “com”; keep
                  * example.%s as it is, it shows what to write. */
                   ? _ ("“%s” is not a site but a whole top-level domain: allowing it would lift "
                        "every block under .%s; write the site's full name, such as example.%s")
                   /* Translators: as above, for a rule that blocks. */
                   : _ ("“%s” is not a site but a whole top-level domain: denying it would block "
                        "every site under .%s; write the site's full name, such as example.%s"),
                 shown, shown, shown);
  else if (icann)
    g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                 use == TRELLIS_SUFFIX_USE_LIFT
                   /* Translators: %s is a public suffix such as “co.uk”,
                  * under which anyone can register a site. */
                   ? _ ("“%s” is not a site but a public suffix, under which anyone can register "
                        "one: allowing it would lift every block under .%s; write the site's "
                        "full name, such as example.%s")
                   /* Translators: as above, for a rule that blocks. */
                   : _ ("“%s” is not a site but a public suffix, under which anyone can register "
                        "one: denying it would block every site under .%s; write the site's "
                        "full name, such as example.%s"),
                 shown, shown, shown);
  else
    g_set_error (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID,
                 /* Translators: %s is a shared hosting suffix such as
                  * “github.io”, where each NAME.github.io is someone else's. */
                 _ ("“%s” is shared by many unrelated sites (each NAME.%s is someone else's): "
                    "allowing it would lift the blocks of all of them; write the one site's "
                    "full name, such as example.%s"),
                 shown, shown, shown);
  return FALSE;
}
