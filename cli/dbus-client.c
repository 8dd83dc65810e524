/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-client.c — trellisd's proxy, and its errors in words.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

/* Generous: an Ask waits for the bus to tell the daemon who is asking. */
#define CALL_TIMEOUT_MS 25000

TrellisTrellis1 *
trellis_cli_dbus_proxy (GError **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *owner = NULL;

  /* g_bus_get_sync() honours DBUS_SYSTEM_BUS_ADDRESS itself. */
  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local_error);
  if (bus == NULL)
    {
      /* No bus at all is, for the user, the same as no trellisd. */
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_SERVER, local_error->message);
      return NULL;
    }
  /* Calls only: no properties to load, no signals to follow (that is
   * trellis-notify's, which takes them from the owner alone). */
  proxy = trellis_trellis1_proxy_new_sync (bus,
                                           G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                             | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS
                                             | G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                           TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, NULL, error);
  if (proxy == NULL)
    return NULL;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  if (owner == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER,
                   "nobody owns the name %s on the system bus", TRELLIS_DBUS_NAME);
      return NULL;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), CALL_TIMEOUT_MS);
  return g_steal_pointer (&proxy);
}

gboolean
trellis_cli_dbus_error_is_unreachable (const GError *error)
{
  if (error->domain == G_DBUS_ERROR)
    return error->code == G_DBUS_ERROR_SERVICE_UNKNOWN
           || error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER
           || error->code == G_DBUS_ERROR_NO_SERVER
           || error->code == G_DBUS_ERROR_FILE_NOT_FOUND
           || error->code == G_DBUS_ERROR_DISCONNECTED
           || error->code == G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND
           || error->code == G_DBUS_ERROR_UNKNOWN_OBJECT;
  if (error->domain == G_IO_ERROR)
    return error->code == G_IO_ERROR_CLOSED
           || error->code == G_IO_ERROR_BROKEN_PIPE;
  return FALSE;
}

int
trellis_cli_dbus_error_report (const GError *error,
                               const char *denied)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);
  g_autoptr(GError) plain = g_error_copy (error);

  g_dbus_error_strip_remote_error (plain);

  if (trellis_cli_dbus_error_is_unreachable (error))
    {
      /* Translators: trellisd is the name of the program; keep it. */
      g_printerr (_ ("trellis: trellisd is not running, or cannot be reached (%s)\n"), plain->message);
      return TRELLIS_CLI_EXIT_UNREACHABLE;
    }
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    {
      if (denied != NULL)
        g_printerr ("trellis: %s\n", denied);
      else
        g_printerr (_ ("trellis: you are not allowed to do that; parents can.\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
    {
      /* Translators: %s is trellisd's own explanation, in English. */
      g_printerr (_ ("trellis: trellisd refused the request: %s\n"), plain->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (remote != NULL && strcmp (remote, TRELLIS_DBUS_ERROR_NAME_NOT_FOUND) == 0)
    {
      /* Translators: %s is trellisd's own explanation, e.g. "no child named bob". */
      g_printerr (_ ("trellis: not found: %s\n"), plain->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  /* Translators: %s says what went wrong. */
  g_printerr (_ ("trellis: trellisd could not do it: %s\n"), plain->message);
  return TRELLIS_CLI_EXIT_USAGE;
}
