/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-service.c — org.trellis.Trellis1: who is calling, what they may do,
 * and unicast signals to the agents that may see them.
 *
 * A call goes through three steps on the main loop:
 *   1. the arguments' shape (lengths, UTF-8, durations, ids): InvalidArgs;
 *   2. the sender's uid, asked of the bus (GetConnectionUnixUser), then the
 *      backend's word on who that uid is: PARENT, CHILD(name) or OTHER;
 *   3. the rule of the interface (a child sees only its own data, approving,
 *      declining, pausing and applying are for parents, anyone else may only
 *      read the helplines), then the backend.
 * GetHelplines skips step 2: helplines must work for anyone, always; so
 * does GetLists: where the lists come from is no secret.  UpdateLists is
 * answered by the backend once the update is done.
 *
 * The household edits (AddChild, RemoveChild, SetChild, Allow, Deny,
 * ApproveAlways) are for parents by uid only, as Approve and Decline are:
 * never polkit, which would let an administrator who is not a parent
 * rewrite the parents' file from a desktop prompt.  root is a parent.
 *
 * Pausing and applying the policy may also be authorised by polkit, as
 * accountsservice and malcontent do, so a desktop can ask for a parent's
 * password: a caller that is neither a parent nor a child (say, the
 * computer's administrator, not listed in parents=) is sent to polkit
 * (actions org.trellis.Trellis1.pause and .apply-policy).  Parents by uid
 * never are; children never are either, and are refused outright: a parent
 * who typed their password once in a child's session must not leave that
 * session free to pause itself for the rest of auth_admin_keep's window.
 */
#include <string.h>

#include "daemon/dbus-service.h"
#include "policy/text-safety.h"
#include "policy/trellis-policy.h"

typedef enum {
  METHOD_GET_STATUS,
  METHOD_WHY,
  METHOD_GET_LOG,
  METHOD_CLEAR_LOG,
  METHOD_ASK,
  METHOD_LIST_REQUESTS,
  METHOD_APPROVE,
  METHOD_DECLINE,
  METHOD_PAUSE,
  METHOD_APPLY_POLICY,
  METHOD_GET_HELPLINES,
  METHOD_SUBSCRIBE,
  METHOD_GET_LISTS,
  METHOD_UPDATE_LISTS,
  METHOD_ADD_CHILD,
  METHOD_REMOVE_CHILD,
  METHOD_SET_CHILD,
  METHOD_ALLOW,
  METHOD_DENY,
  METHOD_APPROVE_ALWAYS,
  METHOD_GET_DEVICE_LOG,
  METHOD_GET_REPORT,
} Method;

typedef enum {
  ROLE_OTHER,
  ROLE_CHILD,
  ROLE_PARENT,
} Role;

typedef struct {
  TrellisDBusService *service; /* (not owned) */
  char *name;                  /* (owned) the subscriber's unique name */
  guint32 uid;
  gboolean parent; /* a parent's when it subscribed: which pool */
  guint watch_id;  /* name watch: gone → forgotten */
} Subscriber;

struct _TrellisDBusService {
  GDBusConnection *connection;       /* (owned) */
  const TrellisDBusBackend *backend; /* (not owned) */
  gpointer backend_data;             /* (not owned) */
  TrellisTrellis1 *skeleton;         /* (owned) */
  GCancellable *cancellable;         /* (owned) cancelled by free */
  GHashTable *subscribers;           /* (owned) unique name → Subscriber */
  guint own_id;
  gboolean has_name;
  gboolean name_lost_told;
};

/* One method call waiting for the bus to say who sent it. */
typedef struct {
  TrellisDBusService *service;       /* (not owned) valid unless cancelled */
  GDBusMethodInvocation *invocation; /* (owned) */
  GCancellable *cancellable;         /* (owned) */
  Method method;
  guint32 uid; /* the sender's, once the bus has said */
} Call;

/* polkit's authority, spoken to over plain GDBus: no libpolkit. */
#define POLKIT_NAME      "org.freedesktop.PolicyKit1"
#define POLKIT_PATH      "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* PolkitCheckAuthorizationFlags: ALLOW_USER_INTERACTION. */
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1u

#define POLKIT_ACTION_APPLY_POLICY "org.trellis.Trellis1.apply-policy"
#define POLKIT_ACTION_PAUSE        "org.trellis.Trellis1.pause"
#define POLKIT_ACTION_UPDATE_LISTS "org.trellis.Trellis1.update-lists"

/* ------------------------------------------------------------------------ */
/* Errors */

static const GDBusErrorEntry trellis_dbus_error_entries[] = {
  { TRELLIS_DBUS_ERROR_NOT_FOUND, TRELLIS_DBUS_ERROR_NAME_NOT_FOUND },
  { TRELLIS_DBUS_ERROR_FAILED, TRELLIS_DBUS_ERROR_NAME_FAILED },
};

GQuark
trellis_dbus_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("trellis-dbus-error-quark", &quark,
                                      trellis_dbus_error_entries,
                                      G_N_ELEMENTS (trellis_dbus_error_entries));
  return (GQuark) quark;
}

/* Takes @invocation.  Errors the caller should see as they are pass through;
 * anything else becomes Failed. */
static void
invocation_return_error (GDBusMethodInvocation *invocation,
                         const GError *error)
{
  if (error->domain == TRELLIS_DBUS_ERROR
      || (error->domain == G_DBUS_ERROR
          && (error->code == G_DBUS_ERROR_ACCESS_DENIED
              || error->code == G_DBUS_ERROR_INVALID_ARGS
              || error->code == G_DBUS_ERROR_LIMITS_EXCEEDED)))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_debug ("%s: %s", g_dbus_method_invocation_get_method_name (invocation),
           error->message);
  g_dbus_method_invocation_return_error (invocation, TRELLIS_DBUS_ERROR,
                                         TRELLIS_DBUS_ERROR_FAILED,
                                         "%s", error->message);
}

/* ------------------------------------------------------------------------ */
/* Arguments */

/* A text argument: at most @max bytes of valid UTF-8, not empty when
 * @required, and without a character that changes how the text around it
 * is shown (policy/text-safety.h): what a child writes reaches a parent's
 * terminal and desktop.  @what names it in the error ("name", "message"). */
