/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-client.h — how `trellis` talks to trellisd: one synchronous method
 * call on the system bus (DBUS_SYSTEM_BUS_ADDRESS, when set, names the bus),
 * and the errors turned into words and exit statuses.  Plain GVariant, no
 * generated proxy: the CLI links GIO and the policy library only.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TRELLIS_CLI_DBUS_NAME      "org.trellis.Trellis1"
#define TRELLIS_CLI_DBUS_PATH      "/org/trellis/Trellis1"
#define TRELLIS_CLI_DBUS_INTERFACE "org.trellis.Trellis1"

/**
 * trellis_cli_dbus_call:
 * @method: a method of org.trellis.Trellis1
 * @parameters: (nullable) (transfer floating) its arguments
 * @reply_type: the reply's type, e.g. "(a(xsss))"
 * @ret_reply: (out) (transfer full) the reply
 * @error: the bus's or the daemon's error
 *
 * Calls @method on trellisd, without starting it.
 */
gboolean trellis_cli_dbus_call (const char *method,
                                GVariant *parameters,
                                const char *reply_type,
                                GVariant **ret_reply,
                                GError **error);

/**
 * trellis_cli_dbus_call_full:
 * @timeout_ms: how long to wait for the answer (G_MAXINT: as long as it takes)
 *
 * As trellis_cli_dbus_call().
 */
gboolean trellis_cli_dbus_call_full (const char *method,
                                     GVariant *parameters,
                                     const char *reply_type,
                                     int timeout_ms,
                                     GVariant **ret_reply,
                                     GError **error);

/** trellis_cli_dbus_error_is_unreachable: no bus, or nobody owns the name. */
gboolean trellis_cli_dbus_error_is_unreachable (const GError *error);

/**
 * trellis_cli_dbus_error_report:
 * @error: what trellis_cli_dbus_call() failed with
 * @denied: (nullable) the words for AccessDenied, e.g. "You can only see
 *   your own log."; NULL for a general one
 *
 * Prints @error for people and returns the exit status: 3 when trellisd
 * cannot be reached, 2 otherwise.
 */
int trellis_cli_dbus_error_report (const GError *error,
                                   const char *denied);

G_END_DECLS
