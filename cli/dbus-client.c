/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-client.c — one method call to trellisd, and its errors in words.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli.h"
#include "cli/dbus-client.h"

/* Generous: an Ask waits for the bus to tell the daemon who is asking. */
#define CALL_TIMEOUT_MS 25000

gboolean
trellis_cli_dbus_call (const char *method,
                       GVariant *parameters,
                       const char *reply_type,
                       GVariant **ret_reply,
                       GError **error)
{
  return trellis_cli_dbus_call_full (method, parameters, reply_type, CALL_TIMEOUT_MS, ret_reply, error);
}

gboolean
trellis_cli_dbus_call_full (const char *method,
                            GVariant *parameters,
                            const char *reply_type,
                            int timeout_ms,
                            GVariant **ret_reply,
                            GError **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) owned_parameters = NULL;
  g_autoptr(GError) local_error = NULL;

  if (parameters != NULL)
    owned_parameters = g_variant_ref_sink (parameters);

  /* g_bus_get_sync() honours DBUS_SYSTEM_BUS_ADDRESS itself. */
  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local_error);
  if (bus == NULL)
    {
      /* No bus at all is, for the user, the same as no trellisd. */
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_SERVER, local_error->message);
      return FALSE;
    }

  reply = g_dbus_connection_call_sync (bus, TRELLIS_CLI_DBUS_NAME, TRELLIS_CLI_DBUS_PATH,
                                       TRELLIS_CLI_DBUS_INTERFACE, method, owned_parameters,
                                       G_VARIANT_TYPE (reply_type),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       timeout_ms, NULL, error);
  if (reply == NULL)
    return FALSE;

  *ret_reply = g_steal_pointer (&reply);
  return TRUE;
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
  if (remote != NULL && strcmp (remote, "org.trellis.Trellis1.Error.NotFound") == 0)
    {
      /* Translators: %s is trellisd's own explanation, e.g. "no child named bob". */
      g_printerr (_ ("trellis: not found: %s\n"), plain->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  /* Translators: %s says what went wrong. */
  g_printerr (_ ("trellis: trellisd could not do it: %s\n"), plain->message);
  return TRELLIS_CLI_EXIT_USAGE;
}