static gboolean
check_text (const char *text,
            const char *what,
            gsize max,
            gboolean required,
            GError **error)
{
  gsize len = strlen (text);
  gunichar c = 0;
  glong at;

  if (required && len == 0)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "The %s is empty.", what);
      return FALSE;
    }
  if (len > max)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "The %s is %" G_GSIZE_FORMAT " bytes long; at most %" G_GSIZE_FORMAT " are allowed.",
                   what, len, max);
      return FALSE;
    }
  if (!g_utf8_validate (text, len, NULL))
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "The %s is not valid UTF-8.", what);
      return FALSE;
    }
  at = trellis_text_find_unsafe (text, &c);
  if (at >= 0)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "The %s holds a control character (U+%04X, character %ld): "
                   "write plain text on one line.",
                   what, (guint) c, at + 1);
      return FALSE;
    }
  return TRUE;
}

gboolean
trellis_dbus_check_name (const char *name,
                         GError **error)
{
  return check_text (name, "name", TRELLIS_DBUS_NAME_MAX, TRUE, error);
}

gboolean
trellis_dbus_check_message (const char *message,
                            GError **error)
{
  return check_text (message, "message", TRELLIS_DBUS_MESSAGE_MAX, FALSE, error);
}

/* A CHILD argument: "" (the caller, or every child for a parent) or a name. */
static gboolean
check_child (const char *child,
             GError **error)
{
  if (child[0] == '\0')
    return TRUE;
  return trellis_dbus_check_name (child, error);
}

/* A device of GetDeviceLog: "" (any), or one MAC or one address. */
static gboolean
check_device (const char *device,
              GError **error)
{
  TrellisDeviceAddress d;

  if (device[0] == '\0')
    return TRUE;
  if (strlen (device) > TRELLIS_DBUS_DEVICE_MAX || !g_utf8_validate (device, -1, NULL)
      || !trellis_device_parse (device, &d))
    {
      g_autofree char *shown = g_utf8_make_valid (device, MIN (strlen (device), 64));

      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "“%s” is not a device: give a MAC (02:00:00:00:03:10) or an IPv4 or IPv6 address.",
                   shown);
      return FALSE;
    }
  if (d.prefix_len != (d.family == TRELLIS_DEVICE_IPV4 ? 32 : d.family == TRELLIS_DEVICE_IPV6 ? 128
                                                                                              : 48))
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "“%s” is a range, not one device: give its group instead.", device);
      return FALSE;
    }
  return TRUE;
}

/* The child an edit is about: named, one line, not too long. */
static gboolean
check_edit_child (const char *child,
                  GError **error)
{
  return check_text (child, "child's name", TRELLIS_DBUS_CHILD_MAX, TRUE, error);
}

static gboolean
check_locale (const char *locale,
              GError **error)
{
  gsize len = strlen (locale);

  if (len > TRELLIS_DBUS_LOCALE_MAX)
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                           "The locale is too long.");
      return FALSE;
    }
  for (const char *p = locale; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_.@-", *p) == NULL)
      {
        g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                     "\"%s\" is not a locale name.", locale);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_duration (gint64 seconds,
                GError **error)
{
  if (seconds < TRELLIS_DBUS_DURATION_MIN || seconds > TRELLIS_DBUS_DURATION_MAX)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "A duration must be between %d second and %d days, not %" G_GINT64_FORMAT " s.",
                   TRELLIS_DBUS_DURATION_MIN, TRELLIS_DBUS_DURATION_MAX / (24 * 3600),
                   seconds);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_id (guint32 id,
          GError **error)
{
  if (id == 0)
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                           "Request ids start at 1.");
      return FALSE;
    }
  return TRUE;
}

/* Step 1: the shape of the arguments, before anything is asked of anyone. */
static gboolean
check_args (Method method,
            GVariant *params,
            GError **error)
{
  const char *child, *name, *locale, *message;
  guint32 id, limit;
  gint64 seconds;

  switch (method)
    {
    case METHOD_GET_STATUS:
    case METHOD_CLEAR_LOG:
    case METHOD_LIST_REQUESTS:
      g_variant_get (params, "(&s)", &child);
      return check_child (child, error);
    case METHOD_WHY:
      g_variant_get (params, "(&s&s&s)", &child, &name, &locale);
      return check_child (child, error)
             && trellis_dbus_check_name (name, error)
             && check_locale (locale, error);
    case METHOD_GET_LOG:
      g_variant_get (params, "(&stu)", &child, NULL, &limit);
      return check_child (child, error);
    case METHOD_GET_DEVICE_LOG:
      {
        const char *device;

        g_variant_get (params, "(&s&stu)", &child, &device, NULL, &limit);
        if (!check_child (child, error) || !check_device (device, error))
          return FALSE;
        if (child[0] == '\0' && device[0] == '\0')
          {
            g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                 "Name a group or a device.");
            return FALSE;
          }
        return TRUE;
      }
    case METHOD_GET_REPORT:
      g_variant_get (params, "(u)", &limit);
      if (limit < 1 || limit > 365)
        {
          g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                       "A report covers 1 to 365 days, not %u.", limit);
          return FALSE;
        }
      return TRUE;
    case METHOD_ASK:
      g_variant_get (params, "(&s&s)", &name, &message);
      return trellis_dbus_check_name (name, error)
             && trellis_dbus_check_message (message, error);
    case METHOD_APPROVE:
      g_variant_get (params, "(ux)", &id, &seconds);
      return check_id (id, error) && check_duration (seconds, error);
    case METHOD_DECLINE:
      g_variant_get (params, "(u&s)", &id, &message);
      return check_id (id, error) && trellis_dbus_check_message (message, error);
    case METHOD_PAUSE:
      g_variant_get (params, "(&sx)", &child, &seconds);
      return check_child (child, error) && check_duration (seconds, error);
    case METHOD_APPLY_POLICY:
    case METHOD_GET_HELPLINES:
    case METHOD_SUBSCRIBE:
    case METHOD_GET_LISTS:
    case METHOD_UPDATE_LISTS:
      return TRUE;
    case METHOD_ADD_CHILD:
      {
        const char *age, *birth, *account;

        g_variant_get (params, "(&s&s&s&s)", &child, &age, &birth, &account);
        if (!check_edit_child (child, error)
            || !check_text (age, "age", TRELLIS_DBUS_LOCALE_MAX, FALSE, error)
            || !check_text (birth, "birth month", TRELLIS_DBUS_LOCALE_MAX, FALSE, error)
            || !check_text (account, "account", TRELLIS_DBUS_LOCALE_MAX, TRUE, error))
          return FALSE;
        if ((*age == '\0') == (*birth == '\0'))
          {
            g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                 "Give an age or a birth month, one of the two.");
            return FALSE;
          }
        return TRUE;
      }
    case METHOD_REMOVE_CHILD:
      g_variant_get (params, "(&s)", &child);
      return check_edit_child (child, error);
    case METHOD_SET_CHILD:
      {
        const char *key, *value;

        g_variant_get (params, "(&s&s&s)", &child, &key, &value);
        if (!check_edit_child (child, error)
            || !check_text (value, "value", TRELLIS_DBUS_VALUE_MAX, FALSE, error))
          return FALSE;
        if (!g_strv_contains (trellis_household_settable_keys, key))
          {
            g_autofree char *keys = g_strjoinv (", ", (char **) trellis_household_settable_keys);

            g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                         "SetChild changes one of %s.", keys);
            return FALSE;
          }
        return TRUE;
      }
    case METHOD_ALLOW:
    case METHOD_DENY:
      g_variant_get (params, "(&s&s)", &child, &name);
      return check_edit_child (child, error) && trellis_dbus_check_name (name, error);
    case METHOD_APPROVE_ALWAYS:
      g_variant_get (params, "(u)", &id);
      return check_id (id, error);
    }
  g_assert_not_reached ();
}

