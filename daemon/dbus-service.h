/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-service.h — org.trellis.Trellis1 on the system bus.
 *
 * The service owns the name, asks the bus who every caller is (the sender's
 * Unix uid, never an argument), decides what that caller may do, checks the
 * arguments' shape, and hands the rest to a backend through a small vtable.
 * It holds no policy of its own, so the tests drive it with a fake backend on
 * a private bus.  Pause and ApplyPolicy from a caller who is neither a
 * parent nor a child are put to polkit (org.freedesktop.PolicyKit1, spoken
 * to with plain GDBus; actions org.trellis.Trellis1.pause, .apply-policy
 * and, for UpdateLists, .update-lists); children never are.  Signals go only to subscribed connections of the child they
 * are about and of parents, one unicast message each: never a broadcast.
 * A uid subscribes at most TRELLIS_DBUS_SUBSCRIBERS_PER_UID connections,
 * and children's connections never take the last
 * TRELLIS_DBUS_SUBSCRIBERS_FOR_PARENTS places: one child's connections
 * cannot lock the parents' agents out.
 */
#pragma once

#include <gio/gio.h>

#include "bus/trellis-bus.h" /* the name, the path, the interface */
#include "policy/household-edit.h"

G_BEGIN_DECLS

/* Bounds on what callers may pass. */
#define TRELLIS_DBUS_NAME_MAX                253              /* bytes, a DNS name */
#define TRELLIS_DBUS_MESSAGE_MAX             500              /* bytes */
#define TRELLIS_DBUS_LOCALE_MAX              64               /* bytes */
#define TRELLIS_DBUS_CHILD_MAX               64               /* bytes, a child's name in AddChild */
#define TRELLIS_DBUS_DEVICE_MAX              64               /* bytes, a device in GetDeviceLog */
#define TRELLIS_DBUS_VALUE_MAX               500              /* bytes, SetChild's value */
#define TRELLIS_DBUS_DURATION_MIN            1                /* seconds */
#define TRELLIS_DBUS_DURATION_MAX            (30 * 24 * 3600) /* seconds: 30 days */
#define TRELLIS_DBUS_SUBSCRIBERS_MAX         256              /* connections, in all */
#define TRELLIS_DBUS_SUBSCRIBERS_PER_UID     8                /* connections of one uid */
#define TRELLIS_DBUS_SUBSCRIBERS_FOR_PARENTS 64               /* of the MAX: parents' only */

/**
 * TrellisDBusError:
 * @TRELLIS_DBUS_ERROR_NOT_FOUND: no such child or request
 *   (TRELLIS_DBUS_ERROR_NAME_NOT_FOUND on the wire).
 * @TRELLIS_DBUS_ERROR_FAILED: anything else that went wrong
 *   (TRELLIS_DBUS_ERROR_NAME_FAILED).
 *
 * Errors a backend returns.  Besides these, a backend may return
 * G_DBUS_ERROR_ACCESS_DENIED or G_DBUS_ERROR_INVALID_ARGS, which reach the
 * caller as org.freedesktop.DBus.Error.AccessDenied / .InvalidArgs; any
 * other error reaches the caller as Failed with its message.
 */
typedef enum {
  TRELLIS_DBUS_ERROR_NOT_FOUND,
  TRELLIS_DBUS_ERROR_FAILED,
} TrellisDBusError;

#define TRELLIS_DBUS_ERROR (trellis_dbus_error_quark ())
/** trellis_dbus_error_quark: the domain, registered with GDBus. */
GQuark trellis_dbus_error_quark (void);

/**
 * TrellisDBusReplyFunc:
 * @reply: (transfer full) (nullable): the method's whole reply, or NULL with @error
 * @error: (transfer full) (nullable): why there is no reply
 * @reply_data: what the service gave the backend with this function
 *
 * How a backend answers GetLog, ClearLog and UpdateLists: once, from any
 * thread.
 */
typedef void (*TrellisDBusReplyFunc) (GVariant *reply,
                                      GError *error,
                                      gpointer reply_data);

