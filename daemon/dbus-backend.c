/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dbus-backend.c — the daemon's answers to the D-Bus service: the policy in
 * force, the event log, grants and pauses, from what the daemon handed it
 * (TrellisDBusBackendContext).  The service has already checked who is
 * asking and that they may; this file only answers.
 */
#include <locale.h>
#include <pwd.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "daemon/dbus-backend.h"
#include "daemon/household-file.h"
#include "policy/public-suffix.h"

#define REQUEST_SECONDS_DEFAULT 3600

static gint64
now_unix (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static const TrellisChild *
child_find (TrellisPolicy *policy, const char *name, GError **error)
{
  const TrellisChild *child = trellis_policy_find_child (policy, name);

  if (child == NULL)
    g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND,
                 "There is no child “%s” in the household", name);
  return child;
}

/* A name a grant may be for: one site, not a public suffix
 * (policy/public-suffix.h); InvalidArgs with the reason otherwise. */
static gboolean
suffix_check (const char *domain, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (trellis_public_suffix_check (domain, TRELLIS_SUFFIX_USE_LIFT, &local_error))
    return TRUE;
  g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, local_error->message);
  return FALSE;
}

static gboolean
no_log (GError **error)
{
  g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
               "The event log is not available");
  return FALSE;
}

/* The grants and pauses again, after a parent changed them. */
static void
grants_reload (TrellisDBusBackendContext *ctx)
{
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);

  trellis_grants_load (ctx->grants, ctx->events, policy);
}

/* ---- the backend ------------------------------------------------------------ */

static gboolean
backend_whois (gpointer data, guint32 uid, char **ret_child, gboolean *ret_parent, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);
  const char *const *parents = trellis_policy_get_parents (policy);
  const TrellisChild *child;
  struct passwd *pw;

  *ret_child = NULL;
  *ret_parent = FALSE;
  if (uid == 0)
    {
      *ret_parent = TRUE;
      return TRUE;
    }
  pw = getpwuid (uid);
  if (pw == NULL)
    return TRUE; /* nobody we know */
  if (parents != NULL && g_strv_contains (parents, pw->pw_name))
    {
      *ret_parent = TRUE;
      return TRUE;
    }
  child = trellis_policy_find_child_by_account (policy, pw->pw_name);
  if (child != NULL)
    *ret_child = g_strdup (trellis_child_get_name (child));
  return TRUE;
}

static const char *
safe_search_name (TrellisSafeSearchLevel level)
{
  return level == TRELLIS_SAFE_SEARCH_STRICT     ? "strict"
         : level == TRELLIS_SAFE_SEARCH_MODERATE ? "moderate"
                                                 : "off";
}

static gboolean
backend_get_status (gpointer data, const char *name, GVariant **ret_status, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  const TrellisChild *child = child_find (policy, name, error);
  const TrellisAgeBand *band;
  const TrellisCategory *const *cats;
  guint32 mask = 0;
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
  gboolean allowlist = FALSE, quiet = FALSE;
  g_autofree char *quiet_until = NULL;
  const char *quiet_hours;
  GVariantBuilder b, c, see;
  gint64 paused;
  guint n;

  if (child == NULL)
    return FALSE;
  band = trellis_child_get_profile (policy, child, now, &mask, &level, &allowlist);
  quiet_hours = trellis_child_get_quiet_hours (policy, child, now, &quiet, &quiet_until);
  paused = trellis_grants_get_paused_until (ctx->grants, name, g_date_time_to_unix (now));

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  g_variant_builder_add (&b, "{sv}", "age",
                         g_variant_new_uint32 (trellis_child_get_age (policy, child, now)));
  g_variant_builder_add (&b, "{sv}", "band", g_variant_new_string (band != NULL ? band->id : ""));
  g_variant_builder_init (&c, G_VARIANT_TYPE ("a(ss)"));
  cats = trellis_policy_get_categories (policy, &n);
  for (guint i = 0; i < n; i++)
    if (mask & (1u << cats[i]->bit))
      g_variant_builder_add (&c, "(ss)", cats[i]->id, cats[i]->name);
  g_variant_builder_add (&b, "{sv}", "categories", g_variant_builder_end (&c));
  g_variant_builder_add (&b, "{sv}", "safe_search", g_variant_new_string (safe_search_name (level)));
  g_variant_builder_add (&b, "{sv}", "mode", g_variant_new_string (allowlist ? "allowlist" : "blocklist"));
  g_variant_builder_add (&b, "{sv}", "quiet_hours", g_variant_new_string (quiet_hours != NULL ? quiet_hours : ""));
  g_variant_builder_add (&b, "{sv}", "quiet_now", g_variant_new_boolean (quiet));
  g_variant_builder_add (&b, "{sv}", "quiet_until", g_variant_new_string (quiet_until != NULL ? quiet_until : ""));
  g_variant_builder_add (&b, "{sv}", "paused_until", g_variant_new_int64 (paused));
  g_variant_builder_add (&b, "{sv}", "log_retention_days",
                         g_variant_new_uint32 (trellis_policy_get_log_retention_days (policy)));
  /* GC25 §75: exactly what the parents can see, and nothing more is kept. */
  g_variant_builder_init (&see, G_VARIANT_TYPE ("as"));
  g_variant_builder_add (&see, "s", "blocked");  /* the names blocked for you, when, by which rule */
  g_variant_builder_add (&see, "s", "requests"); /* what you asked them to look at, and your message */
  g_variant_builder_add (&see, "s", "profile");  /* this profile */
  g_variant_builder_add (&b, "{sv}", "parents_can_see", g_variant_builder_end (&see));
  *ret_status = g_variant_ref_sink (g_variant_builder_end (&b));
  return TRUE;
}