static const struct {
  const char *name;
  Method method;
} method_names[] = {
  { "GetStatus", METHOD_GET_STATUS },
  { "Why", METHOD_WHY },
  { "GetLog", METHOD_GET_LOG },
  { "ClearLog", METHOD_CLEAR_LOG },
  { "Ask", METHOD_ASK },
  { "ListRequests", METHOD_LIST_REQUESTS },
  { "Approve", METHOD_APPROVE },
  { "Decline", METHOD_DECLINE },
  { "Pause", METHOD_PAUSE },
  { "ApplyPolicy", METHOD_APPLY_POLICY },
  { "GetHelplines", METHOD_GET_HELPLINES },
  { "Subscribe", METHOD_SUBSCRIBE },
  { "GetLists", METHOD_GET_LISTS },
  { "UpdateLists", METHOD_UPDATE_LISTS },
  { "AddChild", METHOD_ADD_CHILD },
  { "RemoveChild", METHOD_REMOVE_CHILD },
  { "SetChild", METHOD_SET_CHILD },
  { "Allow", METHOD_ALLOW },
  { "Deny", METHOD_DENY },
  { "ApproveAlways", METHOD_APPROVE_ALWAYS },
  { "GetDeviceLog", METHOD_GET_DEVICE_LOG },
  { "GetReport", METHOD_GET_REPORT },
};

gboolean
trellis_dbus_check_args (const char *method_name,
                         GVariant *params,
                         GError **error)
{
  GDBusMethodInfo *info = g_dbus_interface_info_lookup_method (trellis_trellis1_interface_info (),
                                                               method_name);
  g_autoptr(GString) signature = g_string_new ("(");

  if (info == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                   "There is no method %s.", method_name);
      return FALSE;
    }
  for (guint i = 0; info->in_args != NULL && info->in_args[i] != NULL; i++)
    g_string_append (signature, info->in_args[i]->signature);
  g_string_append_c (signature, ')');
  /* What GDBus checks before the service is asked. */
  if (!g_variant_is_of_type (params, G_VARIANT_TYPE (signature->str)))
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "%s takes %s, not %s.", method_name, signature->str,
                   g_variant_get_type_string (params));
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (strcmp (method_names[i].name, method_name) == 0)
      return check_args (method_names[i].method, params, error);
  g_assert_not_reached ();
}

/* ------------------------------------------------------------------------ */
/* Who may do what */

static gboolean
service_whois (TrellisDBusService *self,
               guint32 uid,
               Role *ret_role,
               char **ret_child,
               GError **error)
{
  g_autofree char *child = NULL;
  gboolean parent = FALSE;

  if (!self->backend->whois (self->backend_data, uid, &child, &parent, error))
    return FALSE;
  *ret_role = parent ? ROLE_PARENT : child != NULL ? ROLE_CHILD
                                                   : ROLE_OTHER;
  *ret_child = parent ? NULL : g_steal_pointer (&child);
  return TRUE;
}

/*
 * Step 3 for a CHILD argument.  A child may pass "" or its own name; a
 * parent any name, or "" where the method means every child (@all_allowed:
 * *ret_child is then NULL).  A child naming anyone else is refused the same
 * way whether that child exists or not: siblings are not to be probed.
 */
static gboolean
resolve_child (Role role,
               const char *own_child,
               const char *arg,
               gboolean all_allowed,
               const char **ret_child,
               GError **error)
{
  switch (role)
    {
    case ROLE_OTHER:
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                           "Only the household's children and parents may ask this.");
      return FALSE;
    case ROLE_CHILD:
      if (arg[0] != '\0' && strcmp (arg, own_child) != 0)
        {
          g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                               "You can only see your own data, not another child's.");
          return FALSE;
        }
      *ret_child = own_child;
      return TRUE;
    case ROLE_PARENT:
      if (arg[0] == '\0' && !all_allowed)
        {
          g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                               "Name a child.");
          return FALSE;
        }
      *ret_child = arg[0] == '\0' ? NULL : arg;
      return TRUE;
    }
  g_assert_not_reached ();
}

static gboolean
require_parent (Role role,
                GError **error)
{
  if (role != ROLE_PARENT)
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                           "Only a parent may do this.");
      return FALSE;
    }
  return TRUE;
}

/* Takes @value (a new or floating reference). */
static gboolean
check_result (GVariant *value,
              const GVariantType *type,
              GVariant **ret_value,
              GError **error)
{
  g_autoptr(GVariant) owned = value != NULL ? g_variant_ref_sink (value) : NULL;

  if (owned == NULL || !g_variant_is_of_type (owned, type))
    {
      g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                   "Internal error: the daemon answered with %s, not %s.",
                   owned != NULL ? g_variant_get_type_string (owned) : "nothing",
                   g_variant_type_peek_string (type));
      return FALSE;
    }
  *ret_value = g_steal_pointer (&owned);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Subscribers */

static void
subscriber_free (Subscriber *sub)
{
  if (sub->watch_id != 0)
    g_bus_unwatch_name (sub->watch_id);
  g_free (sub->name);
  g_free (sub);
}

static void
subscriber_vanished (GDBusConnection *connection,
                     const char *name,
                     gpointer user_data)
{
  Subscriber *sub = user_data;

  g_debug ("subscriber %s left", name);
  /* Frees @sub, and with it the watch that called us. */
  g_hash_table_remove (sub->service->subscribers, name);
}

