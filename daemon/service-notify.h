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

G_END_DECLS