/**
 * TrellisDBusBackend:
 *
 * What the service needs from the daemon.  Every function is called on the
 * thread that runs the connection's main context (the daemon's main loop),
 * gets the backend_data given to trellis_dbus_service_new() first, returns
 * TRUE with its results set, or FALSE with @error set (see TrellisDBusError);
 * get_log, clear_log and update_lists answer through a TrellisDBusReplyFunc
 * instead.
 * A returned GVariant is a new reference (it may be floating) of exactly the
 * type named; the service refuses any other type with Failed.
 *
 * By the time a function below whois is called, the service has checked who
 * the caller is and that it may ask: a CHILD argument is a child's name (the
 * caller's own for a child); an unknown one is the backend's
 * TRELLIS_DBUS_ERROR_NOT_FOUND.  Names and messages are valid UTF-8 within
 * the bounds above; durations are within [DURATION_MIN, DURATION_MAX]; ids
 * are not 0.
 */
typedef struct {
  /* Who is @uid: a parent (root or an account in parents=: @ret_parent
   * TRUE), a child's account (@ret_child_name set to that child's name) or
   * anyone else (neither).  Required. */
  gboolean (*whois) (gpointer backend_data,
                     guint32 uid,
                     char **ret_child_name,
                     gboolean *ret_parent,
                     GError **error);
  /* a{sv}: see GetStatus in data/org.trellis.Trellis1.xml. */
  gboolean (*get_status) (gpointer backend_data,
                          const char *child,
                          GVariant **ret_status,
                          GError **error);
  /* Would @name be blocked for @child now; @locale may be "". */
  gboolean (*why) (gpointer backend_data,
                   const char *child,
                   const char *name,
                   const char *locale,
                   gboolean *ret_blocked,
                   char **ret_rule,
                   char **ret_explanation,
                   GError **error);
  /* GetLog and ClearLog answer later, and may answer from any thread: the
   * backend reads and deletes beside the main loop, and calls @reply once
   * with the method's whole reply ("(a(xxsssu)ta{sv})", "(u)") or an
   * error. */
  void (*get_log) (gpointer backend_data,
                   const char *child,
                   gboolean with_devices, /* a parent asks: a gateway's devices' entries too */
                   guint64 before,
                   guint32 limit,
                   TrellisDBusReplyFunc reply,
                   gpointer reply_data);
  void (*clear_log) (gpointer backend_data,
                     const char *child,
                     TrellisDBusReplyFunc reply,
                     gpointer reply_data);
  /* Parents only, answered later as get_log: GetDeviceLog, with @group
   * and @device NULL for any (not both; @device one MAC or address as the
   * caller wrote it), "(a(xxsssusss)ta{sv})"; GetReport over @days
   * (1-365), "(a(sssttt)a{sv})". */
  void (*get_device_log) (gpointer backend_data,
                          const char *group,
                          const char *device,
                          guint64 before,
                          guint32 limit,
                          TrellisDBusReplyFunc reply,
                          gpointer reply_data);
  void (*get_report) (gpointer backend_data,
                      guint32 days,
                      TrellisDBusReplyFunc reply,
                      gpointer reply_data);
  /* @child is always the caller's own child. */
  gboolean (*ask) (gpointer backend_data,
                   const char *child,
                   const char *name,
                   const char *message,
                   guint32 *ret_id,
                   GError **error);
  /* a(ussssxsx); @child NULL: every child's (parents only). */
  gboolean (*list_requests) (gpointer backend_data,
                             const char *child,
                             GVariant **ret_requests,
                             GError **error);
  /* Parents only (pause and apply_policy: or a caller polkit authorised
   * for that one call).  An unknown @id is TRELLIS_DBUS_ERROR_NOT_FOUND. */
  gboolean (*approve) (gpointer backend_data,
                       guint32 id,
                       gint64 seconds,
                       GError **error);
  gboolean (*decline) (gpointer backend_data,
                       guint32 id,
                       const char *message,
                       GError **error);
  gboolean (*pause) (gpointer backend_data,
                     const char *child,
                     gint64 seconds,
                     GError **error);
  gboolean (*apply_policy) (gpointer backend_data,
                            GError **error);
  /* a(ssss).  Asked without any check of the caller: helplines always work. */
  gboolean (*get_helplines) (gpointer backend_data,
                             GVariant **ret_helplines,
                             GError **error);
  /* (a{sv}aa{sv}): see GetLists.  Asked without any check of the caller:
   * anyone may see where the lists come from and how their updates went. */
  gboolean (*get_lists) (gpointer backend_data,
                         GVariant **ret_lists,
                         GError **error);
  /* Parents only (or a caller polkit authorised for that call).  Runs an
   * update and calls @reply once, later, with "(is)" or an error. */
  void (*update_lists) (gpointer backend_data,
                        TrellisDBusReplyFunc reply,
                        gpointer reply_data);
  /* (nullable) Parents only: AddChild, RemoveChild, SetChild, Allow and
   * Deny as @change (its strings are the call's, valid for this call
   * only), and ApproveAlways of request @id.  They answer later, from the
   * main thread, with "()" once the household file is written and in
   * force, or an error: InvalidArgs (a change that cannot be made or
   * would not compile; nothing written), NotFound, Failed.  Without
   * them, these methods fail. */
  void (*edit_household) (gpointer backend_data,
                          const TrellisHouseholdChange *change,
                          TrellisDBusReplyFunc reply,
                          gpointer reply_data);
  void (*approve_always) (gpointer backend_data,
                          guint32 id,
                          TrellisDBusReplyFunc reply,
                          gpointer reply_data);
  /* (nullable) Told once if the bus takes the name away or never gives it. */
  void (*name_lost) (gpointer backend_data);
} TrellisDBusBackend;