/*
 * Whether @uid (a parent's when @parent) may subscribe one more connection:
 * at most TRELLIS_DBUS_SUBSCRIBERS_PER_UID of its own, and children's
 * connections in all never take the places kept for parents.  A child
 * that opens hundreds of connections fills only its own few places; its
 * siblings' and the parents' agents still subscribe.
 */
static gboolean
service_subscribe_allowed (TrellisDBusService *self,
                           guint32 uid,
                           gboolean parent,
                           GError **error)
{
  GHashTableIter iter;
  Subscriber *sub;
  guint same_uid = 0, not_parents = 0;

  g_hash_table_iter_init (&iter, self->subscribers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sub))
    {
      same_uid += sub->uid == uid;
      not_parents += !sub->parent;
    }
  if (same_uid >= TRELLIS_DBUS_SUBSCRIBERS_PER_UID)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED,
                   "This account has %u subscribed connections already, the most it may have; "
                   "close one of them first.",
                   same_uid);
      return FALSE;
    }
  if (g_hash_table_size (self->subscribers) >= TRELLIS_DBUS_SUBSCRIBERS_MAX
      || (!parent
          && not_parents >= TRELLIS_DBUS_SUBSCRIBERS_MAX - TRELLIS_DBUS_SUBSCRIBERS_FOR_PARENTS))
    {
      g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED,
                           "Too many connections are subscribed; try again later.");
      return FALSE;
    }
  return TRUE;
}

static gboolean
service_subscribe (TrellisDBusService *self,
                   const char *sender,
                   guint32 uid,
                   gboolean parent,
                   GError **error)
{
  Subscriber *sub;

  if (g_hash_table_contains (self->subscribers, sender))
    return TRUE;
  if (!service_subscribe_allowed (self, uid, parent, error))
    {
      g_debug ("subscriber %s (uid %u) refused: %s", sender, (guint) uid, (*error)->message);
      return FALSE;
    }
  sub = g_new0 (Subscriber, 1);
  sub->service = self;
  sub->name = g_strdup (sender);
  sub->uid = uid;
  sub->parent = parent;
  g_hash_table_insert (self->subscribers, sub->name, sub);
  /* If the sender is already gone, this calls subscriber_vanished from the
   * main loop, and the entry goes again. */
  sub->watch_id = g_bus_watch_name_on_connection (self->connection, sender,
                                                  G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                  NULL, subscriber_vanished,
                                                  sub, NULL);
  return TRUE;
}

/* Sends one signal to every subscriber that is @child's or a parent's. */
static guint
service_emit (TrellisDBusService *self,
              const char *child,
              const char *signal_name,
              GVariant *params)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (params);
  GHashTableIter iter;
  Subscriber *sub;
  guint sent = 0;

  g_hash_table_iter_init (&iter, self->subscribers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sub))
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *sub_child = NULL;
      Role role;

      if (!service_whois (self, sub->uid, &role, &sub_child, &error))
        {
          g_debug ("not signalling %s: %s", sub->name, error->message);
          continue;
        }
      if (!(role == ROLE_PARENT
            || (role == ROLE_CHILD && g_strcmp0 (sub_child, child) == 0)))
        continue;
      /* Unicast: a destination on every signal, never NULL. */
      g_assert (sub->name != NULL);
      if (!g_dbus_connection_emit_signal (self->connection, sub->name,
                                          TRELLIS_DBUS_PATH, TRELLIS_DBUS_INTERFACE,
                                          signal_name, owned, &error))
        {
          g_debug ("signalling %s: %s", sub->name, error->message);
          continue;
        }
      sent++;
    }
  return sent;
}

guint
trellis_dbus_service_emit_blocked (TrellisDBusService *service,
                                   const char *child,
                                   const char *name,
                                   const char *rule_kind,
                                   const char *explanation,
                                   gint64 until)
{
  g_return_val_if_fail (service != NULL && child != NULL && name != NULL, 0);
  g_return_val_if_fail (rule_kind != NULL && explanation != NULL, 0);

  return service_emit (service, child, "Blocked",
                       g_variant_new ("(ssssx)", child, name, rule_kind,
                                      explanation, until));
}

guint
trellis_dbus_service_emit_request_changed (TrellisDBusService *service,
                                           guint32 id,
                                           const char *child,
                                           const char *name,
                                           const char *state,
                                           const char *message)
{
  g_return_val_if_fail (service != NULL && child != NULL && name != NULL, 0);
  g_return_val_if_fail (state != NULL && message != NULL, 0);

  return service_emit (service, child, "RequestChanged",
                       g_variant_new ("(ussss)", id, child, name, state, message));
}

guint
trellis_dbus_service_get_n_subscribers (TrellisDBusService *service)
{
  return g_hash_table_size (service->subscribers);
}

/* ------------------------------------------------------------------------ */
/* Calls */

