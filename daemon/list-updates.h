/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-updates.h — trellisd's side of the published lists: taking over
 * what the unprivileged updater compiled (a copy in trellisd's own state
 * folder, checked before it is mapped), running the updater when a parent
 * asks, and what `trellis lists` shows.  Nothing here calls back into
 * trellisd.c: it is given paths and callbacks.
 */
#pragma once

#include <gio/gio.h>

#include "policy/trellis-policy.h"

G_BEGIN_DECLS

/**
 * trellis_list_updates_acquire:
 * @lists_dir: the updater's folder (its manifest and index)
 * @state_dir: trellisd's own folder, where the copy in force is kept
 *   (lists.manifest, lists.idx)
 * @ret_problem: (out) (optional) (transfer full): why the updater's newest
 *   lists were not taken (a damaged index, a manifest that does not
 *   describe it), when they were not
 *
 * The updater's lists, copied into @state_dir when they are newer than the
 * copy there (the index is copied, not shared: a file another account can
 * change or cut short is never mapped), each file opened without following
 * links, checked (size, binding to its manifest, every slot) before the
 * copy replaces the one in force.  When the newest cannot be taken, the
 * copy in force is used.  Blocking: call it off the main thread.
 * Returns: (transfer full) (nullable): the lists, or NULL when there are
 *   none at all.
 */
TrellisListsIndex *trellis_list_updates_acquire (const char *lists_dir,
                                                 const char *state_dir,
                                                 char **ret_problem);

typedef struct _TrellisListUpdater TrellisListUpdater;

/* How an updater run ended: its exit status (0 every list current, 1 some
 * failed, 2 usage, 3 nothing done; -1: it could not be started or was
 * killed) and what it said, last line first. */
typedef void (*TrellisListUpdaterDone) (int status,
                                        const char *output,
                                        gpointer user_data);

typedef struct {
  const char *updater; /* the program, trellis-lists-update */
  const char *lists_dir;
  const char *data_dir;       /* (nullable) */
  const char *config;         /* (nullable) the updater's configuration */
  const char *household_path; /* handed over as a descriptor: the updater cannot read it */
  const char *state_dir;      /* trellisd's own folder: where it asks systemd for a run */
  gboolean use_systemd;       /* have systemd run trellis-lists-update.service instead (PID 1 is systemd) */
} TrellisListUpdaterOptions;

/**
 * trellis_list_updater_start:
 * Runs the updater once.  With @options->use_systemd, asks systemd for a
 * run of trellis-lists-update.service (the unit's sandbox, its own
 * account): writes @state_dir/lists-update-wanted, which
 * trellis-lists-update.path watches, and waits until the updater's run
 * file (@lists_dir/run) says a run ended after that, or that none began
 * within a minute, or that the run stopped before it ended; trellisd needs
 * no right over systemd.  Otherwise it runs the program itself, as the
 * owner of the lists folder (never root: a folder of root's is refused),
 * no capabilities, no new privileges, the household file on descriptor 3.
 * @done is called on the main context when it ends.  Returns: (transfer
 * full) (nullable), NULL with @error when it could not start.
 */
TrellisListUpdater *trellis_list_updater_start (const TrellisListUpdaterOptions *options,
                                                TrellisListUpdaterDone done,
                                                gpointer user_data,
                                                GError **error);

/** trellis_list_updater_free: forgets the run (the process is left to end; @done is not called). */
void trellis_list_updater_free (TrellisListUpdater *updater);

/**
 * trellis_list_updates_describe:
 * @policy: the policy in force (its sources, the lists it decides with)
 * @lists_dir: where the updater's status file is
 * @problem: (nullable): why the updater's lists are not in force
 * @updating: an update is running now
 *
 * What trellis lists shows, as GetLists returns it: (a{sv}aa{sv}), the
 * state of the lists in force and each source's.  The status file is the
 * updater's (another account's): read as text that may lie, and shown as
 * text only.  Returns: (transfer floating).
 */
GVariant *trellis_list_updates_describe (TrellisPolicy *policy,
                                         const char *lists_dir,
                                         const char *problem,
                                         gboolean updating);

G_END_DECLS
