/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-updates.c — trellisd's side of the published lists (see
 * list-updates.h).
 *
 * The updater is another account (its own under systemd): what it
 * writes is input.  trellisd reads its files without following links,
 * refuses anything but plain files of bounded size, copies the index into
 * its own folder (mode 0600, in a 0700 folder) before mapping it, so no
 * other account can change or cut short a file trellisd has mapped, and
 * validates every slot of the copy before it replaces the one in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "daemon/list-updates.h"
#include "policy/text-safety.h"

#define MANIFEST_MAX (4 * 1024 * 1024)
#define STATUS_MAX   (4 * 1024 * 1024)
#define OUTPUT_MAX   (64 * 1024)
#define RUN_MAX      (OUTPUT_MAX * 2)
/* Under systemd: the file trellisd writes to ask for a run (its own
 * folder; trellis-lists-update.path watches it), how often it looks at the
 * updater's run file meanwhile, and how long it waits. */
#define REQUEST_FILE         "lists-update-wanted"
#define RUN_POLL_MS          250
#define RUN_START_TIMEOUT_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define RUN_TIMEOUT_US       (G_GINT64_CONSTANT (2 * 3600 + 600) * G_USEC_PER_SEC)

/* Reads @path, a plain file of at most @max bytes, not through a link. */
static char *
read_untrusted (const char *path,
                gsize max,
                gsize *ret_length,
                GError **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gsize done = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size > max)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a plain file of at most %" G_GSIZE_FORMAT " bytes", path, max);
      return NULL;
    }
  data = g_malloc ((gsize) st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = read (fd, data + done, (gsize) st.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += (gsize) n;
    }
  close (fd);
  data[done] = '\0';
  *ret_length = done;
  return g_steal_pointer (&data);
}

/* What identifies a manifest: its generation and its index's checksum. */
static char *
manifest_identity (const char *text,
                   gsize length,
                   char **ret_index,
                   guint64 *ret_size)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *generation = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *index = NULL;
  guint64 size = 0;

  if (!g_key_file_load_from_data (key_file, text, length, G_KEY_FILE_NONE, NULL))
    return NULL;
  generation = g_key_file_get_value (key_file, "lists", "generation", NULL);
  checksum = g_key_file_get_value (key_file, "lists", "index-checksum", NULL);
  index = g_key_file_get_value (key_file, "lists", "index", NULL);
  size = g_key_file_get_uint64 (key_file, "lists", "index-size", NULL);
  if (generation == NULL || checksum == NULL || index == NULL)
    return NULL;
  if (ret_index != NULL)
    *ret_index = g_steal_pointer (&index);
  if (ret_size != NULL)
    *ret_size = size;
  return g_strconcat (generation, "/", checksum, NULL);
}