static gboolean
backend_why (gpointer data, const char *name, const char *qname, const char *locale,
             gboolean *ret_blocked, char **ret_rule, char **ret_explanation, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  const TrellisChild *child = child_find (policy, name, error);
  g_autofree char *domain = NULL;
  TrellisDecision decision;

  if (child == NULL)
    return FALSE;
  domain = trellis_domain_normalize (qname);
  if (domain == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "“%s” is not a domain name", qname);
      return FALSE;
    }
  ctx->decide (ctx->daemon, policy, child, domain, &decision);
  *ret_blocked = decision.verdict == TRELLIS_VERDICT_BLOCK;
  *ret_rule = trellis_rule_format_short (decision.rule);
  /* In the child's language (§25): this thread alone switches to the
   * caller's locale for the explanation.  A locale the system lacks leaves
   * the daemon's. */
  {
    locale_t loc = *locale != '\0' ? newlocale (LC_MESSAGES_MASK, locale, (locale_t) 0) : (locale_t) 0;
    locale_t old = loc != (locale_t) 0 ? uselocale (loc) : (locale_t) 0;

    *ret_explanation = trellis_rule_explain_for_locale (policy, decision.rule, child, now,
                                                        *locale != '\0' ? locale : NULL);
    if (loc != (locale_t) 0)
      {
        uselocale (old);
        freelocale (loc);
      }
  }
  return TRUE;
}

/* GetLog's reply for @page: the entries, the next cursor, the summary. */
static GVariant *
log_page_reply (const TrellisEventLogPage *page)
{
  GVariantBuilder events, summary;

  g_variant_builder_init (&events, G_VARIANT_TYPE ("a(xxsssu)"));
  for (guint i = 0; i < page->events->len; i++)
    {
      const TrellisEvent *e = page->events->pdata[i];

      g_variant_builder_add (&events, "(xxsssu)", e->time, e->last, e->name,
                             e->rule != NULL ? e->rule : "",
                             e->category != NULL ? e->category : "",
                             (guint32) MIN (e->count, G_MAXUINT32));
    }
  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  if (page->has_summary)
    {
      const TrellisEventLogSummary *sum = &page->summary;

      g_variant_builder_add (&summary, "{sv}", "entries", g_variant_new_uint64 (sum->entries));
      g_variant_builder_add (&summary, "{sv}", "blocked", g_variant_new_uint64 (sum->blocked));
      g_variant_builder_add (&summary, "{sv}", "dropped_entries",
                             g_variant_new_uint64 (sum->dropped_entries));
      g_variant_builder_add (&summary, "{sv}", "dropped_blocked",
                             g_variant_new_uint64 (sum->dropped_blocked));
      g_variant_builder_add (&summary, "{sv}", "missed", g_variant_new_uint64 (sum->missed));
      g_variant_builder_add (&summary, "{sv}", "losses_until",
                             g_variant_new_int64 (sum->losses_until));
      g_variant_builder_add (&summary, "{sv}", "fold_seconds",
                             g_variant_new_uint32 (TRELLIS_EVENT_LOG_FOLD_SECONDS));
      g_variant_builder_add (&summary, "{sv}", "max_entries",
                             g_variant_new_uint32 (TRELLIS_EVENT_LOG_CHILD_ENTRIES_MAX));
    }
  return g_variant_new ("(@a(xxsssu)t@a{sv})", g_variant_builder_end (&events), page->next,
                        g_variant_builder_end (&summary));
}