static void
call_free (Call *call)
{
  g_clear_object (&call->invocation);
  g_clear_object (&call->cancellable);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

/* Step 3, for a caller the bus says is @uid and the backend (or, for one
 * call, polkit) says is @role, with @own_child its child's name if a child.
 * Returns the reply's body (floating or NULL for none), or FALSE with
 * @error. */
static gboolean
call_dispatch (Call *call,
               guint32 uid,
               Role role,
               const char *own_child,
               GVariant **ret_reply,
               GError **error)
{
  TrellisDBusService *self = call->service;
  const TrellisDBusBackend *b = self->backend;
  gpointer data = self->backend_data;
  GVariant *params = g_dbus_method_invocation_get_parameters (call->invocation);
  g_autoptr(GVariant) value = NULL;
  const char *arg, *child, *name, *locale, *message;
  guint32 id;
  gint64 seconds;

  switch (call->method)
    {
    case METHOD_GET_STATUS:
      g_variant_get (params, "(&s)", &arg);
      if (!resolve_child (role, own_child, arg, FALSE, &child, error)
          || !b->get_status (data, child, &value, error)
          || !check_result (g_steal_pointer (&value), G_VARIANT_TYPE_VARDICT, &value, error))
        return FALSE;
      *ret_reply = g_variant_new ("(@a{sv})", value);
      return TRUE;

    case METHOD_WHY:
      {
        g_autofree char *rule = NULL, *explanation = NULL;
        gboolean blocked = FALSE;

        g_variant_get (params, "(&s&s&s)", &arg, &name, &locale);
        if (!resolve_child (role, own_child, arg, FALSE, &child, error)
            || !b->why (data, child, name, locale, &blocked, &rule, &explanation, error))
          return FALSE;
        *ret_reply = g_variant_new ("(bss)", blocked, rule != NULL ? rule : "",
                                    explanation != NULL ? explanation : "");
        return TRUE;
      }

    case METHOD_ASK:
      /* The asker is always the caller: a child, asking for itself. */
      g_variant_get (params, "(&s&s)", &name, &message);
      if (role != ROLE_CHILD)
        {
          g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                               "Only a child's account can ask for a review.");
          return FALSE;
        }
      if (!b->ask (data, own_child, name, message, &id, error))
        return FALSE;
      *ret_reply = g_variant_new ("(u)", id);
      return TRUE;

    case METHOD_LIST_REQUESTS:
      g_variant_get (params, "(&s)", &arg);
      if (!resolve_child (role, own_child, arg, TRUE, &child, error)
          || !b->list_requests (data, child, &value, error)
          || !check_result (g_steal_pointer (&value), G_VARIANT_TYPE ("a(ussssxsx)"), &value, error))
        return FALSE;
      *ret_reply = g_variant_new ("(@a(ussssxsx))", value);
      return TRUE;

    case METHOD_APPROVE:
      g_variant_get (params, "(ux)", &id, &seconds);
      if (!require_parent (role, error) || !b->approve (data, id, seconds, error))
        return FALSE;
      *ret_reply = NULL;
      return TRUE;

    case METHOD_DECLINE:
      g_variant_get (params, "(u&s)", &id, &message);
      if (!require_parent (role, error) || !b->decline (data, id, message, error))
        return FALSE;
      *ret_reply = NULL;
      return TRUE;

    case METHOD_PAUSE:
      /* Parents by uid, or (call_got_authorization) by polkit's word. */
      g_variant_get (params, "(&sx)", &arg, &seconds);
      if (!require_parent (role, error)
          || !resolve_child (role, own_child, arg, FALSE, &child, error)
          || !b->pause (data, child, seconds, error))
        return FALSE;
      *ret_reply = NULL;
      return TRUE;

    case METHOD_APPLY_POLICY:
      /* As for Pause. */
      if (!require_parent (role, error) || !b->apply_policy (data, error))
        return FALSE;
      *ret_reply = NULL;
      return TRUE;

    case METHOD_SUBSCRIBE:
      if (role == ROLE_OTHER)
        {
          g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                               "Only the household's children and parents receive signals.");
          return FALSE;
        }
      if (!service_subscribe (self, g_dbus_method_invocation_get_sender (call->invocation),
                              uid, role == ROLE_PARENT, error))
        return FALSE;
      *ret_reply = NULL;
      return TRUE;

    case METHOD_GET_LOG: /* call_start_later */
    case METHOD_GET_DEVICE_LOG:
    case METHOD_GET_REPORT:
    case METHOD_CLEAR_LOG:
    case METHOD_UPDATE_LISTS:
    case METHOD_GET_HELPLINES:
    case METHOD_GET_LISTS:
    case METHOD_ADD_CHILD: /* call_start_edit */
    case METHOD_REMOVE_CHILD:
    case METHOD_SET_CHILD:
    case METHOD_ALLOW:
    case METHOD_DENY:
    case METHOD_APPROVE_ALWAYS:
      break;
    }
  g_assert_not_reached ();
}

/* Takes @call: the backend's answer to GetLog, ClearLog, UpdateLists or an edit,
 * from whichever thread gave it.  Touches nothing but the call: the service
 * may be gone. */
static void
call_later_done (GVariant *reply,
                 GError *error,
                 gpointer user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GVariant) value = reply;
  g_autoptr(GError) local_error = error;
  const GVariantType *type = call->method == METHOD_GET_LOG          ? G_VARIANT_TYPE ("(a(xxsssu)ta{sv})")
                             : call->method == METHOD_GET_DEVICE_LOG ? G_VARIANT_TYPE ("(a(xxsssusss)ta{sv})")
                             : call->method == METHOD_GET_REPORT     ? G_VARIANT_TYPE ("(a(sssttt)a{sv})")
                             : call->method == METHOD_UPDATE_LISTS   ? G_VARIANT_TYPE ("(is)")
                             : call->method == METHOD_CLEAR_LOG      ? G_VARIANT_TYPE ("(u)")
                                                                     : G_VARIANT_TYPE_UNIT;

  if (g_cancellable_is_cancelled (call->cancellable))
    {
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                             TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                             "The service is shutting down.");
      return;
    }
  if (local_error == NULL)
    check_result (g_steal_pointer (&value), type, &value, &local_error);
  if (local_error != NULL)
    {
      invocation_return_error (g_steal_pointer (&call->invocation), local_error);
      return;
    }
  /* Not floating: the invocation takes a reference of its own. */
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), value);
}

/* Takes @call: step 3 for GetLog, ClearLog and UpdateLists, whose answers
 * come later, so that no read or delete of the log, and no update of the
 * lists, holds up the main loop. */
