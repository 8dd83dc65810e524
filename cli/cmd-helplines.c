/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-helplines.c — trellis helplines: whom a child can always reach.
 * Anyone may ask; trellisd never stores or counts these lookups.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

int
trellis_cli_helplines (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GVariant) helplines = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = NULL;
  GVariantIter iter;
  const char *name, *country, *domain, *how;
  gboolean first = TRUE;

  (void) argv;
  if (argc != 0)
    {
      g_printerr (_ ("trellis: write trellis helplines, with nothing after it\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_get_helplines_sync (proxy, &helplines, NULL, &error))
    return trellis_cli_dbus_error_report (error, NULL);

  if (options->json)
    {
      out = g_string_new ("[");
      g_variant_iter_init (&iter, helplines);
      while (g_variant_iter_next (&iter, "(&s&s&s&s)", &name, &country, &domain, &how))
        {
          g_string_append (out, first ? "\n  {" : ",\n  {");
          first = FALSE;
          g_string_append (out, "\"name\": ");
          trellis_cli_json_string (out, name);
          g_string_append (out, ", \"country\": ");
          trellis_cli_json_string (out, country);
          g_string_append (out, ", \"domain\": ");
          trellis_cli_json_string (out, domain);
          g_string_append (out, ", \"how\": ");
          trellis_cli_json_string (out, how);
          g_string_append_c (out, '}');
        }
      g_string_append (out, first ? "]" : "\n]");
      g_print ("%s\n", out->str);
      return TRELLIS_CLI_EXIT_OK;
    }

  g_print (_ ("Helplines: always open, never blocked, never logged.  Nobody sees that you used them.\n"));
  g_variant_iter_init (&iter, helplines);
  while (g_variant_iter_next (&iter, "(&s&s&s&s)", &name, &country, &domain, &how))
    {
      first = FALSE;
      /* Translators: a helpline: its name, its country code, its web address. */
      g_print (_ ("  %s (%s): %s\n"), name, country, domain);
      if (*how != '\0')
        g_print ("      %s\n", how);
    }
  if (first)
    g_print (_ ("  (no helplines are known on this computer)\n"));
  return TRELLIS_CLI_EXIT_OK;
}
