/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis-bus.h — org.trellis.Trellis1, as trellisd and its clients know it.
 *
 * The interface is data/org.trellis.Trellis1.xml and nothing else: its
 * methods, signals and every argument's type.  gdbus-codegen makes
 * bus/trellis-dbus-generated.[ch] from it: the skeleton trellisd exports,
 * the proxy `trellis` calls through (typed C arguments, replies checked
 * against the XML's types), the interface info trellis-notify checks
 * signals with.  What the XML cannot hold is here, once: the bus name, the
 * object path, the names of the errors.  GIO only: the CLI and the session
 * agent include it without linking anything of the daemon.
 */
#pragma once

#include <gio/gio.h>

#include "bus/trellis-dbus-generated.h"

G_BEGIN_DECLS

#define TRELLIS_DBUS_NAME      "org.trellis.Trellis1"
#define TRELLIS_DBUS_PATH      "/org/trellis/Trellis1"
#define TRELLIS_DBUS_INTERFACE "org.trellis.Trellis1" /* the XML's <interface name> */

/* The daemon's errors on the wire (TrellisDBusError in daemon/dbus-service.h). */
#define TRELLIS_DBUS_ERROR_NAME_NOT_FOUND "org.trellis.Trellis1.Error.NotFound"
#define TRELLIS_DBUS_ERROR_NAME_FAILED    "org.trellis.Trellis1.Error.Failed"

/* The generated interface type, a GObject interface: released with
 * g_object_unref(). */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisTrellis1, g_object_unref)

G_END_DECLS