static void
call_start_later (Call *call,
                  Role role,
                  const char *own_child)
{
  TrellisDBusService *self = call->service;
  GVariant *params = g_dbus_method_invocation_get_parameters (call->invocation);
  g_autoptr(GError) error = NULL;
  const char *arg, *child;
  guint64 before = 0;
  guint32 limit = 0;

  if (call->method == METHOD_UPDATE_LISTS)
    {
      /* As for Pause: parents, or a caller polkit authorised for this call. */
      if (!require_parent (role, &error))
        {
          invocation_return_error (g_steal_pointer (&call->invocation), error);
          call_free (call);
          return;
        }
      self->backend->update_lists (self->backend_data, call_later_done, call);
      return;
    }
  if (call->method == METHOD_GET_DEVICE_LOG || call->method == METHOD_GET_REPORT)
    {
      /* A gateway's devices and the school's counts: parents only, by uid
       * (never polkit, never a child, whatever it names). */
      const char *device = NULL;

      if (!require_parent (role, &error))
        {
          invocation_return_error (g_steal_pointer (&call->invocation), error);
          call_free (call);
          return;
        }
      if (call->method == METHOD_GET_REPORT)
        {
          g_variant_get (params, "(u)", &limit);
          self->backend->get_report (self->backend_data, limit, call_later_done, call);
          return;
        }
      g_variant_get (params, "(&s&stu)", &arg, &device, &before, &limit);
      self->backend->get_device_log (self->backend_data, arg[0] != '\0' ? arg : NULL,
                                     device[0] != '\0' ? device : NULL, before, limit,
                                     call_later_done, call);
      return;
    }
  if (call->method == METHOD_GET_LOG)
    g_variant_get (params, "(&stu)", &arg, &before, &limit);
  else
    g_variant_get (params, "(&s)", &arg);
  if (!resolve_child (role, own_child, arg, FALSE, &child, &error))
    {
      invocation_return_error (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }
  /* From here the call is call_later_done's, which may run in another thread
   * (and before these calls return). */
  if (call->method == METHOD_GET_LOG)
    self->backend->get_log (self->backend_data, child, role == ROLE_PARENT, before, limit,
                            call_later_done, call);
  else
    self->backend->clear_log (self->backend_data, child, call_later_done, call);
}

static gboolean
method_is_edit (Method method)
{
  return method == METHOD_ADD_CHILD || method == METHOD_REMOVE_CHILD
         || method == METHOD_SET_CHILD || method == METHOD_ALLOW || method == METHOD_DENY
         || method == METHOD_APPROVE_ALWAYS;
}

/* Takes @call: step 3 for the household edits, parents only, whose
 * answers come once the file is written and in force. */
static void
call_start_edit (Call *call,
                 Role role)
{
  TrellisDBusService *self = call->service;
  const TrellisDBusBackend *b = self->backend;
  GVariant *params = g_dbus_method_invocation_get_parameters (call->invocation);
  g_autoptr(GError) error = NULL;
  TrellisHouseholdChange change = { 0 };
  const char *age, *birth;
  guint32 id;

  if (!require_parent (role, &error))
    {
      invocation_return_error (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }
  if (b->edit_household == NULL || b->approve_always == NULL)
    {
      g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                     TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                                     "This trellisd does not edit the household file.");
      call_free (call);
      return;
    }
  switch (call->method)
    {
    case METHOD_ADD_CHILD:
      change.op = TRELLIS_HOUSEHOLD_ADD_CHILD;
      g_variant_get (params, "(&s&s&s&s)", &change.child, &age, &birth, &change.account);
      change.key = *age != '\0' ? "age" : "birth";
      change.value = *age != '\0' ? age : birth;
      break;
    case METHOD_REMOVE_CHILD:
      change.op = TRELLIS_HOUSEHOLD_REMOVE_CHILD;
      g_variant_get (params, "(&s)", &change.child);
      break;
    case METHOD_SET_CHILD:
      change.op = TRELLIS_HOUSEHOLD_SET_CHILD;
      g_variant_get (params, "(&s&s&s)", &change.child, &change.key, &change.value);
      break;
    case METHOD_ALLOW:
    case METHOD_DENY:
      change.op = call->method == METHOD_ALLOW ? TRELLIS_HOUSEHOLD_ALLOW : TRELLIS_HOUSEHOLD_DENY;
      g_variant_get (params, "(&s&s)", &change.child, &change.value);
      break;
    case METHOD_APPROVE_ALWAYS:
      g_variant_get (params, "(u)", &id);
      /* From here the call is call_later_done's. */
      b->approve_always (self->backend_data, id, call_later_done, call);
      return;
    default:
      g_assert_not_reached ();
    }
  b->edit_household (self->backend_data, &change, call_later_done, call);
}

/* Takes @call: step 3, and the answer to the caller. */
static void
call_run (Call *call,
          Role role,
          const char *own_child)
{
  g_autoptr(Call) owned = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *reply = NULL;

  if (call->method == METHOD_GET_LOG || call->method == METHOD_CLEAR_LOG
      || call->method == METHOD_UPDATE_LISTS || call->method == METHOD_GET_DEVICE_LOG
      || call->method == METHOD_GET_REPORT)
    {
      call_start_later (call, role, own_child);
      return;
    }
  if (method_is_edit (call->method))
    {
      call_start_edit (call, role);
      return;
    }
  owned = call;
  if (!call_dispatch (call, call->uid, role, own_child, &reply, &error))
    {
      invocation_return_error (g_steal_pointer (&call->invocation), error);
      return;
    }
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), reply);
}

/* Takes @call.  The caller is someone else's than a parent's or a child's:
 * polkit's answer is the service's. */
static void
call_got_authorization (GObject *source,
                        GAsyncResult *result,
                        gpointer user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GVariant) answer = NULL;
  g_autoptr(GError) error = NULL;
  gboolean authorized = FALSE, challenge = FALSE;

  answer = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_cancellable_is_cancelled (call->cancellable))
    {
      /* The service is gone: call->service must not be touched. */
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                             TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                             "The service is shutting down.");
      return;
    }
  if (answer == NULL)
    {
      g_debug ("polkit about %s: %s", g_dbus_method_invocation_get_sender (call->invocation),
               error->message);
      /* Fail closed, whatever went wrong. */
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
          || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                       G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                                                       "Only a parent can do this, and polkit, "
                                                       "which could ask for a parent's password, "
                                                       "is not available.");
      else
        g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                       G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                                                       "Only a parent can do this, and polkit "
                                                       "could not check whether you may.");
      return;
    }
  g_variant_get (answer, "((bb@a{ss}))", &authorized, &challenge, NULL);
  if (!authorized)
    {
      g_debug ("polkit: %s is not authorised%s",
               g_dbus_method_invocation_get_sender (call->invocation),
               challenge ? " (authentication was needed but not given)" : "");
      g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                     G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Only a parent can do this.");
      return;
    }
  /* polkit vouches for this one call, and only Pause, ApplyPolicy and
   * UpdateLists come here: the caller acts as a parent for it. */
  call_run (g_steal_pointer (&call), ROLE_PARENT, NULL);
}

/*
 * Takes @call, an ApplyPolicy or Pause from someone neither a parent nor a
 * child: asks polkit's CheckAuthorization, with the caller as a
 * system-bus-name subject (polkit then asks the bus for its uid, pid and
 * session itself) and user interaction allowed, so the caller's desktop
 * agent can ask for a parent's password.  This speaks to the authority
 * with plain GDBus, as libpolkit would, so trellisd does not link libpolkit.
 * No timeout: the person may take a while to type.
 */
