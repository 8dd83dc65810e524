/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * org.trellis.Trellis1 on a private bus (GTestDBus) with a fake backend.
 *
 * Every connection to a private bus has the test's own uid, so the fake
 * backend's whois answers with the role the test sets (child alice, parent,
 * or nobody) for whatever uid the bus reports; it also records that uid, so
 * the test can see it came from the bus.  The household is two children,
 * alice and bob; request 7 exists.
 *
 * A fake polkit authority, when a test wants one, owns
 * org.freedesktop.PolicyKit1 on the same bus from its own connection,
 * answers CheckAuthorization as the test says, and records what it was
 * asked.
 */
#include "tests/unit/test-common.h"

#include <unistd.h>

#include <gio/gio.h>

#include "daemon/dbus-service.h"

typedef enum {
  FAKE_OTHER,
  FAKE_CHILD,
  FAKE_PARENT,
} FakeRole;

typedef struct {
  FakeRole role;
  char *child;       /* the caller's child when FAKE_CHILD */
  guint32 whois_uid; /* last uid asked about */
  guint n_whois;
  guint n_calls;    /* backend calls beyond whois */
  char *last_child; /* CHILD the backend was last given ("(all)" for NULL) */
  guint32 last_id;
  gint64 last_seconds;
  guint64 last_before; /* GetLog's cursor, as the backend got it */
  guint32 last_limit;
  gboolean last_with_devices; /* GetLog: whether a gateway's devices' entries were asked */
  char *last_device;          /* GetDeviceLog's device ("(any)" for NULL) */
  gboolean wrong_type;        /* get_status and get_log answer with the wrong type */
  guint log_delay_ms;         /* get_log and clear_log answer from a thread, this late */
  gint log_started;           /* atomic: get_log or clear_log was called */
} Fake;

static gboolean
known_child (const char *child,
             GError **error)
{
  if (g_strcmp0 (child, "alice") == 0 || g_strcmp0 (child, "bob") == 0)
    return TRUE;
  g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND,
               "No child called %s.", child);
  return FALSE;
}

static void
fake_saw (Fake *fake,
          const char *child)
{
  fake->n_calls++;
  g_free (fake->last_child);
  fake->last_child = g_strdup (child != NULL ? child : "(all)");
}

static gboolean
fake_whois (gpointer data, guint32 uid, char **ret_child_name, gboolean *ret_parent,
            GError **error)
{
  Fake *fake = data;

  fake->n_whois++;
  fake->whois_uid = uid;
  *ret_parent = fake->role == FAKE_PARENT;
  *ret_child_name = fake->role == FAKE_CHILD ? g_strdup (fake->child) : NULL;
  return TRUE;
}

static gboolean
fake_get_status (gpointer data, const char *child, GVariant **ret_status, GError **error)
{
  Fake *fake = data;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  fake_saw (fake, child);
  if (!known_child (child, error))
    return FALSE;
  if (fake->wrong_type)
    {
      *ret_status = g_variant_new_string ("oops");
      return TRUE;
    }
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (child));
  g_variant_builder_add (&b, "{sv}", "age", g_variant_new_uint32 (9));
  *ret_status = g_variant_builder_end (&b);
  return TRUE;
}

static gboolean
fake_why (gpointer data, const char *child, const char *name, const char *locale,
          gboolean *ret_blocked, char **ret_rule, char **ret_explanation, GError **error)
{
  fake_saw (data, child);
  if (!known_child (child, error))
    return FALSE;
  *ret_blocked = g_str_has_suffix (name, "casino.example");
  *ret_rule = g_strdup (*ret_blocked ? "category:gambling" : "");
  *ret_explanation = g_strdup_printf ("%s for %s", name, child);
  return TRUE;
}

/* get_log's and clear_log's answer: at once, or from a thread of its own
 * after log_delay_ms, as the daemon's event log would. */
typedef struct {
  guint delay_ms;
  GVariant *reply; /* (owned) */
  TrellisDBusReplyFunc func;
  gpointer data;
} FakeLater;

static gpointer
fake_later_thread (gpointer data)
{
  FakeLater *later = data;

  g_usleep ((gulong) later->delay_ms * 1000);
  later->func (later->reply, NULL, later->data);
  g_free (later);
  return NULL;
}

static void
fake_log_reply (Fake *fake, GVariant *reply, TrellisDBusReplyFunc func, gpointer data)
{
  FakeLater *later;

  reply = g_variant_ref_sink (reply);
  if (fake->log_delay_ms == 0)
    {
      func (reply, NULL, data);
      return;
    }
  later = g_new0 (FakeLater, 1);
  later->delay_ms = fake->log_delay_ms;
  later->reply = reply;
  later->func = func;
  later->data = data;
  g_thread_unref (g_thread_new ("fake-log", fake_later_thread, later));
}

static void
fake_get_device_log (gpointer data, const char *group, const char *device, guint64 before,
                     guint32 limit, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  Fake *fake = data;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(xxsssusss)"));
  g_auto(GVariantBuilder) sum = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  fake_saw (fake, group);
  g_free (fake->last_device);
  fake->last_device = g_strdup (device != NULL ? device : "(any)");
  fake->last_before = before;
  g_variant_builder_add (&b, "(xxsssusss)", (gint64) 1700000000, (gint64) 1700000000,
                         "casino.example", "category", "gambling", (guint32) 1, "year3",
                         "02:00:00:00:03:10", "10.42.3.10");
  reply (g_variant_ref_sink (g_variant_new ("(@a(xxsssusss)t@a{sv})", g_variant_builder_end (&b),
                                            (guint64) 0, g_variant_builder_end (&sum))),
         NULL, reply_data);
}

static void
fake_get_report (gpointer data, guint32 days, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  Fake *fake = data;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sssttt)"));
  g_auto(GVariantBuilder) info = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  fake_saw (fake, NULL);
  fake->last_limit = days;
  g_variant_builder_add (&b, "(sssttt)", "year3", "group", "gambling", (guint64) 2, (guint64) 5,
                         (guint64) 2);
  reply (g_variant_ref_sink (g_variant_new ("(@a(sssttt)@a{sv})", g_variant_builder_end (&b),
                                            g_variant_builder_end (&info))),
         NULL, reply_data);
}

static void
fake_get_log (gpointer data, const char *child, gboolean with_devices, guint64 before,
              guint32 limit, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  Fake *fake = data;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(xxsssu)"));
  g_auto(GVariantBuilder) sum = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autofree char *name = NULL;
  GError *error = NULL;

  fake->last_with_devices = with_devices;
  fake_saw (fake, child);
  g_atomic_int_set (&fake->log_started, 1);
  fake->last_before = before;
  fake->last_limit = limit;
  if (!known_child (child, &error))
    {
      reply (NULL, error, reply_data);
      return;
    }
  if (fake->wrong_type)
    {
      fake_log_reply (fake, g_variant_new ("(s)", "oops"), reply, reply_data);
      return;
    }
  /* One entry that names whose log it is: three blocks in a minute. */
  name = g_strdup_printf ("%s.casino.example", child);
  g_variant_builder_add (&b, "(xxsssu)", (gint64) 1700000000, (gint64) 1700000060, name,
                         "category", "gambling", (guint32) 3);
  if (before == 0)
    g_variant_builder_add (&sum, "{sv}", "entries", g_variant_new_uint64 (1));
  fake_log_reply (fake,
                  g_variant_new ("(@a(xxsssu)t@a{sv})", g_variant_builder_end (&b),
                                 before == 0 ? (guint64) 41 : (guint64) 0,
                                 g_variant_builder_end (&sum)),
                  reply, reply_data);
}

static void
fake_clear_log (gpointer data, const char *child, TrellisDBusReplyFunc reply,
                gpointer reply_data)
{
  Fake *fake = data;
  GError *error = NULL;

  fake_saw (fake, child);
  g_atomic_int_set (&fake->log_started, 1);
  if (!known_child (child, &error))
    {
      reply (NULL, error, reply_data);
      return;
    }
  fake_log_reply (fake, g_variant_new ("(u)", (guint32) 3), reply, reply_data);
}

