/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * service-notify.h — what trellisd tells systemd (Type=notify): that it is
 * ready, reloading or stopping, and, from the thread that gives the queue's
 * verdicts, that it is alive (the watchdog).  Outside systemd each call
 * does nothing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * trellis_service_notify:
 * Sends @state ("READY=1", "STATUS=...", several lines at once) to the
 * service manager.  Nothing when trellisd was not started by one; an
 * error is not the filter's concern and is ignored.
 */
void trellis_service_notify (const char *state);

/**
 * trellis_watchdog_attach:
 * @context: the context of the thread that gives the queue's verdicts
 *
 * When systemd keeps a watchdog on trellisd (WatchdogSec=), pings it
 * (WATCHDOG=1) from @context at half the interval.  The pings come from
 * the verdicts' own thread, so when it hangs (a verdict that never comes,
 * a deadlock, SIGSTOP) they stop, and systemd restarts trellisd.  Returns
 * the attached source (owned: destroy and unref it to stop), or NULL when
 * there is no watchdog.
 */
GSource *trellis_watchdog_attach (GMainContext *context);

/* TRUE when every thread that gives verdicts has come round within
 * @max_quiet_usec (trellis_daemon_verdicts_alive()). */
typedef gboolean (*TrellisWatchdogAlive) (gint64 max_quiet_usec,
                                          gpointer user_data);

/**
 * trellis_watchdog_attach_full:
 * @alive: (nullable): asked before each ping, with half the watchdog's
 *   interval (at least 2 s: an idle queue thread comes round every second)
 *
 * As trellis_watchdog_attach(), for verdicts given in threads other than
 * @context's: a ping goes only when @alive says every one of them is
 * well, so a thread stuck in a verdict stops the pings as surely as a main
 * loop that hangs.
 */
GSource *trellis_watchdog_attach_full (GMainContext *context,
                                       TrellisWatchdogAlive alive,
                                       gpointer user_data);

G_END_DECLS