static void
call_check_authorization (Call *call)
{
  GVariant *params = g_dbus_method_invocation_get_parameters (call->invocation);
  const char *sender = g_dbus_method_invocation_get_sender (call->invocation);
  g_auto(GVariantBuilder) subject = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto(GVariantBuilder) details = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  const char *action = call->method == METHOD_UPDATE_LISTS ? POLKIT_ACTION_UPDATE_LISTS
                                                           : POLKIT_ACTION_APPLY_POLICY;

  if (call->method == METHOD_PAUSE)
    {
      g_autofree char *seconds_str = NULL;
      const char *child;
      gint64 seconds;

      g_variant_get (params, "(&sx)", &child, &seconds);
      if (child[0] == '\0')
        {
          /* As for a parent; before anyone is asked for a password. */
          g_dbus_method_invocation_return_error_literal (call->invocation,
                                                         G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                         "Name a child.");
          call->invocation = NULL;
          call_free (call);
          return;
        }
      seconds_str = g_strdup_printf ("%" G_GINT64_FORMAT, seconds);
      g_variant_builder_add (&details, "{ss}", "child", child);
      g_variant_builder_add (&details, "{ss}", "seconds", seconds_str);
      action = POLKIT_ACTION_PAUSE;
    }
  g_variant_builder_add (&subject, "{sv}", "name", g_variant_new_string (sender));

  g_dbus_connection_call (call->service->connection, POLKIT_NAME, POLKIT_PATH,
                          POLKIT_INTERFACE, "CheckAuthorization",
                          g_variant_new ("((s@a{sv})s@a{ss}us)", "system-bus-name",
                                         g_variant_builder_end (&subject), action,
                                         g_variant_builder_end (&details),
                                         POLKIT_CHECK_ALLOW_USER_INTERACTION, ""),
                          G_VARIANT_TYPE ("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT,
                          call->cancellable, call_got_authorization, call);
}

static void
call_got_uid (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GVariant) uid_reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *own_child = NULL;
  Role role;
  guint32 uid;

  uid_reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_cancellable_is_cancelled (call->cancellable))
    {
      /* The service is gone: call->service must not be touched. */
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                             TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                             "The service is shutting down.");
      return;
    }
  if (uid_reply == NULL)
    {
      g_debug ("who is %s: %s", g_dbus_method_invocation_get_sender (call->invocation),
               error->message);
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                             G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                                             "The bus could not say who you are.");
      return;
    }
  g_variant_get (uid_reply, "(u)", &uid);
  call->uid = uid;

  if (!service_whois (call->service, uid, &role, &own_child, &error))
    {
      invocation_return_error (g_steal_pointer (&call->invocation), error);
      return;
    }
  if (role == ROLE_OTHER
      && (call->method == METHOD_APPLY_POLICY || call->method == METHOD_PAUSE
          || call->method == METHOD_UPDATE_LISTS))
    {
      call_check_authorization (g_steal_pointer (&call));
      return;
    }
  call_run (g_steal_pointer (&call), role, own_child);
}

/* Takes @invocation. */
static void
get_helplines (TrellisDBusService *self,
               GDBusMethodInvocation *invocation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  if (!self->backend->get_helplines (self->backend_data, &value, &error)
      || !check_result (g_steal_pointer (&value), G_VARIANT_TYPE ("a(ssss)"), &value, &error))
    {
      invocation_return_error (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@a(ssss))", value));
}

/* Takes @invocation. */
static void
get_lists (TrellisDBusService *self,
           GDBusMethodInvocation *invocation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  if (!self->backend->get_lists (self->backend_data, &value, &error)
      || !check_result (g_steal_pointer (&value), G_VARIANT_TYPE ("(a{sv}aa{sv})"), &value, &error))
    {
      invocation_return_error (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_steal_pointer (&value));
}

/* Every handle-* signal comes here.  Returns TRUE: the call is ours, and so
 * is @invocation (the skeleton hands its reference to the handler that
 * returns TRUE; each g_dbus_method_invocation_return_*() consumes it). */
static gboolean
call_begin (TrellisDBusService *self,
            GDBusMethodInvocation *invocation,
            Method method)
{
  g_autoptr(GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  Call *call;

  if (!check_args (method, g_dbus_method_invocation_get_parameters (invocation), &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  if (method == METHOD_GET_HELPLINES)
    {
      get_helplines (self, invocation);
      return TRUE;
    }
  if (method == METHOD_GET_LISTS)
    {
      get_lists (self, invocation);
      return TRUE;
    }
  if (sender == NULL)
    {
      /* Peer to peer: there is no bus to vouch for the caller. */
      g_dbus_method_invocation_return_error (invocation,
                                             G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                                             "Callers must come through the bus.");
      return TRUE;
    }

  call = g_new0 (Call, 1);
  call->service = self;
  call->invocation = invocation; /* the handler owns it: see call_begin */
  call->cancellable = g_object_ref (self->cancellable);
  call->method = method;
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixUser", g_variant_new ("(s)", sender),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          call->cancellable, call_got_uid, call);
  return TRUE;
}

/* The generated skeleton's handle-* signals, one per method.  The arguments
 * are read again from the invocation, in one place. */

static gboolean
handle_get_status (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                   const char *child, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_STATUS);
}

static gboolean
handle_why (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
            const char *child, const char *name, const char *locale, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_WHY);
}

static gboolean
handle_get_log (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                const char *child, guint64 before, guint limit, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_LOG);
}

static gboolean
handle_get_device_log (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                       const char *group, const char *device, guint64 before, guint limit,
                       gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_DEVICE_LOG);
}

static gboolean
handle_get_report (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                   guint days, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_REPORT);
}

static gboolean
handle_clear_log (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                  const char *child, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_CLEAR_LOG);
}

static gboolean
handle_ask (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
            const char *name, const char *message, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_ASK);
}

static gboolean
handle_list_requests (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                      const char *child, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_LIST_REQUESTS);
}

static gboolean
handle_approve (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                guint id, gint64 seconds, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_APPROVE);
}

static gboolean
handle_decline (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                guint id, const char *message, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_DECLINE);
}

static gboolean
handle_pause (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
              const char *child, gint64 seconds, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_PAUSE);
}

static gboolean
handle_apply_policy (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                     gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_APPLY_POLICY);
}

static gboolean
handle_get_helplines (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                      gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_HELPLINES);
}

static gboolean
handle_subscribe (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                  gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_SUBSCRIBE);
}

static gboolean
handle_get_lists (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                  gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_GET_LISTS);
}

static gboolean
handle_update_lists (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                     gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_UPDATE_LISTS);
}

static gboolean
handle_add_child (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                  const char *child, const char *age, const char *birth, const char *account,
                  gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_ADD_CHILD);
}