static gboolean
fake_ask (gpointer data, const char *child, const char *name, const char *message,
          guint32 *ret_id, GError **error)
{
  fake_saw (data, child);
  *ret_id = 42;
  return TRUE;
}

static gboolean
fake_list_requests (gpointer data, const char *child, GVariant **ret_requests,
                    GError **error)
{
  fake_saw (data, child);
  if (child != NULL && !known_child (child, error))
    return FALSE;
  *ret_requests = g_variant_new_array (G_VARIANT_TYPE ("(ussssxsx)"), NULL, 0);
  return TRUE;
}

static gboolean
fake_request (Fake *fake, guint32 id, GError **error)
{
  fake_saw (fake, NULL);
  fake->last_id = id;
  if (id != 7)
    {
      g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND,
                   "No request %u.", id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fake_approve (gpointer data, guint32 id, gint64 seconds, GError **error)
{
  Fake *fake = data;

  fake->last_seconds = seconds;
  return fake_request (fake, id, error);
}

static gboolean
fake_decline (gpointer data, guint32 id, const char *message, GError **error)
{
  return fake_request (data, id, error);
}

static gboolean
fake_pause (gpointer data, const char *child, gint64 seconds, GError **error)
{
  Fake *fake = data;

  fake_saw (fake, child);
  fake->last_seconds = seconds;
  return known_child (child, error);
}

static gboolean
fake_apply_policy (gpointer data, GError **error)
{
  fake_saw (data, NULL);
  return TRUE;
}

static gboolean
fake_get_helplines (gpointer data, GVariant **ret_helplines, GError **error)
{
  fake_saw (data, NULL);
  *ret_helplines = g_variant_new_parsed ("[('Childline', 'GB', 'childline.org.uk', '0800 1111')]");
  return TRUE;
}

static gboolean
fake_get_lists (gpointer data, GVariant **ret_lists, GError **error)
{
  GVariantBuilder summary, sources;

  fake_saw (data, NULL);
  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&summary, "{sv}", "in_force", g_variant_new_string ("published"));
  g_variant_builder_init (&sources, G_VARIANT_TYPE ("aa{sv}"));
  *ret_lists = g_variant_new ("(@a{sv}@aa{sv})", g_variant_builder_end (&summary),
                              g_variant_builder_end (&sources));
  return TRUE;
}

typedef struct {
  TrellisDBusReplyFunc reply;
  gpointer reply_data;
} FakeUpdate;

/* The update ends a moment later, as a real one does. */
static gboolean
fake_update_finished (gpointer data)
{
  FakeUpdate *update = data;

  update->reply (g_variant_ref_sink (g_variant_new ("(is)", 1, "2 source(s): 1 failed")), NULL,
                 update->reply_data);
  g_free (update);
  return G_SOURCE_REMOVE;
}

static void
fake_update_lists (gpointer data, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  FakeUpdate *update = g_new0 (FakeUpdate, 1);

  fake_saw (data, NULL);
  update->reply = reply;
  update->reply_data = reply_data;
  g_timeout_add (50, fake_update_finished, update);
}

static const TrellisDBusBackend fake_backend = {
  .whois = fake_whois,
  .get_status = fake_get_status,
  .why = fake_why,
  .get_log = fake_get_log,
  .clear_log = fake_clear_log,
  .get_device_log = fake_get_device_log,
  .get_report = fake_get_report,
  .ask = fake_ask,
  .list_requests = fake_list_requests,
  .approve = fake_approve,
  .decline = fake_decline,
  .pause = fake_pause,
  .apply_policy = fake_apply_policy,
  .get_helplines = fake_get_helplines,
  .get_lists = fake_get_lists,
  .update_lists = fake_update_lists,
};

/* ------------------------------------------------------------------------ */
/* The bus, the service and two client connections */

typedef struct {
  guint n;
  char *member;     /* of the last signal */
  GVariant *params; /* of the last signal */
} Received;

/* ------------------------------------------------------------------------ */
/* The fake polkit authority */

typedef enum {
  POLKIT_YES,   /* is_authorized */
  POLKIT_NO,    /* not authorised, not a challenge */
  POLKIT_ERROR, /* a polkit error instead of an answer */
  POLKIT_HOLD,  /* keeps the invocation in FakePolkit.held */
} PolkitAnswer;

typedef struct {
  GDBusConnection *conn; /* NULL: no polkit on the bus */
  guint reg_id;
  PolkitAnswer answer;
  guint n_checks;
  gboolean asked;
  char *action;
  char *subject_kind;
  char *subject_name;
  char *detail_child; /* NULL if not among the details */
  char *detail_seconds;
  guint n_details;
  guint32 flags;
  char *cancellation_id;
  GDBusMethodInvocation *held;
} FakePolkit;

static const char polkit_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.PolicyKit1.Authority'>"
  "    <method name='CheckAuthorization'>"
  "      <arg type='(sa{sv})' name='subject' direction='in'/>"
  "      <arg type='s' name='action_id' direction='in'/>"
  "      <arg type='a{ss}' name='details' direction='in'/>"
  "      <arg type='u' name='flags' direction='in'/>"
  "      <arg type='s' name='cancellation_id' direction='in'/>"
  "      <arg type='(bba{ss})' name='result' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
polkit_method_call (GDBusConnection *c, const char *sender, const char *path,
                    const char *iface, const char *method, GVariant *params,
                    GDBusMethodInvocation *invocation, gpointer data)
{
  FakePolkit *pk = data;
  g_autoptr(GVariant) subject_details = NULL, details = NULL;
  const char *kind, *action, *cancellation_id, *value;
  guint32 flags;

  /* The introspection data made GDBus check the signature already. */
  g_variant_get (params, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject_details, &action,
                 &details, &flags, &cancellation_id);
  pk->n_checks++;
  pk->asked = TRUE;
  g_free (pk->subject_kind);
  pk->subject_kind = g_strdup (kind);
  g_clear_pointer (&pk->subject_name, g_free);
  g_variant_lookup (subject_details, "name", "s", &pk->subject_name);
  g_free (pk->action);
  pk->action = g_strdup (action);
  pk->n_details = g_variant_n_children (details);
  g_clear_pointer (&pk->detail_child, g_free);
  g_clear_pointer (&pk->detail_seconds, g_free);
  if (g_variant_lookup (details, "child", "&s", &value))
    pk->detail_child = g_strdup (value);
  if (g_variant_lookup (details, "seconds", "&s", &value))
    pk->detail_seconds = g_strdup (value);
  pk->flags = flags;
  g_free (pk->cancellation_id);
  pk->cancellation_id = g_strdup (cancellation_id);

  switch (pk->answer)
    {
    case POLKIT_YES:
    case POLKIT_NO:
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new_parsed ("((%b, false, @a{ss} {}),)",
                                                                   pk->answer == POLKIT_YES));
      return;
    case POLKIT_ERROR:
      g_dbus_method_invocation_return_dbus_error (invocation,
                                                  "org.freedesktop.PolicyKit1.Error.Failed",
                                                  "Action org.trellis.Trellis1.pause is not registered");
      return;
    case POLKIT_HOLD:
      g_assert (pk->held == NULL);
      pk->held = invocation;
      return;
    }
  g_assert_not_reached ();
}

static const GDBusInterfaceVTable polkit_vtable = { .method_call = polkit_method_call };

static guint32
bus_name_request (GDBusConnection *c,
                  const char *method,
                  GVariant *params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint32 code = 0;

  reply = g_dbus_connection_call_sync (c, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", method, params,
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       5000, NULL, &error);
  assert_null (error);
  g_variant_get (reply, "(u)", &code);
  return code;
}

/* ------------------------------------------------------------------------ */

typedef struct {
  GTestDBus *bus; /* (not owned) the group's */
  Fake fake;
  FakePolkit polkit;
  GDBusConnection *service_conn;
  TrellisDBusService *service;
  GDBusConnection *a; /* subscribes in the signal tests */
  GDBusConnection *b; /* never subscribes */
  Received got_a, got_b;
  guint sub_a, sub_b;
} Fixture;

