/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/service-notify.h"

#include <systemd/sd-daemon.h>

void
trellis_service_notify (const char *state)
{
  /* 0 when there is no NOTIFY_SOCKET: not under a service manager. */
  (void) sd_notify (0, state);
}

typedef struct {
  TrellisWatchdogAlive alive; /* (nullable) */
  gpointer alive_data;
  gint64 max_quiet; /* µs */
} Watchdog;

static gboolean
watchdog_ping (gpointer user_data)
{
  Watchdog *w = user_data;

  if (w->alive == NULL || w->alive (w->max_quiet, w->alive_data))
    trellis_service_notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

GSource *
trellis_watchdog_attach (GMainContext *context)
{
  return trellis_watchdog_attach_full (context, NULL, NULL);
}

GSource *
trellis_watchdog_attach_full (GMainContext *context,
                              TrellisWatchdogAlive alive,
                              gpointer user_data)
{
  GSource *source;
  guint64 usec = 0;
  Watchdog *w;

  /* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID is us. */
  if (sd_watchdog_enabled (0, &usec) <= 0 || usec == 0)
    return NULL;
  w = g_new0 (Watchdog, 1);
  w->alive = alive;
  w->alive_data = user_data;
  w->max_quiet = (gint64) MAX (usec / 2, 2 * G_USEC_PER_SEC);
  source = g_timeout_source_new ((guint) MAX (usec / 2000, 1));
  g_source_set_callback (source, watchdog_ping, w, g_free);
  g_source_set_name (source, "trellis-watchdog");
  /* Before anything that waits on packets, so that a busy queue never
   * starves the ping when the thread itself is well. */
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_attach (source, context);
  return source;
}