/* Copies @from (a plain file of @size bytes, not a link) to @to, new, 0600. */
static gboolean
copy_index (const char *from,
            const char *to,
            guint64 size,
            GError **error)
{
  struct stat st;
  int in, out;
  off_t offset = 0;
  int saved_errno = 0;

  in = open (from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (in < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", from,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (fstat (in, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size != size
      || size > TRELLIS_LISTS_INDEX_MAX)
    {
      close (in);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a plain file of the size its manifest says (at most 1 GiB)", from);
      return FALSE;
    }
  (void) g_unlink (to);
  out = open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0)
    {
      saved_errno = errno;
      close (in);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", to,
                   g_strerror (saved_errno));
      return FALSE;
    }
  /* In the kernel: no buffer of ours holds the index. */
  while ((guint64) offset < size)
    {
      ssize_t n = sendfile (out, in, &offset, MIN (size - (guint64) offset, 1u << 30));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          saved_errno = n < 0 ? errno : EIO;
          break;
        }
    }
  if (saved_errno == 0 && fsync (out) != 0)
    saved_errno = errno;
  close (in);
  if (close (out) != 0 && saved_errno == 0)
    saved_errno = errno;
  if (saved_errno != 0)
    {
      (void) g_unlink (to);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "copying %s: %s", from,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static TrellisListsIndex *
open_state_copy (const char *state_manifest,
                 const char *state_index,
                 char **problem)
{
  g_autoptr(GError) error = NULL;
  TrellisListsIndex *lists;

  if (!g_file_test (state_manifest, G_FILE_TEST_IS_REGULAR))
    return NULL;
  lists = trellis_lists_index_open (state_manifest, state_index, &error);
  if (lists == NULL && problem != NULL && *problem == NULL)
    *problem = g_strdup_printf ("the copy in force does not check: %s", error->message);
  return lists;
}

TrellisListsIndex *
trellis_list_updates_acquire (const char *lists_dir,
                              const char *state_dir,
                              char **ret_problem)
{
  g_autofree char *src_manifest = g_build_filename (lists_dir, "manifest", NULL);
  g_autofree char *state_manifest = g_build_filename (state_dir, "lists.manifest", NULL);
  g_autofree char *state_index = g_build_filename (state_dir, "lists.idx", NULL);
  g_autofree char *new_manifest = g_build_filename (state_dir, "lists.manifest.new", NULL);
  g_autofree char *new_index = g_build_filename (state_dir, "lists.idx.new", NULL);
  g_autofree char *src_text = NULL;
  g_autofree char *state_text = NULL;
  g_autofree char *src_identity = NULL;
  g_autofree char *state_identity = NULL;
  g_autofree char *index_name = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  gsize src_length = 0, state_length = 0;
  guint64 size = 0;
  TrellisListsIndex *lists;

  src_text = read_untrusted (src_manifest, MANIFEST_MAX, &src_length, &error);
  if (src_text == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        problem = g_strdup (error->message);
      goto in_force;
    }
  src_identity = manifest_identity (src_text, src_length, &index_name, &size);
  if (src_identity == NULL || !trellis_lists_index_file_is_valid (index_name))
    {
      problem = g_strdup_printf ("%s is not a manifest of the updater", src_manifest);
      goto in_force;
    }
  state_text = read_untrusted (state_manifest, MANIFEST_MAX, &state_length, NULL);
  if (state_text != NULL)
    state_identity = manifest_identity (state_text, state_length, NULL, NULL);
  if (g_strcmp0 (src_identity, state_identity) == 0)
    goto in_force; /* nothing new */

  {
    g_autofree char *src_index = g_build_filename (lists_dir, index_name, NULL);
    g_autoptr(GError) copy_error = NULL;

    if (!copy_index (src_index, new_index, size, &copy_error)
        || !g_file_set_contents_full (new_manifest, src_text, (gssize) src_length,
                                      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &copy_error))
      {
        problem = g_strdup (copy_error->message);
        (void) g_unlink (new_index);
        goto in_force;
      }
    lists = trellis_lists_index_open (new_manifest, new_index, &copy_error);
    if (lists == NULL)
      {
        problem = g_strdup_printf ("the lists the updater compiled do not check: %s", copy_error->message);
        (void) g_unlink (new_index);
        (void) g_unlink (new_manifest);
        goto in_force;
      }
    /* The index first: a manifest never describes an index not there.
     * The old copy stays mapped by whoever uses it until they let go. */
    if (g_rename (new_index, state_index) != 0 || g_rename (new_manifest, state_manifest) != 0)
      {
        int saved_errno = errno;

        trellis_lists_index_unref (lists);
        problem = g_strdup_printf ("cannot keep the copy in force: %s", g_strerror (saved_errno));
        goto in_force;
      }
    if (ret_problem != NULL)
      *ret_problem = NULL;
    return lists;
  }

in_force:
  lists = open_state_copy (state_manifest, state_index, &problem);
  if (ret_problem != NULL)
    *ret_problem = g_steal_pointer (&problem);
  return lists;
}

/* ------------------------------------------------------------------------ */
/* Running the updater */

struct _TrellisListUpdater {
  GSubprocess *process;      /* (owned) (nullable) the updater, run by trellisd */
  GCancellable *cancellable; /* (owned) */
  char *run_path;            /* (owned) (nullable) under systemd: the updater's run file */
  gint64 asked_us;           /* ... and when trellisd asked for the run */
  GSource *poll;             /* (owned) (nullable) ... looking at the run file */
  TrellisListUpdaterDone done;
  gpointer user_data;
};

typedef struct {
  uid_t uid;
  gid_t gid;
} Account;

/* In the child, before exec: the lists folder's owner, for good. */
static void
drop_privileges (gpointer data)
{
  const Account *account = data;

  if (setgroups (0, NULL) != 0 || setresgid (account->gid, account->gid, account->gid) != 0
      || setresuid (account->uid, account->uid, account->uid) != 0
      || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    _exit (126);
}

static void
updater_finished (GObject *source,
                  GAsyncResult *result,
                  gpointer user_data)
{
  TrellisListUpdater *updater = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *shown = NULL;
  int status = -1;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &output, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; /* forgotten: @updater is gone */
      shown = g_strdup (error->message);
    }
  else
    {
      if (g_subprocess_get_if_exited (G_SUBPROCESS (source)))
        status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
      shown = g_utf8_make_valid (output != NULL ? output : "", MIN (strlen (output != NULL ? output : ""), OUTPUT_MAX));
    }
  updater->done (status, shown, updater->user_data);
}

/* What the updater's run file says: the run that began at @ret_started
 * (0: none) has ended (@ret_finished not 0) with @ret_status and
 * @ret_output, or still runs (@ret_running).  The file is another
 * account's: bounded, not through a link, and its words made valid UTF-8. */
static void
run_file_read (const char *path,
               gint64 *ret_started,
               gint64 *ret_finished,
               gboolean *ret_running,
               int *ret_status,
               char **ret_output)
{
  g_autoptr(GKeyFile) record = g_key_file_new ();
  g_autofree char *text = NULL;
  g_autofree char *output = NULL;
  gsize length = 0;
  gint64 pid;

  *ret_started = *ret_finished = 0;
  *ret_running = FALSE;
  *ret_status = -1;
  *ret_output = NULL;
  text = read_untrusted (path, RUN_MAX, &length, NULL);
  if (text == NULL || !g_key_file_load_from_data (record, text, length, G_KEY_FILE_NONE, NULL))
    return;
  *ret_started = g_key_file_get_int64 (record, "run", "started-us", NULL);
  *ret_finished = g_key_file_get_int64 (record, "run", "finished-us", NULL);
  if (*ret_finished != 0)
    {
      *ret_status = g_key_file_get_integer (record, "run", "exit-status", NULL);
      output = g_key_file_get_string (record, "run", "output", NULL);
      if (output != NULL)
        *ret_output = g_utf8_make_valid (output, MIN (strlen (output), OUTPUT_MAX));
      return;
    }
  /* Begun and not ended: it runs while its process does (another
   * account's: kill() says EPERM, not ESRCH). */
  pid = g_key_file_get_int64 (record, "run", "pid", NULL);
  *ret_running = pid > 1 && pid <= G_MAXINT32 && (kill ((pid_t) pid, 0) == 0 || errno == EPERM);
}

/* Under systemd: has the run trellisd asked for ended? */
static gboolean
run_poll (gpointer user_data)
{
  TrellisListUpdater *updater = user_data;
  g_autofree char *output = NULL;
  gint64 started, finished, now = g_get_real_time ();
  gboolean running;
  int status;
  const char *failed = NULL;

  run_file_read (updater->run_path, &started, &finished, &running, &status, &output);
  if (finished != 0 && finished >= updater->asked_us)
    {
      /* @done frees @updater, and this source with it. */
      updater->done (status, output != NULL ? output : "", updater->user_data);
      return G_SOURCE_REMOVE;
    }
  if (started >= updater->asked_us && finished == 0 && !running)
    failed = "the list updater stopped before it ended: see journalctl -u trellis-lists-update";
  else if (!running && started < updater->asked_us && now - updater->asked_us > RUN_START_TIMEOUT_US)
    failed = "the list updater did not start within a minute: is trellis-lists-update.path "
             "enabled? (systemctl enable --now trellis-lists-update.path)";
  else if (now - updater->asked_us > RUN_TIMEOUT_US)
    failed = "the list updater did not end within its time (2 hours): see journalctl -u trellis-lists-update";
  if (failed != NULL)
    {
      updater->done (-1, failed, updater->user_data);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Under systemd: asks for a run by writing the file the path unit watches
 * (trellisd's own folder), and then waits for the run file to say it
 * ended.  trellisd needs no right over systemd for it. */
static TrellisListUpdater *
updater_ask_systemd (const TrellisListUpdaterOptions *options,
                     TrellisListUpdaterDone done,
                     gpointer user_data,
                     GError **error)
{
  g_autofree char *request = g_build_filename (options->state_dir, REQUEST_FILE, NULL);
  g_autofree char *line = NULL;
  TrellisListUpdater *updater;
  gint64 now = g_get_real_time ();
  int fd, saved_errno = 0;

  fd = open (request, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    saved_errno = errno;
  else
    {
      line = g_strdup_printf ("%" G_GINT64_FORMAT "\n", now);
      if (write (fd, line, strlen (line)) != (ssize_t) strlen (line))
        saved_errno = errno != 0 ? errno : EIO;
      if (close (fd) != 0 && saved_errno == 0)
        saved_errno = errno;
    }
  if (saved_errno != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot ask systemd for a run (%s): %s", request, g_strerror (saved_errno));
      return NULL;
    }
  updater = g_new0 (TrellisListUpdater, 1);
  updater->cancellable = g_cancellable_new ();
  updater->run_path = g_build_filename (options->lists_dir, "run", NULL);
  updater->asked_us = now;
  updater->done = done;
  updater->user_data = user_data;
  updater->poll = g_timeout_source_new (RUN_POLL_MS);
  g_source_set_callback (updater->poll, run_poll, updater, NULL);
  g_source_attach (updater->poll, NULL);
  return updater;
}

TrellisListUpdater *
trellis_list_updater_start (const TrellisListUpdaterOptions *options,
                            TrellisListUpdaterDone done,
                            gpointer user_data,
                            GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *const environ[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", NULL };
  static Account account; /* read by the child only, before exec */
  TrellisListUpdater *updater;
  GSubprocess *process;
  struct stat st;
  int fd;

  if (options->use_systemd)
    return updater_ask_systemd (options, done, user_data, error);

  if (g_stat (options->lists_dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "there is no lists folder %s: create it for an unprivileged account", options->lists_dir);
      return NULL;
    }
  if (st.st_uid == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s belongs to root: the list updater never runs as root; "
                   "give the folder to an unprivileged account",
                   options->lists_dir);
      return NULL;
    }
  fd = open (options->household_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s",
                   options->household_path, g_strerror (saved_errno));
      return NULL;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE
                                        | G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_environ (launcher, (char **) environ);
  g_subprocess_launcher_take_fd (launcher, fd, 3);
  account.uid = st.st_uid;
  account.gid = st.st_gid;
  g_subprocess_launcher_set_child_setup (launcher, drop_privileges, &account, NULL);
  g_subprocess_launcher_set_cwd (launcher, "/");
  g_ptr_array_add (argv, (gpointer) options->updater);
  g_ptr_array_add (argv, (gpointer) "--household-fd=3");
  g_ptr_array_add (argv, (gpointer) "--lists-dir");
  g_ptr_array_add (argv, (gpointer) options->lists_dir);
  if (options->data_dir != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--data-dir");
      g_ptr_array_add (argv, (gpointer) options->data_dir);
    }
  if (options->config != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--config");
      g_ptr_array_add (argv, (gpointer) options->config);
    }
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (process == NULL)
    return NULL;
  updater = g_new0 (TrellisListUpdater, 1);
  updater->process = process;
  updater->cancellable = g_cancellable_new ();
  updater->done = done;
  updater->user_data = user_data;
  g_subprocess_communicate_utf8_async (process, NULL, updater->cancellable, updater_finished, updater);
  return updater;
}

void
trellis_list_updater_free (TrellisListUpdater *updater)
{
  if (updater == NULL)
    return;
  g_cancellable_cancel (updater->cancellable);
  g_clear_object (&updater->cancellable);
  g_clear_object (&updater->process);
  if (updater->poll != NULL)
    g_source_destroy (updater->poll);
  g_clear_pointer (&updater->poll, g_source_unref);
  g_free (updater->run_path);
  g_free (updater);
}

/* ------------------------------------------------------------------------ */
/* What trellis lists shows */

/* Text of the updater's: one line, printable, bounded. */
static char *
status_text (GKeyFile *status,
             const char *group,
             const char *key)
{
  g_autofree char *value = status != NULL ? g_key_file_get_value (status, group, key, NULL) : NULL;
  g_autofree char *valid = NULL;
  GString *out;

  if (value == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (value, MIN (strlen (value), 1000));
  out = g_string_new (NULL);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (trellis_text_char_is_unsafe (c))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static gint64
status_int (GKeyFile *status,
            const char *group,
            const char *key)
{
  g_autofree char *value = status != NULL ? g_key_file_get_value (status, group, key, NULL) : NULL;
  gint64 n = 0;

  if (value == NULL || !g_ascii_string_to_signed (value, 10, 0, G_MAXINT64, &n, NULL))
    return 0;
  return n;
}

static const char *
text_or_empty (const char *text)
{
  return text != NULL ? text : "";
}

GVariant *
trellis_list_updates_describe (TrellisPolicy *policy,
                               const char *lists_dir,
                               const char *problem,
                               gboolean updating)
{
  g_autofree char *status_path = g_build_filename (lists_dir, "status", NULL);
  g_autofree char *status_data = NULL;
  g_autoptr(GKeyFile) status = NULL;
  TrellisListsIndex *lists = trellis_policy_get_lists (policy);
  const TrellisListSource *const *sources;
  GVariantBuilder summary, all;
  guint n_sources = 0, n_information = 0, n_overridden = 0, n_categories = 0;
  const TrellisCategory *const *categories = trellis_policy_get_categories (policy, &n_categories);
  gsize length = 0;

  status_data = read_untrusted (status_path, STATUS_MAX, &length, NULL);
  if (status_data != NULL)
    {
      status = g_key_file_new ();
      if (!g_key_file_load_from_data (status, status_data, length, G_KEY_FILE_NONE, NULL))
        g_clear_pointer (&status, g_key_file_unref);
    }

  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&summary, "{sv}", "in_force",
                         g_variant_new_string (lists != NULL ? "published" : "shipped"));
  g_variant_builder_add (&summary, "{sv}", "generation",
                         g_variant_new_uint64 (lists != NULL ? trellis_lists_index_get_generation (lists) : 0));
  g_variant_builder_add (&summary, "{sv}", "compiled",
                         g_variant_new_int64 (lists != NULL ? trellis_lists_index_get_compiled (lists) : 0));
  g_variant_builder_add (&summary, "{sv}", "updating", g_variant_new_boolean (updating));
  g_variant_builder_add (&summary, "{sv}", "problem", g_variant_new_string (text_or_empty (problem)));
  g_variant_builder_add (&summary, "{sv}", "last_run", g_variant_new_int64 (status_int (status, "run", "finished")));
  if (trellis_policy_get_information (policy, &n_information, &n_overridden))
    {
      g_variant_builder_add (&summary, "{sv}", "information_names", g_variant_new_uint32 (n_information));
      g_variant_builder_add (&summary, "{sv}", "information_overridden", g_variant_new_uint32 (n_overridden));
    }
  {
    GVariantBuilder counts;

    g_variant_builder_init (&counts, G_VARIANT_TYPE ("a(ssu)"));
    for (guint c = 0; c < n_categories; c++)
      g_variant_builder_add (&counts, "(ssu)", categories[c]->id, categories[c]->name,
                             categories[c]->n_domains);
    g_variant_builder_add (&summary, "{sv}", "categories", g_variant_builder_end (&counts));
  }

  g_variant_builder_init (&all, G_VARIANT_TYPE ("aa{sv}"));
  sources = trellis_policy_get_list_sources (policy, &n_sources);
  for (guint i = 0; i < n_sources; i++)
    {
      const TrellisListSource *source = sources[i];
      g_autofree char *group = g_strconcat ("source ", source->id, NULL);
      g_autofree char *status_url = status != NULL ? g_key_file_get_value (status, group, "url", NULL) : NULL;
      gboolean have_status = g_strcmp0 (status_url, source->url) == 0;
      g_autofree char *version = NULL;
      g_autofree char *last_error = have_status ? status_text (status, group, "last-error") : g_strdup ("");
      g_autofree char *refused = NULL;
      guint64 lines = 0;
      guint names = 0;
      gint64 fetched = 0;
      gboolean in_force = lists != NULL && !source->removed
                          && trellis_lists_index_get_source (lists, source->id, &names, &fetched, &version);
      GVariantBuilder b;

      if (in_force)
        trellis_lists_index_get_source_lines (lists, source->id, &lines, &refused);
      if (refused != NULL)
        {
          /* "reason=N;..." of the updater's: only those characters pass. */
          for (char *p = refused; *p != '\0'; p++)
            if (!g_ascii_isalnum (*p) && strchr ("=;-", *p) == NULL)
              *p = '?';
        }
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (source->id));
      g_variant_builder_add (&b, "{sv}", "category", g_variant_new_string (source->category));
      g_variant_builder_add (&b, "{sv}", "url", g_variant_new_string (source->url));
      g_variant_builder_add (&b, "{sv}", "format",
                             g_variant_new_string (trellis_list_format_to_string (source->format)));
      g_variant_builder_add (&b, "{sv}", "licence", g_variant_new_string (text_or_empty (source->licence)));
      g_variant_builder_add (&b, "{sv}", "attribution", g_variant_new_string (text_or_empty (source->attribution)));
      g_variant_builder_add (&b, "{sv}", "homepage", g_variant_new_string (text_or_empty (source->homepage)));
      g_variant_builder_add (&b, "{sv}", "origin",
                             g_variant_new_string (source->household ? "household" : "shipped"));
      g_variant_builder_add (&b, "{sv}", "removed", g_variant_new_boolean (source->removed));
      g_variant_builder_add (&b, "{sv}", "in_force", g_variant_new_boolean (in_force));
      g_variant_builder_add (&b, "{sv}", "names", g_variant_new_uint32 (in_force ? names : 0));
      g_variant_builder_add (&b, "{sv}", "fetched", g_variant_new_int64 (in_force ? fetched : 0));
      {
        g_autofree char *safe = NULL;

        if (version != NULL)
          {
            safe = g_utf8_make_valid (version, MIN (strlen (version), 200));
            for (char *p = safe; *p != '\0'; p++)
              if ((guchar) *p < 0x20 || *p == 0x7f)
                *p = '?';
          }
        g_variant_builder_add (&b, "{sv}", "version", g_variant_new_string (text_or_empty (safe)));
      }
      g_variant_builder_add (&b, "{sv}", "last_attempt",
                             g_variant_new_int64 (have_status ? status_int (status, group, "last-attempt") : 0));
      g_variant_builder_add (&b, "{sv}", "last_success",
                             g_variant_new_int64 (have_status ? status_int (status, group, "last-success") : 0));
      g_variant_builder_add (&b, "{sv}", "last_error", g_variant_new_string (last_error));
      g_variant_builder_add (&b, "{sv}", "lines", g_variant_new_uint64 (lines));
      g_variant_builder_add (&b, "{sv}", "refused", g_variant_new_string (text_or_empty (refused)));
      g_variant_builder_add (&b, "{sv}", "file", g_variant_new_string (text_or_empty (source->file)));
      g_variant_builder_add (&b, "{sv}", "line", g_variant_new_uint32 (source->line));
      g_variant_builder_add_value (&all, g_variant_builder_end (&b));
    }
  return g_variant_new ("(@a{sv}@aa{sv})", g_variant_builder_end (&summary), g_variant_builder_end (&all));
}