static GDBusConnection *
connect_bus (GTestDBus *bus)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *c;

  c = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (bus),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  assert_null (error);
  assert_non_null (c);
  return c;
}

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until *flag, or @ms pass.  Returns *flag. */
static gboolean
wait_until (const gboolean *flag,
            guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint t = g_timeout_add (5, tick, NULL);

  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (t);
  return *flag;
}

static void
spin (guint ms)
{
  gboolean never = FALSE;

  wait_until (&never, ms);
}

typedef struct {
  gboolean done;
  GVariant *reply;
  GError *error;
  guint id; /* Ask's, through the generated proxy */
} Reply;

static void
call_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Reply *r = data;

  r->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &r->error);
  r->done = TRUE;
}

/* Calls METHOD on the service from @c, running the loop until the answer.
 * Returns the reply, or NULL with @error. */
static GVariant *
call (GDBusConnection *c,
      const char *method,
      GVariant *params,
      GError **error)
{
  Reply r = { 0 };

  g_dbus_connection_call (c, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          method, params, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          5000, NULL, call_done, &r);
  assert_true (wait_until (&r.done, 10000));
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.reply;
}

/* The call must fail with the D-Bus error @name (as seen on the wire).
 * Returns the error's message, as the service wrote it. */
static char *
call_fails (GDBusConnection *c,
            const char *method,
            GVariant *params,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (c, method, params, &error);
  g_autofree char *remote = NULL;

  assert_null (reply);
  assert_non_null (error);
  remote = g_dbus_error_get_remote_error (error);
  if (g_strcmp0 (remote, name) != 0)
    fail_msg ("%s: expected %s, got %s (%s)", method, name, remote, error->message);
  g_dbus_error_strip_remote_error (error);
  return g_strdup (error->message);
}

static void
assert_call_fails (GDBusConnection *c,
                   const char *method,
                   GVariant *params,
                   const char *name)
{
  g_free (call_fails (c, method, params, name));
}

static GVariant *
call_ok (GDBusConnection *c,
         const char *method,
         GVariant *params,
         const char *reply_type)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = call (c, method, params, &error);

  if (error != NULL)
    fail_msg ("%s: %s", method, error->message);
  assert_non_null (reply);
  assert_string_equal (g_variant_get_type_string (reply), reply_type);
  return reply;
}

static void
on_signal (GDBusConnection *c, const char *sender, const char *path, const char *iface,
           const char *member, GVariant *params, gpointer data)
{
  Received *got = data;

  got->n++;
  g_free (got->member);
  got->member = g_strdup (member);
  g_clear_pointer (&got->params, g_variant_unref);
  got->params = g_variant_ref (params);
}

static void
close_conn (GDBusConnection **c)
{
  g_dbus_connection_close_sync (*c, NULL, NULL);
  g_clear_object (c);
}

/* Puts the fake authority on the bus, answering @answer. */
static void
polkit_up (Fixture *f,
           PolkitAnswer answer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (polkit_xml, &error);

  assert_null (error);
  f->polkit.answer = answer;
  f->polkit.conn = connect_bus (f->bus);
  f->polkit.reg_id = g_dbus_connection_register_object (f->polkit.conn,
                                                        "/org/freedesktop/PolicyKit1/Authority",
                                                        info->interfaces[0], &polkit_vtable,
                                                        &f->polkit, NULL, &error);
  assert_null (error);
  assert_true (f->polkit.reg_id > 0);
  /* DO_NOT_QUEUE; 1: the primary owner. */
  assert_int_equal (bus_name_request (f->polkit.conn, "RequestName",
                                      g_variant_new ("(su)", "org.freedesktop.PolicyKit1", 4)),
                    1);
}

/* Takes it off the bus again; the name is released before the next test. */
static void
polkit_down (Fixture *f)
{
  if (f->polkit.conn == NULL)
    return;
  if (f->polkit.held != NULL)
    g_dbus_method_invocation_return_dbus_error (g_steal_pointer (&f->polkit.held),
                                                "org.freedesktop.PolicyKit1.Error.Cancelled",
                                                "The test is over.");
  g_dbus_connection_unregister_object (f->polkit.conn, f->polkit.reg_id);
  /* 1: released. */
  assert_int_equal (bus_name_request (f->polkit.conn, "ReleaseName",
                                      g_variant_new ("(s)", "org.freedesktop.PolicyKit1")),
                    1);
  close_conn (&f->polkit.conn);
}

static void
set_role (Fixture *f, FakeRole role, const char *child)
{
  f->fake.role = role;
  g_free (f->fake.child);
  f->fake.child = g_strdup (child);
}

static int
group_setup (void **state)
{
  GTestDBus *bus = g_test_dbus_new (G_TEST_DBUS_NONE);

  g_test_dbus_up (bus);
  *state = bus;
  return 0;
}

static int
group_teardown (void **state)
{
  GTestDBus *bus = *state;

  g_test_dbus_down (bus);
  g_object_unref (bus);
  return 0;
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autoptr(GError) error = NULL;
  gboolean has_name = FALSE;
  gint64 end;

  f->bus = *state;
  f->service_conn = connect_bus (f->bus);
  f->service = trellis_dbus_service_new (f->service_conn, &fake_backend, &f->fake, &error);
  assert_null (error);
  assert_non_null (f->service);
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!(has_name = trellis_dbus_service_has_name (f->service))
         && g_get_monotonic_time () < end)
    spin (5);
  assert_true (has_name);

  f->a = connect_bus (f->bus);
  f->b = connect_bus (f->bus);
  /* Both listen to every signal of the interface from anyone: a match rule,
   * so a broadcast would reach both. */
  f->sub_a = g_dbus_connection_signal_subscribe (f->a, NULL, TRELLIS_DBUS_INTERFACE, NULL,
                                                 NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_signal, &f->got_a, NULL);
  f->sub_b = g_dbus_connection_signal_subscribe (f->b, NULL, TRELLIS_DBUS_INTERFACE, NULL,
                                                 NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_signal, &f->got_b, NULL);
  set_role (f, FAKE_CHILD, "alice");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  g_dbus_connection_signal_unsubscribe (f->a, f->sub_a);
  g_dbus_connection_signal_unsubscribe (f->b, f->sub_b);
  polkit_down (f);
  trellis_dbus_service_free (f->service);
  close_conn (&f->a);
  close_conn (&f->b);
  close_conn (&f->service_conn);
  spin (200); /* let pending idles drop their references */
  *state = f->bus;
  g_free (f->fake.child);
  g_free (f->fake.last_child);
  g_free (f->fake.last_device);
  g_free (f->polkit.action);
  g_free (f->polkit.subject_kind);
  g_free (f->polkit.subject_name);
  g_free (f->polkit.detail_child);
  g_free (f->polkit.detail_seconds);
  g_free (f->polkit.cancellation_id);
  g_free (f->got_a.member);
  g_free (f->got_b.member);
  g_clear_pointer (&f->got_a.params, g_variant_unref);
  g_clear_pointer (&f->got_b.params, g_variant_unref);
  g_free (f);
  return 0;
}

/* ------------------------------------------------------------------------ */