/* Whether @name is a child of the household and there is a log to ask. */
static gboolean
log_ready (TrellisDBusBackendContext *ctx, const char *name, GError **error)
{
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);

  if (child_find (policy, name, error) == NULL)
    return FALSE;
  if (ctx->events == NULL)
    return no_log (error);
  return TRUE;
}

/* Where a GetLog or ClearLog answer goes. */
typedef struct {
  TrellisDBusReplyFunc reply;
  gpointer reply_data;
} LogReply;

static LogReply *
log_reply_new (TrellisDBusReplyFunc reply, gpointer reply_data)
{
  LogReply *r = g_new0 (LogReply, 1);

  r->reply = reply;
  r->reply_data = reply_data;
  return r;
}

/* In the event log's worker thread: the page becomes GetLog's reply there,
 * and goes to the caller from there. */
static void
log_page_read (TrellisEventLogPage *page, GError *error, gpointer user_data)
{
  g_autofree LogReply *r = user_data;
  g_autoptr(TrellisEventLogPage) owned = page;

  if (owned == NULL)
    r->reply (NULL, error, r->reply_data);
  else
    r->reply (g_variant_ref_sink (log_page_reply (owned)), NULL, r->reply_data);
}

/* Reading the log is the event log's worker's job, never the main loop's:
 * the main loop gives every child's verdicts meanwhile. */
static void
backend_get_log (gpointer data, const char *name, gboolean with_devices, guint64 before,
                 guint32 limit, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  GError *error = NULL;

  if (!log_ready (ctx, name, &error))
    {
      reply (NULL, error, reply_data);
      return;
    }
  trellis_event_log_read_page_full_async (ctx->events, name, with_devices, before, limit,
                                          log_page_read, log_reply_new (reply, reply_data));
}

/* GetDeviceLog's reply for @page. */
static GVariant *
device_page_reply (const TrellisEventLogPage *page)
{
  GVariantBuilder events, summary;

  g_variant_builder_init (&events, G_VARIANT_TYPE ("a(xxsssusss)"));
  for (guint i = 0; i < page->events->len; i++)
    {
      const TrellisEvent *e = page->events->pdata[i];

      g_variant_builder_add (&events, "(xxsssusss)", e->time, e->last, e->name,
                             e->rule != NULL ? e->rule : "",
                             e->category != NULL ? e->category : "",
                             (guint32) MIN (e->count, G_MAXUINT32), e->child,
                             e->mac != NULL ? e->mac : "", e->address != NULL ? e->address : "");
    }
  g_variant_builder_init (&summary, G_VARIANT_TYPE_VARDICT);
  if (page->has_summary)
    {
      g_variant_builder_add (&summary, "{sv}", "entries", g_variant_new_uint64 (page->summary.entries));
      g_variant_builder_add (&summary, "{sv}", "blocked", g_variant_new_uint64 (page->summary.blocked));
      g_variant_builder_add (&summary, "{sv}", "fold_seconds",
                             g_variant_new_uint32 (TRELLIS_EVENT_LOG_FOLD_SECONDS));
    }
  return g_variant_new ("(@a(xxsssusss)t@a{sv})", g_variant_builder_end (&events), page->next,
                        g_variant_builder_end (&summary));
}

static void
device_page_read (TrellisEventLogPage *page, GError *error, gpointer user_data)
{
  g_autofree LogReply *r = user_data;
  g_autoptr(TrellisEventLogPage) owned = page;

  if (owned == NULL)
    r->reply (NULL, error, r->reply_data);
  else
    r->reply (g_variant_ref_sink (device_page_reply (owned)), NULL, r->reply_data);
}

/* A device as the event log writes it (trellisd.c): a MAC in lower case
 * with colons, an address as inet_ntop writes it.  NULL for a range or
 * anything else. */
