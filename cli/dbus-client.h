/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-client.h — how `trellis` talks to trellisd: the proxy gdbus-codegen
 * made from data/org.trellis.Trellis1.xml (bus/trellis-bus.h), on the
 * system bus (DBUS_SYSTEM_BUS_ADDRESS, when set, names the bus), and the
 * errors turned into words and exit statuses.  GIO only: the CLI links
 * the policy library and nothing of the daemon.
 */
#pragma once

#include <gio/gio.h>

#include "bus/trellis-bus.h"

G_BEGIN_DECLS

/**
 * trellis_cli_dbus_proxy:
 * @error: G_DBUS_ERROR_NO_SERVER without a system bus,
 *   G_DBUS_ERROR_NAME_HAS_NO_OWNER when trellisd is not on it
 *
 * trellisd, to call with trellis_trellis1_call_*_sync(): the arguments are
 * C arguments, the reply is checked against the XML's types before it is
 * read.  The calls go to the name's owner of now and never start it.
 * Returns: (transfer full) (nullable): the proxy, NULL with @error
 */
TrellisTrellis1 *trellis_cli_dbus_proxy (GError **error);

/** trellis_cli_dbus_error_is_unreachable: no bus, or nobody owns the name. */
gboolean trellis_cli_dbus_error_is_unreachable (const GError *error);

/**
 * trellis_cli_dbus_error_report:
 * @error: what trellis_cli_dbus_proxy() or a call failed with
 * @denied: (nullable) the words for AccessDenied, e.g. "You can only see
 *   your own log."; NULL for a general one
 *
 * Prints @error for people and returns the exit status: 3 when trellisd
 * cannot be reached, 2 otherwise.
 */
int trellis_cli_dbus_error_report (const GError *error,
                                   const char *denied);

G_END_DECLS