static void
test_child_reads_own_log (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) reply = NULL, again = NULL;
  g_autoptr(GVariant) events = NULL;
  const char *name;
  gint64 when;

  reply = call_ok (f->a, "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0),
                   "(a(xxsssu)ta{sv})");
  events = g_variant_get_child_value (reply, 0);
  assert_int_equal (g_variant_n_children (events), 1);
  g_variant_get_child (events, 0, "(xx&sssu)", &when, NULL, &name, NULL, NULL, NULL);
  assert_string_equal (name, "alice.casino.example");
  assert_int_equal (when, 1700000000);
  assert_string_equal (f->fake.last_child, "alice");
  /* The uid whois was asked about is the bus's word for ours. */
  assert_int_equal (f->fake.whois_uid, getuid ());

  {
    g_autoptr(GVariant) summary = g_variant_get_child_value (reply, 2);
    guint64 next = 0, entries = 0;
    gint64 last = 0;
    guint32 count = 0;

    g_variant_get_child (events, 0, "(xx&s&s&su)", NULL, &last, NULL, NULL, NULL, &count);
    assert_int_equal (last, 1700000060);
    assert_int_equal (count, 3);
    g_variant_get_child (reply, 1, "t", &next);
    assert_int_equal (next, 41);
    assert_true (g_variant_lookup (summary, "entries", "t", &entries));
    assert_int_equal (entries, 1);
  }
  assert_int_equal (f->fake.last_before, 0);

  /* Naming herself is the same as ""; the cursor and the limit reach the
   * backend as given. */
  again = call_ok (f->a, "GetLog", g_variant_new ("(stu)", "alice", (guint64) 41, 5),
                   "(a(xxsssu)ta{sv})");
  assert_string_equal (f->fake.last_child, "alice");
  assert_int_equal (f->fake.last_before, 41);
  assert_int_equal (f->fake.last_limit, 5);
  {
    g_autoptr(GVariant) summary = g_variant_get_child_value (again, 2);
    guint64 next = 1;

    g_variant_get_child (again, 1, "t", &next);
    assert_int_equal (next, 0);
    assert_int_equal (g_variant_n_children (summary), 0);
  }
}

static void
test_child_sibling_denied (void **state)
{
  Fixture *f = *state;

  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "bob", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "GetStatus", g_variant_new ("(s)", "bob"),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "ClearLog", g_variant_new ("(s)", "bob"),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "ListRequests", g_variant_new ("(s)", "bob"),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "Why", g_variant_new ("(sss)", "bob", "example.org", ""),
                     "org.freedesktop.DBus.Error.AccessDenied");
  /* A child cannot probe which children exist: no NotFound for strangers. */
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "zed", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_int_equal (f->fake.n_calls, 0);
  assert_true (f->fake.n_whois > 0);
}

static void
test_other_denied (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) helplines = NULL;
  const char *name;

  set_role (f, FAKE_OTHER, NULL);
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "alice", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "GetStatus", g_variant_new ("(s)", "alice"),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", "example.org", ""),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "ListRequests", g_variant_new ("(s)", ""),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "Subscribe", NULL, "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "ApplyPolicy", NULL, "org.freedesktop.DBus.Error.AccessDenied");
  assert_int_equal (f->fake.n_calls, 0);

  /* Helplines work for anyone. */
  helplines = call_ok (f->a, "GetHelplines", NULL, "(a(ssss))");
  {
    g_autoptr(GVariant) list = g_variant_get_child_value (helplines, 0);

    assert_int_equal (g_variant_n_children (list), 1);
    g_variant_get_child (list, 0, "(&sss&s)", &name, NULL, NULL, NULL);
    assert_string_equal (name, "Childline");
  }
}

static void
test_parent_reads_any (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) log = NULL, status = NULL, requests = NULL, why = NULL;
  g_autoptr(GVariant) events = NULL, dict = NULL;
  const char *name, *explanation;
  gboolean blocked;

  set_role (f, FAKE_PARENT, NULL);
  log = call_ok (f->a, "GetLog", g_variant_new ("(stu)", "bob", (guint64) 0, 0),
                 "(a(xxsssu)ta{sv})");
  events = g_variant_get_child_value (log, 0);
  g_variant_get_child (events, 0, "(xx&sssu)", NULL, NULL, &name, NULL, NULL, NULL);
  assert_string_equal (name, "bob.casino.example");

  status = call_ok (f->a, "GetStatus", g_variant_new ("(s)", "alice"), "(a{sv})");
  dict = g_variant_get_child_value (status, 0);
  assert_true (g_variant_lookup (dict, "name", "&s", &name));
  assert_string_equal (name, "alice");

  why = call_ok (f->a, "Why", g_variant_new ("(sss)", "bob", "big.casino.example", "fr_FR.UTF-8"),
                 "(bss)");
  g_variant_get (why, "(b&s&s)", &blocked, NULL, &explanation);
  assert_true (blocked);
  assert_string_equal (explanation, "big.casino.example for bob");

  /* "" is every child's requests for a parent ... */
  requests = call_ok (f->a, "ListRequests", g_variant_new ("(s)", ""), "(a(ussssxsx))");
  assert_string_equal (f->fake.last_child, "(all)");
  /* ... but not a child to read a log of. */
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
}

/* A gateway's device log and the school's report: parents only; a child
 * is refused whatever it names, a bad device is InvalidArgs, and a child's
 * own GetLog never asks for the devices' entries. */
static void
test_gateway_log_parents_only (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) own = NULL, log = NULL, log2 = NULL, report = NULL;
  const char *mac, *group;
  guint64 blocked = 0;

  own = call_ok (f->a, "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0), "(a(xxsssu)ta{sv})");
  assert_false (f->fake.last_with_devices);
  f->fake.n_calls = 0;
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "02:00:00:00:03:10", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "alice", "", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "GetReport", g_variant_new ("(u)", 7),
                     "org.freedesktop.DBus.Error.AccessDenied");
  set_role (f, FAKE_OTHER, NULL);
  assert_call_fails (f->a, "GetReport", g_variant_new ("(u)", 7),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_int_equal (f->fake.n_calls, 0);

  set_role (f, FAKE_PARENT, NULL);
  /* Bad devices and bad periods never reach the backend. */
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "02:00:00:00:03", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "10.42.5.0/24", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "10.42.5.300", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "\x1b[2J", (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetReport", g_variant_new ("(u)", 0), "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetReport", g_variant_new ("(u)", 366), "org.freedesktop.DBus.Error.InvalidArgs");
  assert_int_equal (f->fake.n_calls, 0);

  log = call_ok (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "", "02:00:00:00:03:10", (guint64) 0, 0),
                 "(a(xxsssusss)ta{sv})");
  assert_string_equal (f->fake.last_child, "(all)");
  assert_string_equal (f->fake.last_device, "02:00:00:00:03:10");
  {
    g_autoptr(GVariant) events = g_variant_get_child_value (log, 0);

    g_variant_get_child (events, 0, "(xxsssu&s&ss)", NULL, NULL, NULL, NULL, NULL, NULL, &group, &mac, NULL);
    assert_string_equal (group, "year3");
    assert_string_equal (mac, "02:00:00:00:03:10");
  }
  log2 = call_ok (f->a, "GetDeviceLog", g_variant_new ("(sstu)", "bob", "fd42::7", (guint64) 9, 0),
                  "(a(xxsssusss)ta{sv})");
  assert_string_equal (f->fake.last_child, "bob");
  assert_string_equal (f->fake.last_device, "fd42::7");
  assert_int_equal (f->fake.last_before, 9);
  report = call_ok (f->a, "GetReport", g_variant_new ("(u)", 30), "(a(sssttt)a{sv})");
  assert_int_equal (f->fake.last_limit, 30);
  {
    g_autoptr(GVariant) rows = g_variant_get_child_value (report, 0);

    g_variant_get_child (rows, 0, "(sssttt)", NULL, NULL, NULL, NULL, &blocked, NULL);
    assert_int_equal (blocked, 5);
  }
  {
    g_autoptr(GVariant) parents = call_ok (f->a, "GetLog", g_variant_new ("(stu)", "bob", (guint64) 0, 0),
                                            "(a(xxsssu)ta{sv})");
    assert_true (f->fake.last_with_devices);
  }
}

