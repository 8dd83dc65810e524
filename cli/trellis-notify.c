/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis-notify — the session agent (started by XDG autostart).  It asks
 * trellisd on the system bus for the signals meant for its own user
 * (Subscribe: trellisd unicasts them to this connection only) and turns
 * them into desktop notifications on the session bus:
 *
 *   a child:  "NAME is blocked." with the rule's explanation, rate-limited;
 *             during quiet hours only the first notification, the one that
 *             explains them; its own requests once answered;
 *   a parent: new review requests.
 *
 * Who we are (a child, and which) is asked again for every signal with
 * GetStatus(""), so a changed household file is followed without restart.
 * When trellisd restarts, we subscribe again.  It links GLib and libnotify,
 * and of policy/ only the names of the rule kinds (rule-kind.c): no daemon/
 * code.
 *
 * Any local program may send a signal to any connection on the system bus,
 * naming any path and interface.  So signals are taken only from the
 * unique name that owns org.trellis.Trellis1 now (the bus vouches for a
 * signal's sender): the match rules name that owner, not the well-known
 * name, which GDBus before 2.78.5 does not check on a unicast signal
 * (CVE-2024-34397), and every signal's sender is compared with it again.
 * The owner is followed with a name watch (NameOwnerChanged).  Calls go
 * to it through the proxy generated from the interface's XML
 * (bus/trellis-bus.h), made for the owner's unique name, without its
 * signals; a signal's arguments are checked against the XML's types.
 */
#include <locale.h>
#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <libnotify/notify.h>

#include "bus/trellis-bus.h"
#include "cli/cli-text.h"
#include "policy/trellis-policy.h"

/* How long a call to trellisd may take. */
#define TRELLIS_NOTIFY_CALL_TIMEOUT_MS 5000

/* Rate limits: one notification per name per minute, three per minute. */
#define TRELLIS_NOTIFY_WINDOW_USEC    (60 * G_USEC_PER_SEC)
#define TRELLIS_NOTIFY_MAX_PER_WINDOW 3
#define TRELLIS_NOTIFY_NAMES_MAX      1024

typedef struct {
  GMainLoop *loop;                              /* (owned) */
  GDBusConnection *system;                      /* (owned) */
  GCancellable *cancellable;                    /* (owned) */
  GHashTable *last_by_name;                     /* (owned) name → gint64 * (monotonic µs) */
  gint64 recent[TRELLIS_NOTIFY_MAX_PER_WINDOW]; /* last shown, ring */
  guint recent_next;
  guint watch_id;
  char *owner;               /* (owned) (nullable) trellisd's unique name */
  TrellisTrellis1 *trellisd; /* (owned) (nullable) calls to @owner */
  guint blocked_sub;         /* match rules on @owner; 0 without one */
  guint request_sub;
  GSource *resubscribe; /* (owned) (nullable) a Subscribe to try again */
  gboolean verbose;
  gboolean quiet_shown; /* the quiet-hours one went out */
  int exit_status;
} Agent;

/* One signal waiting for the GetStatus("") that tells who we are. */
typedef struct {
  Agent *agent;
  char *member;     /* (owned) "Blocked" or "RequestChanged" */
  GVariant *params; /* (owned) */
} PendingSignal;

static void
pending_signal_free (PendingSignal *p)
{
  g_free (p->member);
  g_variant_unref (p->params);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PendingSignal, pending_signal_free)

static void
agent_log (Agent *agent, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
agent_log (Agent *agent, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list ap;

  if (!agent->verbose)
    return;
  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_printerr ("trellis-notify: %s\n", text);
}

/* ------------------------------------------------------------------------ */
/* Rate limits */

/* TRUE when the overall limit lets one more notification out now. */
static gboolean
agent_overall_allows (Agent *agent, gint64 now)
{
  gint64 oldest = agent->recent[agent->recent_next];

  return oldest == 0 || now - oldest >= TRELLIS_NOTIFY_WINDOW_USEC;
}

static void
agent_overall_count (Agent *agent, gint64 now)
{
  agent->recent[agent->recent_next] = now;
  agent->recent_next = (agent->recent_next + 1) % TRELLIS_NOTIFY_MAX_PER_WINDOW;
}

static gboolean
name_entry_expired (gpointer key, gpointer value, gpointer user_data)
{
  const gint64 *then = value;
  const gint64 *now = user_data;

  (void) key;
  return *now - *then >= TRELLIS_NOTIFY_WINDOW_USEC;
}

/* TRUE when neither limit holds back a notification about @name; counts it. */
static gboolean
agent_rate_limit_pass (Agent *agent, const char *name)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *key = g_ascii_strdown (name, -1);
  gint64 *then;

  g_hash_table_foreach_remove (agent->last_by_name, name_entry_expired, &now);
  if (g_hash_table_contains (agent->last_by_name, key))
    {
      agent_log (agent, "not shown (%s was shown less than a minute ago)", name);
      return FALSE;
    }
  if (!agent_overall_allows (agent, now))
    {
      agent_log (agent, "not shown (%d notifications in the last minute)",
                 TRELLIS_NOTIFY_MAX_PER_WINDOW);
      return FALSE;
    }
  if (g_hash_table_size (agent->last_by_name) >= TRELLIS_NOTIFY_NAMES_MAX)
    return FALSE;
  then = g_new (gint64, 1);
  *then = now;
  g_hash_table_insert (agent->last_by_name, g_steal_pointer (&key), then);
  agent_overall_count (agent, now);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Showing */

/* @summary and @body are plain text, composed by the callers below from
 * what trellisd sent, each part of which was made inert there
 * (trellis_cli_text_inert(): an escape sequence, a newline or a
 * bidirectional override in a child's message shows as what it is).  The
 * summary is plain text to every notification server; the body is markup
 * to most (the "body-markup" capability), so it is escaped here: a "<b>" a
 * child wrote stays three characters. */
static void
agent_show (Agent *agent, const char *summary, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *shown_body = g_markup_escape_text (body, -1);
  NotifyNotification *n;

  n = notify_notification_new (summary, shown_body, "dialog-information");
  notify_notification_set_category (n, "network");
  if (!notify_notification_show (n, &error))
    g_printerr ("trellis-notify: %s: %s\n",
                _ ("cannot show a notification"), error->message);
  else
    agent_log (agent, "shown: %s", summary);
  g_object_unref (n);
}

static char *
why_hint (const char *name)
{
  /* Translators: the last line of a notification about a blocked site; %s
   * is the site's name, and “trellis why %s” a command to type as is. */
  return g_strdup_printf (_ ("Type “trellis why %s” to see why."), name);
}

static void
agent_show_blocked (Agent *agent,
                    const char *name,
                    const char *rule_kind,
                    const char *explanation,
                    gint64 until,
                    gboolean quiet_now,
                    const char *quiet_until)
{
  g_autofree char *summary = NULL;
  g_autofree char *opens = NULL;
  g_autofree char *hint = why_hint (name);
  g_autofree char *body = NULL;
  TrellisRuleKind kind = TRELLIS_RULE_KIND_DEFAULT;

  if (quiet_now
      || (trellis_rule_kind_from_string (rule_kind, &kind) && kind == TRELLIS_RULE_KIND_QUIET_HOURS))
    {
      /* Silent during quiet hours, but for the one that explains them. */
      if (agent->quiet_shown)
        {
          agent_log (agent, "not shown (quiet hours: %s)", name);
          return;
        }
      agent->quiet_shown = TRUE;
      agent_overall_count (agent, g_get_monotonic_time ());
      if (until > 0)
        {
          g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (until);

          if (t != NULL)
            opens = g_date_time_format (t, "%H:%M");
        }
      if (opens == NULL && quiet_until != NULL && quiet_until[0] != '\0')
        opens = g_strdup (quiet_until);
      /* Translators: the title of a notification shown to a child at the
       * start of quiet hours (bedtime); %s is a site, e.g. youtube.com. */
      summary = g_strdup_printf (_ ("%s is off during quiet hours."), name);
      if (opens != NULL)
        {
          /* Translators: %s is a time of day, e.g. 07:00. */
          g_autofree char *when = g_strdup_printf (_ ("It opens again at %s."), opens);

          body = g_strdup_printf ("%s\n%s", when, hint);
        }
      else
        body = g_strdup_printf ("%s\n%s", explanation, hint);
      agent_show (agent, summary, body);
      return;
    }

  agent->quiet_shown = FALSE;
  if (!agent_rate_limit_pass (agent, name))
    return;
  /* Translators: the title of a notification shown to a child when a site
   * does not open; %s is its name, e.g. example-game.com. */
  summary = g_strdup_printf (_ ("%s is blocked."), name);
  body = explanation[0] != '\0' ? g_strdup_printf ("%s\n%s", explanation, hint)
                                : g_strdup (hint);
  agent_show (agent, summary, body);
}

static void
agent_show_request (Agent *agent,
                    const char *me,
                    const char *child,
                    const char *name,
                    const char *state,
                    const char *message)
{
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;
  gboolean mine = me != NULL && g_strcmp0 (me, child) == 0;

  if (g_strcmp0 (state, "pending") == 0 && me == NULL)
    {
      /* Translators: the title of a notification shown to a parent; %s is
       * the child's name. */
      summary = g_strdup_printf (_ ("A request from %s"), child);
      /* Translators: shown to a parent: the child (first %s) asks to open
       * a site (second %s); the third %s is the child's message.
       * “trellis requests” is a command to type as is. */
      body = g_strdup_printf (_ ("%s asks to open %s: “%s”. Type “trellis requests” to answer."),
                              child, name, message);
    }
  else if (g_strcmp0 (state, "approved") == 0 && mine)
    {
      /* Translators: shown to a child; %s is the site it asked for. */
      summary = g_strdup_printf (_ ("Your request for %s was approved."), name);
      body = g_strdup (message);
    }
  else if (g_strcmp0 (state, "declined") == 0 && mine)
    {
      /* Translators: shown to a child; %s is the site it asked for. */
      summary = g_strdup_printf (_ ("Your request for %s was declined."), name);
      body = g_strdup (message);
    }
  else
    {
      agent_log (agent, "request %s for %s (%s): not for this account", name, child, state);
      return;
    }
  agent_show (agent, summary, body);
}

/* ------------------------------------------------------------------------ */
/* Signals */

static void
status_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PendingSignal) p = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autofree char *me = NULL;
  g_autofree char *quiet_until = NULL;
  gboolean quiet_now = FALSE;
  Agent *agent = p->agent;

  if (!trellis_trellis1_call_get_status_finish (TRELLIS_TRELLIS1 (source), &status, result, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (status != NULL)
    {
      g_variant_lookup (status, "name", "s", &me);
      g_variant_lookup (status, "quiet_now", "b", &quiet_now);
      g_variant_lookup (status, "quiet_until", "s", &quiet_until);
    }
  else
    /* Not a child: a parent (or trellisd went away meanwhile). */
    agent_log (agent, "GetStatus: %s", error->message);

  /* Every text below is shown as written, never obeyed (see agent_show). */
  if (g_strcmp0 (p->member, "Blocked") == 0)
    {
      const char *child, *name, *rule_kind, *explanation;
      g_autofree char *shown_name = NULL, *shown_explanation = NULL, *shown_until = NULL;
      gint64 until;

      g_variant_get (p->params, "(&s&s&s&sx)", &child, &name, &rule_kind, &explanation, &until);
      shown_name = trellis_cli_text_inert (name);
      shown_explanation = trellis_cli_text_inert (explanation);
      shown_until = trellis_cli_text_inert (quiet_until);
      /* Parents are told of requests, not of every block. */
      if (me == NULL || g_strcmp0 (me, child) != 0)
        {
          g_autofree char *shown_child = trellis_cli_text_inert (child);

          agent_log (agent, "%s blocked for %s: not for this account", shown_name, shown_child);
          return;
        }
      agent_show_blocked (agent, shown_name, rule_kind, shown_explanation, until, quiet_now,
                          shown_until);
    }
  else
    {
      const char *child, *name, *state, *message;
      g_autofree char *shown_child = NULL, *shown_name = NULL, *shown_message = NULL;
      guint32 id;

      g_variant_get (p->params, "(u&s&s&s&s)", &id, &child, &name, &state, &message);
      shown_child = trellis_cli_text_inert (child);
      shown_name = trellis_cli_text_inert (name);
      shown_message = trellis_cli_text_inert (message);
      agent_show_request (agent, me, shown_child, shown_name, state, shown_message);
    }
}

/* The type of @member's arguments as the interface has them; NULL for a
 * signal it does not have. */
static GVariantType *
signal_type (const char *member)
{
  GDBusSignalInfo *info = g_dbus_interface_info_lookup_signal (trellis_trellis1_interface_info (),
                                                               member);
  g_autoptr(GString) type = NULL;

  if (info == NULL)
    return NULL;
  type = g_string_new ("(");
  for (guint i = 0; info->args != NULL && info->args[i] != NULL; i++)
    g_string_append (type, info->args[i]->signature);
  g_string_append_c (type, ')');
  return g_variant_type_new (type->str);
}

static void
signal_received (GDBusConnection *connection,
                 const char *sender,
                 const char *path,
                 const char *interface,
                 const char *member,
                 GVariant *params,
                 gpointer user_data)
{
  Agent *agent = user_data;
  PendingSignal *p;
  g_autoptr(GVariantType) type = signal_type (member);

  (void) path;
  (void) interface;
  /* The match rule names the owner already; this holds even where GDBus
   * would let another sender's unicast signal through. */
  if (agent->owner == NULL || g_strcmp0 (sender, agent->owner) != 0)
    {
      agent_log (agent, "ignoring %s from %s: it is not trellisd (%s)", member,
                 sender != NULL ? sender : "(none)",
                 agent->owner != NULL ? agent->owner : "not on the bus");
      return;
    }
  if (type == NULL || !g_variant_is_of_type (params, type))
    {
      agent_log (agent, "ignoring %s with arguments %s", member, g_variant_get_type_string (params));
      return;
    }
  agent_log (agent, "signal %s", member);
  p = g_new0 (PendingSignal, 1);
  p->agent = agent;
  p->member = g_strdup (member);
  p->params = g_variant_ref (params);
  trellis_trellis1_call_get_status (agent->trellisd, "", agent->cancellable, status_ready, p);
}

/* ------------------------------------------------------------------------ */
/* Subscribing, again whenever trellisd comes back */

#define TRELLIS_NOTIFY_RESUBSCRIBE_SECONDS 30

static void agent_subscribe (Agent *agent);

static gboolean
resubscribe_due (gpointer user_data)
{
  Agent *agent = user_data;

  g_clear_pointer (&agent->resubscribe, g_source_unref);
  if (agent->owner != NULL)
    agent_subscribe (agent);
  return G_SOURCE_REMOVE;
}

static void
subscribe_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Agent *agent = user_data;
  g_autoptr(GError) error = NULL;

  if (!trellis_trellis1_call_subscribe_finish (TRELLIS_TRELLIS1 (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_printerr ("trellis-notify: %s: %s\n",
                  _ ("cannot subscribe to trellisd"), error->message);
      /* Say, trellisd had no room (another account's connections): try
       * again in a while, as long as it is the same trellisd. */
      if (agent->owner != NULL && agent->resubscribe == NULL)
        {
          agent->resubscribe = g_timeout_source_new_seconds (TRELLIS_NOTIFY_RESUBSCRIBE_SECONDS);
          g_source_set_callback (agent->resubscribe, resubscribe_due, agent, NULL);
          g_source_attach (agent->resubscribe, NULL);
        }
      return;
    }
  agent_log (agent, "subscribed");
}

static void
agent_subscribe (Agent *agent)
{
  trellis_trellis1_call_subscribe (agent->trellisd, agent->cancellable, subscribe_ready, agent);
}

/* Forgets the owner: its match rules go, and a pending retry with them. */
static void
agent_forget_owner (Agent *agent)
{
  if (agent->blocked_sub != 0)
    g_dbus_connection_signal_unsubscribe (agent->system, agent->blocked_sub);
  if (agent->request_sub != 0)
    g_dbus_connection_signal_unsubscribe (agent->system, agent->request_sub);
  agent->blocked_sub = agent->request_sub = 0;
  if (agent->resubscribe != NULL)
    {
      g_source_destroy (agent->resubscribe);
      g_clear_pointer (&agent->resubscribe, g_source_unref);
    }
  g_clear_object (&agent->trellisd);
  g_clear_pointer (&agent->owner, g_free);
}

static void
trellisd_appeared (GDBusConnection *connection,
                   const char *name,
                   const char *owner,
                   gpointer user_data)
{
  Agent *agent = user_data;
  g_autoptr(GError) error = NULL;

  agent_log (agent, "%s is %s: subscribing", name, owner);
  agent_forget_owner (agent);
  /* For a unique name, with neither properties nor signals, the proxy is
   * made without a word on the bus. */
  agent->trellisd = trellis_trellis1_proxy_new_sync (connection,
                                                     G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                                       | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS
                                                       | G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                     owner, TRELLIS_DBUS_PATH, NULL, &error);
  if (agent->trellisd == NULL)
    {
      g_printerr ("trellis-notify: %s: %s\n", _ ("cannot subscribe to trellisd"), error->message);
      return;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (agent->trellisd), TRELLIS_NOTIFY_CALL_TIMEOUT_MS);
  agent->owner = g_strdup (owner);
  /* The bus delivers a unicast signal only when a match rule asks for it;
   * signal_subscribe adds the rule, for this sender alone.  Rules first,
   * so that nothing sent after Subscribe is missed. */
  agent->blocked_sub =
    g_dbus_connection_signal_subscribe (connection, owner, TRELLIS_DBUS_INTERFACE, "Blocked",
                                        TRELLIS_DBUS_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        signal_received, agent, NULL);
  agent->request_sub =
    g_dbus_connection_signal_subscribe (connection, owner, TRELLIS_DBUS_INTERFACE,
                                        "RequestChanged", TRELLIS_DBUS_PATH, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, signal_received, agent, NULL);
  agent_subscribe (agent);
}

static void
trellisd_vanished (GDBusConnection *connection,
                   const char *name,
                   gpointer user_data)
{
  Agent *agent = user_data;

  (void) connection;
  agent_forget_owner (agent);
  agent_log (agent, "%s is not on the bus; waiting for it", name);
}

static void
system_bus_closed (GDBusConnection *connection,
                   gboolean remote_peer_vanished,
                   GError *error,
                   gpointer user_data)
{
  Agent *agent = user_data;

  (void) connection;
  (void) remote_peer_vanished;
  g_printerr ("trellis-notify: %s%s%s\n", _ ("the system bus went away"),
              error != NULL ? ": " : "", error != NULL ? error->message : "");
  agent->exit_status = 1;
  g_main_loop_quit (agent->loop);
}

static gboolean
quit_on_signal (gpointer user_data)
{
  Agent *agent = user_data;

  agent_log (agent, "stopping");
  g_main_loop_quit (agent->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  Agent agent;
  guint sigterm_id, sigint_id;
  const GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      N_ ("Say what arrives and what is shown"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version,
      N_ ("Print the version and exit"), NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Translators: what trellis-notify --help says it is. */
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _ ("Shows Trellis’s notifications on the desktop."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("trellis-notify: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("trellis-notify %s\n", PACKAGE_VERSION);
      return 0;
    }

  memset (&agent, 0, sizeof agent);
  agent.verbose = verbose;

  if (!notify_init ("Trellis"))
    {
      g_printerr ("trellis-notify: %s\n", _ ("cannot talk to the notification service"));
      return 1;
    }
  agent.system = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (agent.system == NULL)
    {
      g_printerr ("trellis-notify: %s: %s\n", _ ("cannot reach the system bus"), error->message);
      notify_uninit ();
      return 1;
    }
  g_dbus_connection_set_exit_on_close (agent.system, FALSE);

  agent.loop = g_main_loop_new (NULL, FALSE);
  agent.cancellable = g_cancellable_new ();
  agent.last_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_signal_connect (agent.system, "closed", G_CALLBACK (system_bus_closed), &agent);
  /* Signals are subscribed to once the name's owner is known. */
  agent.watch_id = g_bus_watch_name_on_connection (agent.system, TRELLIS_DBUS_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   trellisd_appeared, trellisd_vanished,
                                                   &agent, NULL);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_on_signal, &agent);
  sigint_id = g_unix_signal_add (SIGINT, quit_on_signal, &agent);

  agent_log (&agent, "running");
  g_main_loop_run (agent.loop);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_cancellable_cancel (agent.cancellable);
  g_bus_unwatch_name (agent.watch_id);
  agent_forget_owner (&agent);
  /* Let the cancelled calls finish (they free their data). */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_hash_table_unref (agent.last_by_name);
  g_object_unref (agent.cancellable);
  g_main_loop_unref (agent.loop);
  g_object_unref (agent.system);
  notify_uninit ();
  return agent.exit_status;
}