static gboolean
handle_remove_child (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                     const char *child, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_REMOVE_CHILD);
}

static gboolean
handle_set_child (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                  const char *child, const char *key, const char *value, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_SET_CHILD);
}

static gboolean
handle_allow (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
              const char *child, const char *name, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_ALLOW);
}

static gboolean
handle_deny (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
             const char *child, const char *name, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_DENY);
}

static gboolean
handle_approve_always (TrellisTrellis1 *skeleton, GDBusMethodInvocation *invocation,
                       guint id, gpointer user_data)
{
  return call_begin (user_data, invocation, METHOD_APPROVE_ALWAYS);
}

/* ------------------------------------------------------------------------ */
/* The name */

static void
name_acquired (GDBusConnection *connection,
               const char *name,
               gpointer user_data)
{
  TrellisDBusService *self = user_data;

  self->has_name = TRUE;
}

static void
name_lost (GDBusConnection *connection,
           const char *name,
           gpointer user_data)
{
  TrellisDBusService *self = user_data;

  self->has_name = FALSE;
  if (self->name_lost_told)
    return;
  self->name_lost_told = TRUE;
  g_warning ("Lost or could not own the D-Bus name %s: is another trellisd running?", name);
  if (self->backend->name_lost != NULL)
    self->backend->name_lost (self->backend_data);
}

gboolean
trellis_dbus_service_has_name (TrellisDBusService *service)
{
  return service->has_name;
}

/* ------------------------------------------------------------------------ */

TrellisDBusService *
trellis_dbus_service_new (GDBusConnection *connection,
                          const TrellisDBusBackend *backend,
                          gpointer backend_data,
                          GError **error)
{
  g_autoptr(TrellisDBusService) self = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);
  g_return_val_if_fail (backend != NULL && backend->whois != NULL, NULL);
  g_return_val_if_fail (backend->get_status != NULL && backend->why != NULL, NULL);
  g_return_val_if_fail (backend->get_log != NULL && backend->clear_log != NULL, NULL);
  g_return_val_if_fail (backend->get_device_log != NULL && backend->get_report != NULL, NULL);
  g_return_val_if_fail (backend->ask != NULL && backend->list_requests != NULL, NULL);
  g_return_val_if_fail (backend->approve != NULL && backend->decline != NULL, NULL);
  g_return_val_if_fail (backend->pause != NULL && backend->apply_policy != NULL, NULL);
  g_return_val_if_fail (backend->get_helplines != NULL, NULL);
  g_return_val_if_fail (backend->get_lists != NULL && backend->update_lists != NULL, NULL);

  /* Register the error names before the first reply can use them. */
  (void) trellis_dbus_error_quark ();

  self = g_new0 (TrellisDBusService, 1);
  self->connection = g_object_ref (connection);
  self->backend = backend;
  self->backend_data = backend_data;
  self->cancellable = g_cancellable_new ();
  self->subscribers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify) subscriber_free);
  self->skeleton = trellis_trellis1_skeleton_new ();

  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  g_signal_connect (self->skeleton, "handle-why", G_CALLBACK (handle_why), self);
  g_signal_connect (self->skeleton, "handle-get-log", G_CALLBACK (handle_get_log), self);
  g_signal_connect (self->skeleton, "handle-clear-log", G_CALLBACK (handle_clear_log), self);
  g_signal_connect (self->skeleton, "handle-get-device-log", G_CALLBACK (handle_get_device_log), self);
  g_signal_connect (self->skeleton, "handle-get-report", G_CALLBACK (handle_get_report), self);
  g_signal_connect (self->skeleton, "handle-ask", G_CALLBACK (handle_ask), self);
  g_signal_connect (self->skeleton, "handle-list-requests", G_CALLBACK (handle_list_requests), self);
  g_signal_connect (self->skeleton, "handle-approve", G_CALLBACK (handle_approve), self);
  g_signal_connect (self->skeleton, "handle-decline", G_CALLBACK (handle_decline), self);
  g_signal_connect (self->skeleton, "handle-pause", G_CALLBACK (handle_pause), self);
  g_signal_connect (self->skeleton, "handle-apply-policy", G_CALLBACK (handle_apply_policy), self);
  g_signal_connect (self->skeleton, "handle-get-helplines", G_CALLBACK (handle_get_helplines), self);
  g_signal_connect (self->skeleton, "handle-subscribe", G_CALLBACK (handle_subscribe), self);
  g_signal_connect (self->skeleton, "handle-get-lists", G_CALLBACK (handle_get_lists), self);
  g_signal_connect (self->skeleton, "handle-update-lists", G_CALLBACK (handle_update_lists), self);
  g_signal_connect (self->skeleton, "handle-add-child", G_CALLBACK (handle_add_child), self);
  g_signal_connect (self->skeleton, "handle-remove-child", G_CALLBACK (handle_remove_child), self);
  g_signal_connect (self->skeleton, "handle-set-child", G_CALLBACK (handle_set_child), self);
  g_signal_connect (self->skeleton, "handle-allow", G_CALLBACK (handle_allow), self);
  g_signal_connect (self->skeleton, "handle-deny", G_CALLBACK (handle_deny), self);
  g_signal_connect (self->skeleton, "handle-approve-always", G_CALLBACK (handle_approve_always), self);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                         connection, TRELLIS_DBUS_PATH, error))
    return NULL;

  self->own_id = g_bus_own_name_on_connection (connection, TRELLIS_DBUS_NAME,
                                               G_BUS_NAME_OWNER_FLAGS_NONE,
                                               name_acquired, name_lost,
                                               self, NULL);
  return g_steal_pointer (&self);
}

void
trellis_dbus_service_free (TrellisDBusService *service)
{
  if (service == NULL)
    return;

  if (service->own_id != 0)
    g_bus_unown_name (service->own_id);
  if (service->skeleton != NULL)
    {
      g_signal_handlers_disconnect_by_data (service->skeleton, service);
      if (g_dbus_interface_skeleton_has_connection (G_DBUS_INTERFACE_SKELETON (service->skeleton),
                                                    service->connection))
        g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (service->skeleton));
      g_object_unref (service->skeleton);
    }
  /* Calls waiting for the bus get Failed without touching us. */
  g_cancellable_cancel (service->cancellable);
  g_clear_object (&service->cancellable);
  g_clear_pointer (&service->subscribers, g_hash_table_unref);
  g_clear_object (&service->connection);
  g_free (service);
}