static void
test_parent_only_methods (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, asked = NULL;
  guint32 id;

  /* Alice may ask, and her request is filed as hers whatever she is. */
  asked = call_ok (f->a, "Ask", g_variant_new ("(ss)", "scratch.mit.edu", "for school"), "(u)");
  g_variant_get (asked, "(u)", &id);
  assert_int_equal (id, 42);
  assert_string_equal (f->fake.last_child, "alice");
  f->fake.n_calls = 0;

  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) 3600),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "Decline", g_variant_new ("(us)", 7, "no"),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "alice", (gint64) 3600),
                     "org.freedesktop.DBus.Error.AccessDenied");
  assert_call_fails (f->a, "ApplyPolicy", NULL, "org.freedesktop.DBus.Error.AccessDenied");
  assert_int_equal (f->fake.n_calls, 0);

  set_role (f, FAKE_PARENT, NULL);
  r1 = call_ok (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) 3600), "()");
  assert_int_equal (f->fake.last_id, 7);
  assert_int_equal (f->fake.last_seconds, 3600);
  r2 = call_ok (f->a, "Decline", g_variant_new ("(us)", 7, "not now"), "()");
  r3 = call_ok (f->a, "Pause", g_variant_new ("(sx)", "bob", (gint64) 600), "()");
  assert_string_equal (f->fake.last_child, "bob");
  assert_int_equal (f->fake.last_seconds, 600);
  r4 = call_ok (f->a, "ApplyPolicy", NULL, "()");
  assert_int_equal (f->fake.n_calls, 4);
  /* Parents are not filtered: nothing for them to ask. */
  assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", "example.org", ""),
                     "org.freedesktop.DBus.Error.AccessDenied");
}

static void
test_invalid_args (void **state)
{
  Fixture *f = *state;
  g_autofree char *huge = g_malloc (10 * 1024 + 1);
  g_autofree char *long_message = g_malloc (TRELLIS_DBUS_MESSAGE_MAX + 2);
  g_autoptr(GError) error = NULL;
  char max_name[TRELLIS_DBUS_NAME_MAX + 1];

  memset (huge, 'a', 10 * 1024);
  huge[10 * 1024] = '\0';
  memset (long_message, 'm', TRELLIS_DBUS_MESSAGE_MAX + 1);
  long_message[TRELLIS_DBUS_MESSAGE_MAX + 1] = '\0';

  set_role (f, FAKE_PARENT, NULL);
  assert_call_fails (f->a, "Why", g_variant_new ("(sss)", "alice", huge, ""),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", huge, (guint64) 0, 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Why", g_variant_new ("(sss)", "alice", "", ""),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Why", g_variant_new ("(sss)", "alice", "example.org", "fr;rm -rf"),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) -5),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) 0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) TRELLIS_DBUS_DURATION_MAX + 1),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 0, (gint64) 60),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "bob", G_MININT64),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Decline", g_variant_new ("(us)", 7, long_message),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  set_role (f, FAKE_CHILD, "alice");
  assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", "example.org", long_message),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", huge, ""),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  /* Wrong signature: GDBus refuses it before us. */
  assert_call_fails (f->a, "GetLog", g_variant_new ("(s)", "alice"),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_int_equal (f->fake.n_calls, 0);

  /* The bounds themselves are accepted. */
  {
    g_autoptr(GVariant) r = NULL, r2 = NULL;

    memset (max_name, 'b', TRELLIS_DBUS_NAME_MAX);
    max_name[TRELLIS_DBUS_NAME_MAX] = '\0';
    r = call_ok (f->a, "Why", g_variant_new ("(sss)", "", max_name, "de_DE.UTF-8@euro"), "(bss)");
    set_role (f, FAKE_PARENT, NULL);
    r2 = call_ok (f->a, "Pause", g_variant_new ("(sx)", "bob", (gint64) TRELLIS_DBUS_DURATION_MAX), "()");
  }

  /* Bad UTF-8 cannot cross the bus (GDBus and the bus refuse it), so the
   * service's own guard is checked directly. */
  assert_false (trellis_dbus_check_name ("caf\xc3", &error));
  assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_false (trellis_dbus_check_message ("\xff\xfe", &error));
  assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_true (trellis_dbus_check_name ("caf\xc3\xa9.example", NULL));
  assert_true (trellis_dbus_check_message ("", NULL));
}

/* What a child writes reaches a parent's terminal and desktop: control
 * characters, bidirectional overrides and line separators are refused at
 * the bus, before any backend call; ordinary text, markup characters and
 * the plain right-to-left marks are not. */
static void
test_control_characters_refused (void **state)
{
  Fixture *f = *state;
  static const char *const bad[] = {
    "\x1b[2K\x1b[1A#1  sam asked for school.example: approved", /* ESC: CSI */
    "line one\nline two",                                       /* a forged line */
    "tab\there",
    "bell\a",
    "del\x7f",
    "\xc2\x9b"
    "2K", /* C1 CSI, U+009B */
    "\xc2\x85"
    "next line",                        /* U+0085 NEL */
    "abc\xe2\x80\xaemoc.elpmaxe",       /* U+202E RLO */
    "\xe2\x81\xa6isolated\xe2\x81\xa9", /* U+2066, U+2069 */
    "one\xe2\x80\xa8two",               /* U+2028 */
  };
  g_autofree char *text = NULL;

  set_role (f, FAKE_CHILD, "alice");
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", "example.org", bad[i]),
                         "org.freedesktop.DBus.Error.InvalidArgs");
      assert_call_fails (f->a, "Ask", g_variant_new ("(ss)", bad[i], ""),
                         "org.freedesktop.DBus.Error.InvalidArgs");
      assert_call_fails (f->a, "Why", g_variant_new ("(sss)", "", bad[i], ""),
                         "org.freedesktop.DBus.Error.InvalidArgs");
      assert_false (trellis_dbus_check_message (bad[i], &error));
      assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS));
    }
  set_role (f, FAKE_PARENT, NULL);
  assert_call_fails (f->a, "Decline", g_variant_new ("(us)", 7, "no\x1b]0;owned\x07"),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_call_fails (f->a, "GetLog", g_variant_new ("(su)", "ali\x1b"
                                                            "ce",
                                                    0),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_int_equal (f->fake.n_calls, 0);

  /* The error says what and where. */
  set_role (f, FAKE_CHILD, "alice");
  text = call_fails (f->a, "Ask", g_variant_new ("(ss)", "example.org", "abcd\x1b[1m"),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_non_null (strstr (text, "U+001B"));
  assert_non_null (strstr (text, "character 5"));

  /* Markup is only text here (each output escapes it); right-to-left
   * marks and ordinary Arabic are fine. */
  {
    g_autoptr(GVariant) r1 = NULL, r2 = NULL;

    r1 = call_ok (f->a, "Ask", g_variant_new ("(ss)", "example.org", "<b>for school</b> & <3"), "(u)");
    r2 = call_ok (f->a, "Ask", g_variant_new ("(ss)", "example.org", "\xd9\x84\xd9\x84\xd9\x85\xd8\xaf\xd8\xb1\xd8\xb3\xd8\xa9 "
                                                                     "\xe2\x80\x8f"
                                                                     "example.org"),
                  "(u)");
  }
  assert_int_equal (f->fake.n_calls, 2);
}

static void
test_not_found (void **state)
{
  Fixture *f = *state;

  set_role (f, FAKE_PARENT, NULL);
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "zed", (guint64) 0, 0),
                     "org.trellis.Trellis1.Error.NotFound");
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "zed", (gint64) 60),
                     "org.trellis.Trellis1.Error.NotFound");
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 99, (gint64) 60),
                     "org.trellis.Trellis1.Error.NotFound");
  assert_int_equal (f->fake.last_id, 99);
}

static void
proxy_call_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Reply *r = data;

  r->reply = NULL;
  if (trellis_trellis1_call_ask_finish (TRELLIS_TRELLIS1 (source), &r->id, res, &r->error))
    r->reply = g_variant_ref_sink (g_variant_new ("(u)", r->id));
  r->done = TRUE;
}

/* The clients' proxy is generated from the same XML as the service's
 * skeleton, and names the service as bus/trellis-bus.h does: a call made
 * through it arrives with its arguments and comes back typed. */