static char *
device_canonical (const char *text)
{
  TrellisDeviceAddress d;
  g_autoptr(GInetAddress) address = NULL;

  if (!trellis_device_parse (text, &d))
    return NULL;
  switch (d.family)
    {
    case TRELLIS_DEVICE_MAC:
      return g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x", d.addr[0], d.addr[1], d.addr[2],
                              d.addr[3], d.addr[4], d.addr[5]);
    case TRELLIS_DEVICE_IPV4:
    case TRELLIS_DEVICE_IPV6:
      if (d.prefix_len != (d.family == TRELLIS_DEVICE_IPV4 ? 32 : 128))
        return NULL;
      address = g_inet_address_new_from_bytes (d.addr, d.family == TRELLIS_DEVICE_IPV4
                                                         ? G_SOCKET_FAMILY_IPV4
                                                         : G_SOCKET_FAMILY_IPV6);
      return g_inet_address_to_string (address);
    }
  return NULL;
}

static void
backend_get_device_log (gpointer data, const char *group, const char *device, guint64 before,
                        guint32 limit, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  g_autofree char *canonical = NULL;
  GError *error = NULL;

  if (group != NULL && !log_ready (ctx, group, &error))
    {
      reply (NULL, error, reply_data);
      return;
    }
  if (ctx->events == NULL)
    {
      no_log (&error);
      reply (NULL, error, reply_data);
      return;
    }
  if (device != NULL && (canonical = device_canonical (device)) == NULL)
    {
      g_set_error (&error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                   "“%s” is not one device: give a MAC or an IPv4 or IPv6 address", device);
      reply (NULL, error, reply_data);
      return;
    }
  trellis_event_log_read_devices_async (ctx->events, group, canonical, before, limit,
                                        device_page_read, log_reply_new (reply, reply_data));
}

typedef struct {
  TrellisDBusReplyFunc reply;
  gpointer reply_data;
  TrellisPolicy *policy; /* (owned) whose sections are groups */
  gint64 since;
  gint64 until;
} ReportReply;

/* In the event log's worker thread, as log_page_read. */
static void
report_read (GPtrArray *counts, GError *error, gpointer user_data)
{
  ReportReply *r = user_data;
  g_autoptr(GPtrArray) owned = counts;
  GVariantBuilder rows, info;

  if (owned == NULL)
    r->reply (NULL, error, r->reply_data);
  else
    {
      g_variant_builder_init (&rows, G_VARIANT_TYPE ("a(sssttt)"));
      for (guint i = 0; i < owned->len; i++)
        {
          const TrellisEventLogCount *c = owned->pdata[i];
          const TrellisChild *section = trellis_policy_find_child (r->policy, c->child);
          const char *kind = section == NULL                    ? ""
                             : trellis_child_is_group (section) ? "group"
                                                                : "child";

          g_variant_builder_add (&rows, "(sssttt)", c->child, kind,
                                 c->category != NULL ? c->category : "", c->entries, c->blocked,
                                 c->devices);
        }
      g_variant_builder_init (&info, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&info, "{sv}", "since", g_variant_new_int64 (r->since));
      g_variant_builder_add (&info, "{sv}", "until", g_variant_new_int64 (r->until));
      g_variant_builder_add (&info, "{sv}", "log_retention_days",
                             g_variant_new_uint32 (trellis_policy_get_log_retention_days (r->policy)));
      r->reply (g_variant_ref_sink (g_variant_new ("(@a(sssttt)@a{sv})", g_variant_builder_end (&rows),
                                                   g_variant_builder_end (&info))),
                NULL, r->reply_data);
    }
  trellis_policy_unref (r->policy);
  g_free (r);
}

static void
backend_get_report (gpointer data, guint32 days, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  ReportReply *r;
  GError *error = NULL;

  if (ctx->events == NULL)
    {
      no_log (&error);
      reply (NULL, error, reply_data);
      return;
    }
  r = g_new0 (ReportReply, 1);
  r->reply = reply;
  r->reply_data = reply_data;
  r->policy = ctx->policy_get (ctx->daemon);
  r->until = g_get_real_time () / G_USEC_PER_SEC;
  r->since = r->until - (gint64) days * 24 * 3600;
  trellis_event_log_report_async (ctx->events, r->since, report_read, r);
}

static void
log_cleared (guint deleted, GError *error, gpointer user_data)
{
  g_autofree LogReply *r = user_data;

  if (error != NULL)
    r->reply (NULL, error, r->reply_data);
  else
    r->reply (g_variant_ref_sink (g_variant_new ("(u)", deleted)), NULL, r->reply_data);
}