typedef struct _TrellisDBusService TrellisDBusService;

/**
 * trellis_dbus_service_new:
 * @connection: the system bus (or a test bus); must be a message bus
 *   connection, since callers are identified by asking the bus.
 * @backend: (not owned) must outlive the service.
 *
 * Exports the interface at TRELLIS_DBUS_PATH and asks for TRELLIS_DBUS_NAME,
 * without replacing an owner.  Fails only if the export fails.
 */
TrellisDBusService *trellis_dbus_service_new (GDBusConnection *connection,
                                              const TrellisDBusBackend *backend,
                                              gpointer backend_data,
                                              GError **error);

/** trellis_dbus_service_has_name: whether the bus has given us the name. */
gboolean trellis_dbus_service_has_name (TrellisDBusService *service);

/**
 * trellis_dbus_service_emit_blocked:
 * Sends the Blocked signal to each subscriber that is @child's or a
 * parent's, one unicast message each.  Never call it for a helpline.
 * Returns how many connections it was sent to.
 */
guint trellis_dbus_service_emit_blocked (TrellisDBusService *service,
                                         const char *child,
                                         const char *name,
                                         const char *rule_kind,
                                         const char *explanation,
                                         gint64 until);

/**
 * trellis_dbus_service_emit_request_changed:
 * Sends RequestChanged to @child's and parents' subscribers, as above.
 */
guint trellis_dbus_service_emit_request_changed (TrellisDBusService *service,
                                                 guint32 id,
                                                 const char *child,
                                                 const char *name,
                                                 const char *state,
                                                 const char *message);

/** trellis_dbus_service_get_n_subscribers: connections subscribed now. */
guint trellis_dbus_service_get_n_subscribers (TrellisDBusService *service);

/**
 * trellis_dbus_service_free:
 * Unexports, releases the name, drops the subscribers; calls still waiting
 * for the bus's answer about their sender get Failed.
 */
void trellis_dbus_service_free (TrellisDBusService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisDBusService, trellis_dbus_service_free)

/**
 * trellis_dbus_check_name:
 * The service's check of a name argument: non-empty, valid UTF-8, at most
 * TRELLIS_DBUS_NAME_MAX bytes, no control character, bidirectional
 * override or line separator (trellis_text_char_is_unsafe());
 * G_DBUS_ERROR_INVALID_ARGS otherwise.  (The bus already refuses invalid
 * UTF-8; this is the service's own guard.)
 */
gboolean trellis_dbus_check_name (const char *name,
                                  GError **error);

/**
 * trellis_dbus_check_message: valid UTF-8, at most TRELLIS_DBUS_MESSAGE_MAX
 * bytes, and no character trellis_text_char_is_unsafe(): a message is shown
 * on one line, as written.
 */
gboolean trellis_dbus_check_message (const char *message,
                                     GError **error);

/**
 * trellis_dbus_check_args:
 * @method_name: a method of org.trellis.Trellis1, e.g. "Ask"
 * @params: its arguments, a tuple
 *
 * The service's first step for a call, on its own (the fuzz target's way
 * in): G_DBUS_ERROR_UNKNOWN_METHOD for a method the interface lacks,
 * G_DBUS_ERROR_INVALID_ARGS for arguments of the wrong type (as GDBus
 * refuses them) or of the wrong shape (as the service does: the checks
 * above, durations, ids, locales).
 */
gboolean trellis_dbus_check_args (const char *method_name,
                                  GVariant *params,
                                  GError **error);

G_END_DECLS