static void
test_generated_proxy_reaches_service (void **state)
{
  Fixture *f = *state;
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autofree char *owner = NULL;
  Reply r = { 0 };

  assert_string_equal (trellis_trellis1_interface_info ()->name, TRELLIS_DBUS_INTERFACE);
  /* GetNameOwner is answered by the bus, not by this thread's loop. */
  proxy = trellis_trellis1_proxy_new_sync (f->a,
                                           G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                             | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS
                                             | G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                           TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, NULL, &error);
  assert_null (error);
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  assert_non_null (owner);
  set_role (f, FAKE_CHILD, "alice");
  trellis_trellis1_call_ask (proxy, "example.org", "for homework", NULL, proxy_call_done, &r);
  assert_true (wait_until (&r.done, 10000));
  if (r.error != NULL)
    fail_msg ("Ask through the proxy: %s", r.error->message);
  assert_int_equal (r.id, 42);
  assert_string_equal (f->fake.last_child, "alice");
  g_variant_unref (r.reply);
}

static void
test_backend_wrong_type_is_failed (void **state)
{
  Fixture *f = *state;

  f->fake.wrong_type = TRUE;
  assert_call_fails (f->a, "GetStatus", g_variant_new ("(s)", ""),
                     "org.trellis.Trellis1.Error.Failed");
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0),
                     "org.trellis.Trellis1.Error.Failed");
}

/* GetLog and ClearLog are answered when the backend is done, and the
 * service answers other calls meanwhile: nothing waits for the log. */
static void
test_log_answered_later (void **state)
{
  Fixture *f = *state;
  Reply r = { 0 }, c = { 0 };
  guint32 deleted = 0;

  f->fake.log_delay_ms = 500;
  g_dbus_connection_call (f->a, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &r);
  g_dbus_connection_call (f->b, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          "ClearLog", g_variant_new ("(s)", ""), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &c);
  {
    gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (f->fake.n_calls < 2 && g_get_monotonic_time () < end)
      spin (5);
  }
  assert_int_equal (f->fake.n_calls, 2);
  /* Both are with the backend; a third call is answered before them. */
  {
    g_autoptr(GVariant) status = call_ok (f->a, "GetStatus", g_variant_new ("(s)", ""),
                                           "(a{sv})");
  }
  assert_false (r.done);
  assert_false (c.done);

  assert_true (wait_until (&r.done, 10000));
  assert_true (wait_until (&c.done, 10000));
  assert_null (r.error);
  assert_null (c.error);
  assert_string_equal (g_variant_get_type_string (r.reply), "(a(xxsssu)ta{sv})");
  g_variant_get (c.reply, "(u)", &deleted);
  assert_int_equal (deleted, 3);
  g_variant_unref (r.reply);
  g_variant_unref (c.reply);

  /* An unknown child is the backend's NotFound, answered the same way. */
  set_role (f, FAKE_PARENT, NULL);
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "zed", (guint64) 0, 0),
                     "org.trellis.Trellis1.Error.NotFound");
  assert_call_fails (f->a, "ClearLog", g_variant_new ("(s)", "zed"),
                     "org.trellis.Trellis1.Error.NotFound");
}

/* The service goes away while the backend reads the log: the caller is
 * told, and the backend's late answer touches nothing freed (ASan). */
static void
test_free_while_log_read (void **state)
{
  Fixture *f = *state;
  Reply r = { 0 };
  g_autofree char *remote = NULL;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  f->fake.log_delay_ms = 300;
  g_dbus_connection_call (f->a, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &r);
  while (!g_atomic_int_get (&f->fake.log_started) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  assert_true (g_atomic_int_get (&f->fake.log_started));
  trellis_dbus_service_free (f->service);
  f->service = NULL;

  assert_true (wait_until (&r.done, 10000));
  assert_null (r.reply);
  assert_non_null (r.error);
  remote = g_dbus_error_get_remote_error (r.error);
  assert_string_equal (remote, "org.trellis.Trellis1.Error.Failed");
  assert_non_null (strstr (r.error->message, "shutting down"));
  g_clear_error (&r.error);
}

static gboolean
got_one (const Received *got)
{
  return got->n > 0;
}

/* Makes sure both clients have everything the service sent before now: a
 * round trip from each to the service comes back after any signal sent
 * earlier on the same connection. */
static void
settle (Fixture *f)
{
  g_autoptr(GVariant) ra = call_ok (f->a, "GetHelplines", NULL, "(a(ssss))");
  g_autoptr(GVariant) rb = call_ok (f->b, "GetHelplines", NULL, "(a(ssss))");

  spin (20);
}

static void
test_signals_unicast (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) sub = NULL, sub_again = NULL;
  const char *child, *name, *kind, *explanation, *st;
  gint64 until;
  guint32 id;
  gboolean gone;

  sub = call_ok (f->a, "Subscribe", NULL, "()");
  sub_again = call_ok (f->a, "Subscribe", NULL, "()");
  assert_int_equal (trellis_dbus_service_get_n_subscribers (f->service), 1);

  /* Alice's block reaches alice's subscribed agent, and no one else. */
  assert_int_equal (trellis_dbus_service_emit_blocked (f->service, "alice", "casino.example",
                                                       "category", "Gambling sites are blocked.",
                                                       1700003600),
                    1);
  settle (f);
  assert_true (got_one (&f->got_a));
  assert_int_equal (f->got_a.n, 1);
  assert_string_equal (f->got_a.member, "Blocked");
  g_variant_get (f->got_a.params, "(&s&s&s&sx)", &child, &name, &kind, &explanation, &until);
  assert_string_equal (child, "alice");
  assert_string_equal (name, "casino.example");
  assert_string_equal (kind, "category");
  assert_string_equal (explanation, "Gambling sites are blocked.");
  assert_int_equal (until, 1700003600);
  assert_int_equal (f->got_b.n, 0);

  /* Bob's block does not reach alice. */
  assert_int_equal (trellis_dbus_service_emit_blocked (f->service, "bob", "casino.example",
                                                       "category", "x", 0),
                    0);
  settle (f);
  assert_int_equal (f->got_a.n, 1);
  assert_int_equal (f->got_b.n, 0);

  /* A parent's agent gets every child's. */
  set_role (f, FAKE_PARENT, NULL);
  assert_int_equal (trellis_dbus_service_emit_request_changed (f->service, 7, "bob",
                                                               "scratch.mit.edu", "approved",
                                                               "ok"),
                    1);
  settle (f);
  assert_int_equal (f->got_a.n, 2);
  assert_string_equal (f->got_a.member, "RequestChanged");
  g_variant_get (f->got_a.params, "(u&s&s&s&s)", &id, &child, &name, &st, NULL);
  assert_int_equal (id, 7);
  assert_string_equal (child, "bob");
  assert_string_equal (st, "approved");
  assert_int_equal (f->got_b.n, 0);

  /* Someone who is nobody's any more gets nothing. */
  set_role (f, FAKE_OTHER, NULL);
  assert_int_equal (trellis_dbus_service_emit_blocked (f->service, "alice", "x.example",
                                                       "deny", "x", 0),
                    0);

  /* A subscriber that leaves is forgotten. */
  close_conn (&f->a);
  f->a = connect_bus (f->bus);
  {
    gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (!(gone = trellis_dbus_service_get_n_subscribers (f->service) == 0)
           && g_get_monotonic_time () < end)
      spin (5);
  }
  assert_true (gone);
  f->sub_a = g_dbus_connection_signal_subscribe (f->a, NULL, TRELLIS_DBUS_INTERFACE, NULL,
                                                 NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                 on_signal, &f->got_a, NULL);
}

/* One uid subscribes at most TRELLIS_DBUS_SUBSCRIBERS_PER_UID connections
 * (every connection to the private bus is the test's uid): the next is
 * refused with LimitsExceeded, and one that leaves makes room again. */