static void
backend_clear_log (gpointer data, const char *name, TrellisDBusReplyFunc reply,
                   gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  GError *error = NULL;

  if (!log_ready (ctx, name, &error))
    {
      reply (NULL, error, reply_data);
      return;
    }
  trellis_event_log_clear_async (ctx->events, name, log_cleared,
                                 log_reply_new (reply, reply_data));
}

static gboolean
backend_ask (gpointer data, const char *name, const char *qname, const char *message,
             guint32 *ret_id, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);
  g_autofree char *domain = trellis_domain_normalize (qname);

  if (child_find (policy, name, error) == NULL)
    return FALSE;
  if (domain == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "“%s” is not a domain name", qname);
      return FALSE;
    }
  /* A grant of "com" would lift every block under .com: not a request a
   * parent can approve, so not one to send them. */
  if (!suffix_check (domain, error))
    return FALSE;
  if (ctx->events == NULL)
    return no_log (error);
  if (!trellis_event_log_request_add (ctx->events, name, domain, message, now_unix (),
                                      ret_id, error))
    return FALSE;
  if (ctx->service != NULL)
    trellis_dbus_service_emit_request_changed (ctx->service, *ret_id, name, domain, "pending",
                                               message);
  return TRUE;
}

static gboolean
backend_list_requests (gpointer data, const char *name, GVariant **ret_requests, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(GPtrArray) requests = NULL;
  GVariantBuilder b;

  if (name != NULL)
    {
      g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);

      if (child_find (policy, name, error) == NULL)
        return FALSE;
    }
  if (ctx->events == NULL)
    return no_log (error);
  requests = trellis_event_log_request_list (ctx->events, name, error);
  if (requests == NULL)
    return FALSE;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ussssxsx)"));
  for (guint i = 0; i < requests->len; i++)
    {
      const TrellisRequest *r = requests->pdata[i];

      g_variant_builder_add (&b, "(ussssxsx)", r->id, r->child, r->name,
                             r->message != NULL ? r->message : "", r->state, r->created,
                             r->answer != NULL ? r->answer : "", r->grant_until);
    }
  *ret_requests = g_variant_ref_sink (g_variant_builder_end (&b));
  return TRUE;
}

static gboolean
request_answer (TrellisDBusBackendContext *ctx, guint32 id, const char *state, const char *message,
                gint64 grant_until, GError **error)
{
  g_autoptr(TrellisRequest) r = NULL;
  g_autoptr(GError) local_error = NULL;

  if (ctx->events == NULL)
    return no_log (error);
  if (!trellis_event_log_request_get (ctx->events, id, &r, &local_error))
    {
      if (g_error_matches (local_error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND))
        g_set_error (error, TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND,
                     "There is no request %u", id);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* A request stored before Ask refused public suffixes: it can still be
   * declined, never approved. */
  if (grant_until > 0 && !suffix_check (r->name, error))
    {
      g_prefix_error (error, "Request %u cannot be approved, decline it: ", id);
      return FALSE;
    }
  if (!trellis_event_log_request_answer (ctx->events, id, state, message, now_unix (),
                                         grant_until, error))
    return FALSE;
  grants_reload (ctx);
  if (ctx->service != NULL)
    trellis_dbus_service_emit_request_changed (ctx->service, id, r->child, r->name, state,
                                               message != NULL ? message : "");
  return TRUE;
}

static gboolean
backend_approve (gpointer data, guint32 id, gint64 seconds, GError **error)
{
  return request_answer (data, id, "approved", "",
                         now_unix () + (seconds > 0 ? seconds : REQUEST_SECONDS_DEFAULT), error);
}

static gboolean
backend_decline (gpointer data, guint32 id, const char *message, GError **error)
{
  return request_answer (data, id, "declined", message, 0, error);
}

static gboolean
backend_pause (gpointer data, const char *name, gint64 seconds, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);

  if (child_find (policy, name, error) == NULL)
    return FALSE;
  if (ctx->events == NULL)
    return no_log (error);
  if (!trellis_event_log_pause_set (ctx->events, name, now_unix () + seconds, error))
    return FALSE;
  grants_reload (ctx);
  ctx->pause_changed (ctx->daemon, name, now_unix () + seconds);
  return TRUE;
}

static gboolean
backend_apply_policy (gpointer data, GError **error)
{
  TrellisDBusBackendContext *ctx = data;

  ctx->reload (ctx->daemon);
  return TRUE;
}

