/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-backend.h — the daemon's answers to the D-Bus service, and what the
 * daemon hands them: the policy in force, the grants and pauses, the event
 * log, the service to signal through, a way to ask for a reload, and the
 * published lists (what GetLists shows, and an UpdateLists run).
 * Nothing else of the daemon: the backend never sees its context.
 */
#pragma once

#include <gio/gio.h>

#include "daemon/dbus-service.h"
#include "daemon/event-log.h"
#include "daemon/grants.h"
#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/**
 * TrellisDBusBackendContext:
 *
 * The backend_data of trellis_dbus_backend.  The daemon fills it before it
 * makes the service and sets @service once it has it; the objects outlive
 * the service.  The functions are called on the service's thread.
 */
typedef struct {
  /* Returns: (transfer full) the policy in force now. */
  TrellisPolicy *(*policy_get) (gpointer daemon);
  /* Reads the household file again and puts it in force (ApplyPolicy);
   * it ends later, and says how in the daemon's log. */
  void (*reload) (gpointer daemon);
  /* As @reload, and @done (on the main thread) once the file read after
   * this call is in force, with NULL, or with why it is not. */
  void (*reload_then) (gpointer daemon,
                       void (*done) (const GError *error,
                                     gpointer user_data),
                       gpointer user_data);
  /* The decision a query for @qname would get now, by the daemon's clock:
   * the policy, then a pause or a grant that lifts a block (Why). */
  void (*decide) (gpointer daemon,
                  TrellisPolicy *policy,
                  const TrellisChild *child,
                  const char *qname,
                  TrellisDecision *ret_decision);
  /* A parent paused @child until @until (unix seconds): the kernel follows. */
  void (*pause_changed) (gpointer daemon,
                         const char *child,
                         gint64 until);
  /* Returns: (transfer full) GetLists' answer, (a{sv}aa{sv}): the lists
   * @policy decides with, its sources, and how their updates went. */
  GVariant *(*lists_get) (gpointer daemon,
                          TrellisPolicy *policy);
  /* UpdateLists, for a caller the service let through: runs the list
   * updater (a call during a run waits for it), puts what it compiled in
   * force, then calls @reply once with "(is)" or an error. */
  void (*update_lists) (gpointer daemon,
                        TrellisDBusReplyFunc reply,
                        gpointer reply_data);
  gpointer daemon;             /* (unowned) given to the functions above */
  TrellisGrants *grants;       /* (unowned) loaded again after each change */
  TrellisEventLog *events;     /* (unowned) (nullable) the filter works without it */
  TrellisDBusService *service; /* (unowned) (nullable) RequestChanged goes out here */
  const char *household_path;  /* (unowned) the file the parents' edits change */
  const char *data_dir;        /* (unowned) (nullable) the shipped data, as the daemon compiles */
  GMutex *edit_lock;           /* (unowned) held by the one edit of the file at a time */
} TrellisDBusBackendContext;

/** trellis_dbus_backend: the daemon's side of the D-Bus service; its data is a TrellisDBusBackendContext. */
extern const TrellisDBusBackend trellis_dbus_backend;

G_END_DECLS