static void
test_subscribers_capped_per_uid (void **state)
{
  Fixture *f = *state;
  GDBusConnection *conns[TRELLIS_DBUS_SUBSCRIBERS_PER_UID + 1];
  g_autofree char *text = NULL;
  gboolean gone = FALSE;

  set_role (f, FAKE_CHILD, "alice");
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    conns[i] = connect_bus (f->bus);
  for (guint i = 0; i < TRELLIS_DBUS_SUBSCRIBERS_PER_UID; i++)
    {
      g_autoptr(GVariant) r = call_ok (conns[i], "Subscribe", NULL, "()");
    }
  assert_int_equal (trellis_dbus_service_get_n_subscribers (f->service),
                    TRELLIS_DBUS_SUBSCRIBERS_PER_UID);
  text = call_fails (conns[TRELLIS_DBUS_SUBSCRIBERS_PER_UID], "Subscribe", NULL,
                     "org.freedesktop.DBus.Error.LimitsExceeded");
  assert_non_null (strstr (text, "close one of them first"));
  assert_int_equal (trellis_dbus_service_get_n_subscribers (f->service),
                    TRELLIS_DBUS_SUBSCRIBERS_PER_UID);
  /* Subscribing again on a connection that is subscribed is no new place. */
  {
    g_autoptr(GVariant) r = call_ok (conns[0], "Subscribe", NULL, "()");
  }

  /* A parent's connections of the same uid are that uid's too. */
  set_role (f, FAKE_PARENT, NULL);
  assert_call_fails (conns[TRELLIS_DBUS_SUBSCRIBERS_PER_UID], "Subscribe", NULL,
                     "org.freedesktop.DBus.Error.LimitsExceeded");

  close_conn (&conns[0]);
  {
    gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (!(gone = trellis_dbus_service_get_n_subscribers (f->service)
                    < TRELLIS_DBUS_SUBSCRIBERS_PER_UID)
           && g_get_monotonic_time () < end)
      spin (5);
  }
  assert_true (gone);
  {
    g_autoptr(GVariant) r = call_ok (conns[TRELLIS_DBUS_SUBSCRIBERS_PER_UID], "Subscribe",
                                      NULL, "()");
  }
  /* The signal reaches the parent's connection that took the place. */
  assert_int_equal (trellis_dbus_service_emit_request_changed (f->service, 7, "bob",
                                                               "scratch.mit.edu", "pending",
                                                               ""),
                    TRELLIS_DBUS_SUBSCRIBERS_PER_UID);
  for (guint i = 1; i < G_N_ELEMENTS (conns); i++)
    close_conn (&conns[i]);
}

/* Runs in GDBus's worker thread: notes when the service asks the bus who
 * a caller is. */
static GDBusMessage *
watch_uid_lookup (GDBusConnection *c, GDBusMessage *message, gboolean incoming,
                  gpointer data)
{
  if (!incoming
      && g_strcmp0 (g_dbus_message_get_member (message), "GetConnectionUnixUser") == 0)
    g_atomic_int_set ((gint *) data, 1);
  return message;
}

/* The service goes away while a call waits for the bus to say who sent it:
 * the caller is told, nothing crashes, and nothing touches the freed
 * service (ASan). */
static void
test_free_with_call_pending (void **state)
{
  Fixture *f = *state;
  Reply r = { 0 };
  gint asked = 0;
  guint filter;
  g_autofree char *remote = NULL;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  filter = g_dbus_connection_add_filter (f->service_conn, watch_uid_lookup, &asked, NULL);
  g_dbus_connection_call (f->a, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          "GetLog", g_variant_new ("(stu)", "", (guint64) 0, 0), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &r);
  /* One main loop step at a time; after each, give the worker a moment to
   * send the lookup, and stop before the bus's answer can be dispatched. */
  while (!g_atomic_int_get (&asked) && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < 50 && !g_atomic_int_get (&asked); i++)
        g_usleep (1000);
    }
  assert_true (g_atomic_int_get (&asked));
  assert_int_equal (f->fake.n_whois, 0);
  trellis_dbus_service_free (f->service);
  f->service = NULL;

  assert_true (wait_until (&r.done, 10000));
  g_dbus_connection_remove_filter (f->service_conn, filter);
  assert_null (r.reply);
  assert_non_null (r.error);
  remote = g_dbus_error_get_remote_error (r.error);
  assert_string_equal (remote, "org.trellis.Trellis1.Error.Failed");
  assert_int_equal (f->fake.n_whois, 0);
  g_clear_error (&r.error);
}

/* ------------------------------------------------------------------------ */
/* polkit, for ApplyPolicy and Pause from someone neither parent nor child */

#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

static void
test_polkit_other_authorized (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) r1 = NULL, r2 = NULL;

  polkit_up (f, POLKIT_YES);
  set_role (f, FAKE_OTHER, NULL);

  r1 = call_ok (f->a, "ApplyPolicy", NULL, "()");
  assert_int_equal (f->fake.n_calls, 1);
  assert_string_equal (f->fake.last_child, "(all)");
  assert_int_equal (f->polkit.n_checks, 1);
  assert_string_equal (f->polkit.action, "org.trellis.Trellis1.apply-policy");
  assert_string_equal (f->polkit.subject_kind, "system-bus-name");
  assert_non_null (f->polkit.subject_name);
  assert_string_equal (f->polkit.subject_name, g_dbus_connection_get_unique_name (f->a));
  assert_int_equal (f->polkit.flags, 1); /* AllowUserInteraction */
  assert_string_equal (f->polkit.cancellation_id, "");
  assert_int_equal (f->polkit.n_details, 0);

  /* Pause names the child (and how long) to polkit, and the caller is b
   * this time: the subject is whoever calls. */
  r2 = call_ok (f->b, "Pause", g_variant_new ("(sx)", "bob", (gint64) 900), "()");
  assert_int_equal (f->polkit.n_checks, 2);
  assert_string_equal (f->polkit.action, "org.trellis.Trellis1.pause");
  assert_string_equal (f->polkit.subject_name, g_dbus_connection_get_unique_name (f->b));
  assert_non_null (f->polkit.detail_child);
  assert_string_equal (f->polkit.detail_child, "bob");
  assert_non_null (f->polkit.detail_seconds);
  assert_string_equal (f->polkit.detail_seconds, "900");
  assert_int_equal (f->fake.n_calls, 2);
  assert_string_equal (f->fake.last_child, "bob");
  assert_int_equal (f->fake.last_seconds, 900);

  /* An unknown child is the backend's NotFound, after polkit. */
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "zed", (gint64) 60),
                     "org.trellis.Trellis1.Error.NotFound");
  assert_int_equal (f->polkit.n_checks, 3);

  /* No child named: refused before anyone is asked for a password. */
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "", (gint64) 60),
                     "org.freedesktop.DBus.Error.InvalidArgs");
  assert_int_equal (f->polkit.n_checks, 3);

  /* polkit is only for these two: the rest stay parents' by uid. */
  assert_call_fails (f->a, "Approve", g_variant_new ("(ux)", 7, (gint64) 60), ACCESS_DENIED);
  assert_call_fails (f->a, "Decline", g_variant_new ("(us)", 7, ""), ACCESS_DENIED);
  assert_call_fails (f->a, "GetLog", g_variant_new ("(stu)", "bob", (guint64) 0, 0), ACCESS_DENIED);
  assert_call_fails (f->a, "Subscribe", NULL, ACCESS_DENIED);
  assert_int_equal (f->polkit.n_checks, 3);
  assert_int_equal (f->fake.n_calls, 3);
}

static void
test_polkit_other_refused (void **state)
{
  Fixture *f = *state;
  g_autofree char *m1 = NULL, *m2 = NULL, *m3 = NULL;

  polkit_up (f, POLKIT_NO);
  set_role (f, FAKE_OTHER, NULL);

  m1 = call_fails (f->a, "ApplyPolicy", NULL, ACCESS_DENIED);
  assert_string_equal (m1, "Only a parent can do this.");
  assert_int_equal (f->polkit.n_checks, 1);
  assert_string_equal (f->polkit.action, "org.trellis.Trellis1.apply-policy");
  m2 = call_fails (f->a, "Pause", g_variant_new ("(sx)", "alice", (gint64) 60), ACCESS_DENIED);
  assert_int_equal (f->polkit.n_checks, 2);
  assert_string_equal (f->polkit.action, "org.trellis.Trellis1.pause");
  assert_string_equal (f->polkit.detail_child, "alice");
  assert_int_equal (f->fake.n_calls, 0);

  /* polkit failing is a refusal too. */
  f->polkit.answer = POLKIT_ERROR;
  m3 = call_fails (f->a, "Pause", g_variant_new ("(sx)", "alice", (gint64) 60), ACCESS_DENIED);
  assert_non_null (strstr (m3, "polkit"));
  assert_int_equal (f->polkit.n_checks, 3);
  assert_int_equal (f->fake.n_calls, 0);
}