static gboolean
backend_get_helplines (gpointer data, GVariant **ret_helplines, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);
  g_autoptr(GArray) helplines = trellis_policy_get_helplines (policy);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(ssss)"));
  for (guint i = 0; i < helplines->len; i++)
    {
      const TrellisHelplineInfo *h = &g_array_index (helplines, TrellisHelplineInfo, i);

      g_variant_builder_add (&b, "(ssss)", h->name, h->country, h->domain,
                             h->contact != NULL ? h->contact : "");
    }
  *ret_helplines = g_variant_ref_sink (g_variant_builder_end (&b));
  return TRUE;
}

static gboolean
backend_get_lists (gpointer data, GVariant **ret_lists, GError **error)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisPolicy) policy = ctx->policy_get (ctx->daemon);

  *ret_lists = ctx->lists_get (ctx->daemon, policy);
  return TRUE;
}

static void
backend_update_lists (gpointer data, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;

  ctx->update_lists (ctx->daemon, reply, reply_data);
}

/* ---- the household file ---------------------------------------------------- */

/* One edit on its way: copied out of the call, as the call's strings are
 * gone once the backend returns. */
typedef struct {
  TrellisDBusBackendContext *ctx; /* (unowned) */
  TrellisHouseholdOp op;
  char *child;        /* (owned) */
  char *key;          /* (owned) (nullable) */
  char *value;        /* (owned) (nullable) */
  char *account;      /* (owned) (nullable) */
  guint32 request_id; /* ApproveAlways: answered once the edit is in force; 0: none */
  TrellisDBusReplyFunc reply;
  gpointer reply_data;
} Edit;

static void
edit_free (Edit *e)
{
  g_free (e->child);
  g_free (e->key);
  g_free (e->value);
  g_free (e->account);
  g_free (e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Edit, edit_free)

/* Takes @e: its caller's answer. */
static void
edit_reply (Edit *e, GError *error)
{
  if (error != NULL)
    e->reply (NULL, error, e->reply_data);
  else
    e->reply (g_variant_ref_sink (g_variant_new ("()")), NULL, e->reply_data);
  edit_free (e);
}

/* The D-Bus error for what trellis_household_file_change() said. */
static GError *
edit_error (const GError *error)
{
  if (error->domain == TRELLIS_POLICY_ERROR && error->code != TRELLIS_POLICY_ERROR_IO)
    return g_error_new (G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                        "The household file would not compile with this change, so nothing was "
                        "written:\n%s",
                        error->message);
  if (error->domain == TRELLIS_HOUSEHOLD_EDIT_ERROR)
    {
      if (error->code == TRELLIS_HOUSEHOLD_EDIT_ERROR_NOT_FOUND)
        return g_error_new_literal (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND, error->message);
      return g_error_new_literal (G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, error->message);
    }
  return g_error_new (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                      "The household file was not changed: %s", error->message);
}

/* On the main thread: the file read again after the edit is in force (or not). */
static void
edit_in_force (const GError *error, gpointer user_data)
{
  Edit *e = user_data;
  TrellisDBusBackendContext *ctx = e->ctx;
  g_autoptr(GError) local_error = NULL;

  if (error != NULL)
    {
      edit_reply (e, g_error_new (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                  "The household file was changed, but is not in force: %s",
                                  error->message));
      return;
    }
  if (e->request_id != 0 && ctx->events != NULL)
    {
      g_autoptr(TrellisRequest) r = NULL;

      /* The lasting allow= is the answer: no grant to run out. */
      if (!trellis_event_log_request_get (ctx->events, e->request_id, &r, &local_error)
          || !trellis_event_log_request_answer (ctx->events, e->request_id, "approved", "",
                                                now_unix (), 0, &local_error))
        {
          edit_reply (e, g_error_new (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_FAILED,
                                      "%s is allowed for good, but the request was not marked "
                                      "approved: %s",
                                      e->value, local_error->message));
          return;
        }
      grants_reload (ctx);
      if (ctx->service != NULL)
        trellis_dbus_service_emit_request_changed (ctx->service, e->request_id, r->child, r->name,
                                                   "approved", "");
    }
  edit_reply (e, NULL);
}

/* In a worker thread: the slow part (reading, compiling, syncing). */
static void
edit_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Edit *e = task_data;
  TrellisHouseholdChange change = {
    .op = e->op,
    .child = e->child,
    .key = e->key,
    .value = e->value,
    .account = e->account,
  };
  GError *error = NULL;
  gboolean ok;

  g_mutex_lock (e->ctx->edit_lock);
  ok = trellis_household_file_change (e->ctx->household_path, e->ctx->data_dir, &change, &error);
  g_mutex_unlock (e->ctx->edit_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
edit_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Edit *e = g_task_get_task_data (G_TASK (result)); /* ours: the task never owned it */
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      edit_reply (e, edit_error (error));
      return;
    }
  g_debug ("household file changed by a parent: %s", e->child);
  e->ctx->reload_then (e->ctx->daemon, edit_in_force, e);
}

