/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-ask.c — trellis ask NAME [MESSAGE]: ask the parents to look at a
 * blocked site again (GC25 §44).
 */
#include <glib/gi18n.h>

#include "cli/cli-text.h"
#include "cli/cli.h"
#include "cli/dbus-client.h"
#include "policy/public-suffix.h"

int
trellis_cli_ask (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  const char *message;
  guint id;

  if (argc < 1 || argc > 2 || *argv[0] == '\0')
    {
      g_printerr (_ ("trellis: write trellis ask NAME [MESSAGE], e.g. trellis ask example.org \"for homework\"\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  message = argc == 2 ? argv[1] : "";
  if (!g_utf8_validate (argv[0], -1, NULL) || !g_utf8_validate (message, -1, NULL))
    {
      g_printerr (_ ("trellis: the name and the message must be text (UTF-8)\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!trellis_cli_message_check (message))
    return TRELLIS_CLI_EXIT_USAGE;
  /* trellisd refuses a public suffix too; said here in the child's words. */
  {
    g_autofree char *domain = trellis_domain_normalize (argv[0]);
    g_autoptr(GError) suffix_error = NULL;

    if (domain != NULL
        && !trellis_public_suffix_check (domain, TRELLIS_SUFFIX_USE_LIFT, &suffix_error))
      {
        g_printerr ("trellis: %s\n", suffix_error->message);
        return TRELLIS_CLI_EXIT_USAGE;
      }
  }

  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_ask_sync (proxy, argv[0], message, &id, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only a child's account can ask for a site."));

  if (options->json)
    {
      g_print ("{\"id\": %u}\n", id);
      return TRELLIS_CLI_EXIT_OK;
    }
  /* Translators: %u is the request's number, %s a web address. */
  g_print (_ ("Request %u sent: your parents will see that you asked for %s"), id, argv[0]);
  if (*message != '\0')
    g_print (_ (", and your message"));
  g_print (".\n");
  g_print (_ ("Their answer will show in: trellis requests\n"));
  return TRELLIS_CLI_EXIT_OK;
}
