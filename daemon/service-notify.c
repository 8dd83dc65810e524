/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/service-notify.h"

#include <systemd/sd-daemon.h>

void
trellis_service_notify (const char *state)
{
  /* 0 when there is no NOTIFY_SOCKET: not under a service manager. */
  (void) sd_notify (0, state);
}

static gboolean
watchdog_ping (gpointer user_data)
{
  trellis_service_notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

GSource *
trellis_watchdog_attach (GMainContext *context)
{
  GSource *source;
  guint64 usec = 0;

  /* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID is us. */
  if (sd_watchdog_enabled (0, &usec) <= 0 || usec == 0)
    return NULL;
  source = g_timeout_source_new ((guint) MAX (usec / 2000, 1));
  g_source_set_callback (source, watchdog_ping, NULL, NULL);
  g_source_set_name (source, "trellis-watchdog");
  /* Before anything that waits on packets, so that a busy queue never
   * starves the ping when the thread itself is well. */
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_attach (source, context);
  return source;
}