/* Takes @e. */
static void
edit_start (Edit *e)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, edit_written, NULL);

  g_task_set_source_tag (task, edit_start);
  /* Not owned by the task: edit_written takes it back. */
  g_task_set_task_data (task, e, NULL);
  g_task_run_in_thread (task, edit_thread);
}

static Edit *
edit_new (TrellisDBusBackendContext *ctx, TrellisHouseholdOp op, const char *child,
          TrellisDBusReplyFunc reply, gpointer reply_data)
{
  Edit *e = g_new0 (Edit, 1);

  e->ctx = ctx;
  e->op = op;
  e->child = g_strdup (child);
  e->reply = reply;
  e->reply_data = reply_data;
  return e;
}

static void
backend_edit_household (gpointer data, const TrellisHouseholdChange *change,
                        TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(Edit) e = edit_new (ctx, change->op, change->child, reply, reply_data);

  e->key = g_strdup (change->key);
  e->account = g_strdup (change->account);
  if (change->op == TRELLIS_HOUSEHOLD_ALLOW || change->op == TRELLIS_HOUSEHOLD_DENY)
    {
      g_autoptr(GError) error = NULL;

      e->value = trellis_domain_normalize (change->value);
      if (e->value == NULL)
        {
          edit_reply (g_steal_pointer (&e),
                      g_error_new (G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                   "“%s” is not a domain name", change->value));
          return;
        }
      /* allow=com would lift every block under .com. */
      if (change->op == TRELLIS_HOUSEHOLD_ALLOW && !suffix_check (e->value, &error))
        {
          edit_reply (g_steal_pointer (&e), g_steal_pointer (&error));
          return;
        }
    }
  else
    e->value = g_strdup (change->value);
  edit_start (g_steal_pointer (&e));
}

static void
backend_approve_always (gpointer data, guint32 id, TrellisDBusReplyFunc reply, gpointer reply_data)
{
  TrellisDBusBackendContext *ctx = data;
  g_autoptr(TrellisRequest) r = NULL;
  g_autoptr(GError) local_error = NULL;
  GError *error = NULL;
  Edit *e;

  if (ctx->events == NULL)
    {
      no_log (&error);
      reply (NULL, error, reply_data);
      return;
    }
  if (!trellis_event_log_request_get (ctx->events, id, &r, &local_error))
    {
      if (g_error_matches (local_error, TRELLIS_EVENT_LOG_ERROR, TRELLIS_EVENT_LOG_ERROR_NOT_FOUND))
        error = g_error_new (TRELLIS_DBUS_ERROR, TRELLIS_DBUS_ERROR_NOT_FOUND, "There is no request %u", id);
      else
        error = g_steal_pointer (&local_error);
      reply (NULL, error, reply_data);
      return;
    }
  if (!suffix_check (r->name, &error))
    {
      g_prefix_error (&error, "Request %u cannot be approved, decline it: ", id);
      reply (NULL, error, reply_data);
      return;
    }
  e = edit_new (ctx, TRELLIS_HOUSEHOLD_ALLOW, r->child, reply, reply_data);
  e->value = g_strdup (r->name);
  e->request_id = id;
  edit_start (e);
}

const TrellisDBusBackend trellis_dbus_backend = {
  .whois = backend_whois,
  .get_status = backend_get_status,
  .why = backend_why,
  .get_log = backend_get_log,
  .clear_log = backend_clear_log,
  .get_device_log = backend_get_device_log,
  .get_report = backend_get_report,
  .ask = backend_ask,
  .list_requests = backend_list_requests,
  .approve = backend_approve,
  .decline = backend_decline,
  .pause = backend_pause,
  .apply_policy = backend_apply_policy,
  .get_helplines = backend_get_helplines,
  .get_lists = backend_get_lists,
  .update_lists = backend_update_lists,
  .edit_household = backend_edit_household,
  .approve_always = backend_approve_always,
};