static void
test_polkit_absent (void **state)
{
  Fixture *f = *state;
  g_autofree char *m1 = NULL, *m2 = NULL;

  /* Nobody owns org.freedesktop.PolicyKit1 on this bus. */
  set_role (f, FAKE_OTHER, NULL);
  m1 = call_fails (f->a, "ApplyPolicy", NULL, ACCESS_DENIED);
  assert_non_null (strstr (m1, "polkit"));
  assert_non_null (strstr (m1, "not available"));
  m2 = call_fails (f->a, "Pause", g_variant_new ("(sx)", "bob", (gint64) 60), ACCESS_DENIED);
  assert_non_null (strstr (m2, "not available"));
  assert_int_equal (f->fake.n_calls, 0);
}

static void
test_polkit_child_not_asked (void **state)
{
  Fixture *f = *state;
  g_autofree char *m1 = NULL;

  /* polkit would say yes; a child is refused without asking it. */
  polkit_up (f, POLKIT_YES);
  set_role (f, FAKE_CHILD, "alice");
  m1 = call_fails (f->a, "ApplyPolicy", NULL, ACCESS_DENIED);
  assert_null (strstr (m1, "polkit"));
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "alice", (gint64) 60), ACCESS_DENIED);
  assert_call_fails (f->a, "Pause", g_variant_new ("(sx)", "bob", (gint64) 60), ACCESS_DENIED);
  spin (20);
  assert_int_equal (f->polkit.n_checks, 0);
  assert_int_equal (f->fake.n_calls, 0);
}

static void
test_polkit_parent_not_asked (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) r1 = NULL, r2 = NULL;

  /* polkit would say no; a parent by uid does not need it. */
  polkit_up (f, POLKIT_NO);
  set_role (f, FAKE_PARENT, NULL);
  r1 = call_ok (f->a, "ApplyPolicy", NULL, "()");
  r2 = call_ok (f->a, "Pause", g_variant_new ("(sx)", "alice", (gint64) 60), "()");
  spin (20);
  assert_int_equal (f->polkit.n_checks, 0);
  assert_int_equal (f->fake.n_calls, 2);
  assert_string_equal (f->fake.last_child, "alice");
}

/* The service goes away while polkit is still deciding (a parent typing
 * their password): the caller is told, and polkit's late answer touches
 * nothing freed (ASan). */
static void
test_polkit_free_while_asking (void **state)
{
  Fixture *f = *state;
  Reply r = { 0 };
  g_autofree char *remote = NULL;

  polkit_up (f, POLKIT_HOLD);
  set_role (f, FAKE_OTHER, NULL);
  g_dbus_connection_call (f->a, TRELLIS_DBUS_NAME, TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                          "ApplyPolicy", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                          call_done, &r);
  assert_true (wait_until (&f->polkit.asked, 5000));
  assert_non_null (f->polkit.held);
  assert_false (r.done);

  trellis_dbus_service_free (f->service);
  f->service = NULL;
  assert_true (wait_until (&r.done, 5000));
  assert_null (r.reply);
  assert_non_null (r.error);
  remote = g_dbus_error_get_remote_error (r.error);
  assert_string_equal (remote, "org.trellis.Trellis1.Error.Failed");
  g_clear_error (&r.error);

  /* polkit says yes after all, to no one. */
  g_dbus_method_invocation_return_value (g_steal_pointer (&f->polkit.held),
                                         g_variant_new_parsed ("((true, false, @a{ss} {}),)"));
  spin (50);
  assert_int_equal (f->fake.n_calls, 0);
}

/* Anyone reads the lists' state; only parents (or polkit's word) update
 * them, and the answer comes when the update is done. */
static void
test_lists_methods (void **state)
{
  Fixture *f = *state;
  g_autoptr(GVariant) lists = NULL, other_lists = NULL, updated = NULL, by_polkit = NULL;
  const char *output;
  gint32 status;
  guint n_whois;

  set_role (f, FAKE_OTHER, NULL);
  n_whois = f->fake.n_whois;
  other_lists = call_ok (f->a, "GetLists", NULL, "(a{sv}aa{sv})");
  assert_int_equal (f->fake.n_whois, n_whois); /* nobody is asked who the caller is */
  set_role (f, FAKE_CHILD, "alice");
  lists = call_ok (f->a, "GetLists", NULL, "(a{sv}aa{sv})");
  assert_int_equal (f->fake.n_calls, 2);

  /* A child never updates, and polkit is not asked. */
  polkit_up (f, POLKIT_YES);
  assert_call_fails (f->a, "UpdateLists", NULL, ACCESS_DENIED);
  assert_int_equal (f->fake.n_calls, 2);
  assert_int_equal (f->polkit.n_checks, 0);

  set_role (f, FAKE_PARENT, NULL);
  updated = call_ok (f->a, "UpdateLists", NULL, "(is)");
  g_variant_get (updated, "(i&s)", &status, &output);
  assert_int_equal (status, 1);
  assert_string_equal (output, "2 source(s): 1 failed");
  assert_int_equal (f->fake.n_calls, 3);
  assert_int_equal (f->polkit.n_checks, 0);

  /* Someone else: polkit, for this action. */
  set_role (f, FAKE_OTHER, NULL);
  by_polkit = call_ok (f->b, "UpdateLists", NULL, "(is)");
  assert_int_equal (f->polkit.n_checks, 1);
  assert_string_equal (f->polkit.action, "org.trellis.Trellis1.update-lists");
  assert_int_equal (f->fake.n_calls, 4);

  /* Arguments are refused as for any method. */
  assert_call_fails (f->a, "UpdateLists", g_variant_new ("(s)", "now"),
                     "org.freedesktop.DBus.Error.InvalidArgs");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_lists_methods, setup, teardown),
    cmocka_unit_test_setup_teardown (test_child_reads_own_log, setup, teardown),
    cmocka_unit_test_setup_teardown (test_child_sibling_denied, setup, teardown),
    cmocka_unit_test_setup_teardown (test_other_denied, setup, teardown),
    cmocka_unit_test_setup_teardown (test_parent_reads_any, setup, teardown),
    cmocka_unit_test_setup_teardown (test_gateway_log_parents_only, setup, teardown),
    cmocka_unit_test_setup_teardown (test_parent_only_methods, setup, teardown),
    cmocka_unit_test_setup_teardown (test_invalid_args, setup, teardown),
    cmocka_unit_test_setup_teardown (test_generated_proxy_reaches_service, setup, teardown),
    cmocka_unit_test_setup_teardown (test_control_characters_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_not_found, setup, teardown),
    cmocka_unit_test_setup_teardown (test_backend_wrong_type_is_failed, setup, teardown),
    cmocka_unit_test_setup_teardown (test_log_answered_later, setup, teardown),
    cmocka_unit_test_setup_teardown (test_free_while_log_read, setup, teardown),
    cmocka_unit_test_setup_teardown (test_signals_unicast, setup, teardown),
    cmocka_unit_test_setup_teardown (test_subscribers_capped_per_uid, setup, teardown),
    cmocka_unit_test_setup_teardown (test_free_with_call_pending, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_other_authorized, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_other_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_absent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_child_not_asked, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_parent_not_asked, setup, teardown),
    cmocka_unit_test_setup_teardown (test_polkit_free_while_asking, setup, teardown),
  };

  /* TRELLIS_TEST_FILTER=test_not_found runs one test (cmocka's glob). */
  if (g_getenv ("TRELLIS_TEST_FILTER") != NULL)
    cmocka_set_test_filter (g_getenv ("TRELLIS_TEST_FILTER"));
  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
