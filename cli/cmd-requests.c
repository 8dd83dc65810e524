/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-requests.c — the requests a child made and what the parents said:
 * trellis requests, and for parents approve, decline, pause and
 * policy apply.
 */
#include <string.h>

#include <glib/gi18n.h>

#include "cli/cli-text.h"
#include "cli/cli.h"
#include "cli/dbus-client.h"

typedef struct {
  guint32 id;
  const char *child;
  const char *name;
  const char *message;
  const char *state;
  gint64 created;
  const char *answer;
  gint64 expires;
} Request;

/* Pending first, then newest first. */
static int
request_compare (gconstpointer a, gconstpointer b)
{
  const Request *ra = a, *rb = b;
  gboolean pa = strcmp (ra->state, "pending") == 0;
  gboolean pb = strcmp (rb->state, "pending") == 0;

  if (pa != pb)
    return pa ? -1 : 1;
  if (ra->created != rb->created)
    return ra->created > rb->created ? -1 : 1;
  return ra->id > rb->id ? -1 : (ra->id < rb->id ? 1 : 0);
}

static const char *
state_words (const char *state)
{
  if (strcmp (state, "pending") == 0)
    /* Translators: a request's state. */
    return _ ("waiting for an answer");
  if (strcmp (state, "approved") == 0)
    /* Translators: a request's state. */
    return _ ("approved");
  if (strcmp (state, "declined") == 0)
    /* Translators: a request's state. */
    return _ ("declined");
  return state;
}

static gboolean
parse_id (const char *text, guint32 *ret_id)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT32, &value, NULL))
    {
      /* Translators: %s is what the user wrote as a request number. */
      g_printerr (_ ("trellis: “%s” is not a request number (see trellis requests)\n"), text);
      return FALSE;
    }
  *ret_id = (guint32) value;
  return TRUE;
}

static void
print_json (GArray *requests)
{
  g_autoptr(GString) out = g_string_new ("[");
  guint i;

  for (i = 0; i < requests->len; i++)
    {
      const Request *r = &g_array_index (requests, Request, i);

      g_string_append (out, i == 0 ? "\n  {" : ",\n  {");
      g_string_append_printf (out, "\"id\": %" G_GUINT32_FORMAT ", \"child\": ", r->id);
      trellis_cli_json_string (out, r->child);
      g_string_append (out, ", \"name\": ");
      trellis_cli_json_string (out, r->name);
      g_string_append (out, ", \"message\": ");
      trellis_cli_json_string (out, r->message);
      g_string_append (out, ", \"state\": ");
      trellis_cli_json_string (out, r->state);
      g_string_append_printf (out, ", \"created\": %" G_GINT64_FORMAT ", \"answer\": ", r->created);
      trellis_cli_json_string (out, r->answer);
      g_string_append_printf (out, ", \"expires\": %" G_GINT64_FORMAT "}", r->expires);
    }
  g_string_append (out, requests->len == 0 ? "]" : "\n]");
  g_print ("%s\n", out->str);
}

int
trellis_cli_requests (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GVariant) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) requests = g_array_new (FALSE, TRUE, sizeof (Request));
  const char *child = options->child != NULL ? options->child : "";
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GVariantIter iter;
  Request r;
  guint i;

  (void) argv;
  if (argc != 0)
    {
      g_printerr (_ ("trellis: write trellis requests, with at most --child NAME\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_list_requests_sync (proxy, child, &list, NULL, &error))
    return trellis_cli_dbus_error_report (error, options->child != NULL
                                                   ? _ ("You can only see your own requests.")
                                                   : _ ("Only children and parents have requests."));
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(u&s&s&s&sx&sx)", &r.id, &r.child, &r.name, &r.message,
                              &r.state, &r.created, &r.answer, &r.expires))
    g_array_append_val (requests, r);
  g_array_sort (requests, request_compare);

  if (options->json)
    {
      print_json (requests);
      return TRELLIS_CLI_EXIT_OK;
    }
  if (requests->len == 0)
    {
      g_print (_ ("No requests.  A child can ask with: trellis ask NAME [MESSAGE]\n"));
      return TRELLIS_CLI_EXIT_OK;
    }
  for (i = 0; i < requests->len; i++)
    {
      const Request *q = &g_array_index (requests, Request, i);
      g_autofree char *created = trellis_cli_time_format (q->created);
      /* What the child (or a parent) wrote is shown, never obeyed: an
       * escape sequence or a newline in it would rewrite this listing. */
      g_autofree char *who = trellis_cli_text_inert (q->child);
      g_autofree char *name = trellis_cli_text_inert (q->name);
      g_autofree char *message = trellis_cli_text_inert (q->message);
      g_autofree char *answer = trellis_cli_text_inert (q->answer);

      /* Translators: a request: its number, the child's name, the web
       * address, its state (e.g. "declined"), when it was asked. */
      g_print (_ ("#%u  %s asked for %s: %s (asked %s)\n"), q->id, who, name,
               state_words (q->state), created);
      if (*message != '\0')
        /* Translators: %s is the child's message, as written. */
        g_print (_ ("      message: “%s”\n"), message);
      if (*answer != '\0')
        /* Translators: %s is the parent's answer, as written. */
        g_print (_ ("      answer: “%s”\n"), answer);
      if (strcmp (q->state, "approved") == 0 && q->expires > 0)
        {
          g_autofree char *until = trellis_cli_time_format (q->expires);

          if (q->expires > now)
            /* Translators: %s is a local date and time. */
            g_print (_ ("      allowed until %s\n"), until);
          else
            /* Translators: %s is a local date and time. */
            g_print (_ ("      was allowed until %s\n"), until);
        }
    }
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_approve (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seconds = TRELLIS_CLI_DEFAULT_GRANT_SECONDS;
  guint32 id;

  if (argc != 1 || (options->always && options->duration != NULL))
    {
      g_printerr (_ ("trellis: write trellis approve ID [--for DURATION], or trellis approve ID --always\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!parse_id (argv[0], &id))
    return TRELLIS_CLI_EXIT_USAGE;
  if (options->always)
    {
      proxy = trellis_cli_dbus_proxy (&error);
      if (proxy == NULL || !trellis_trellis1_call_approve_always_sync (proxy, id, NULL, &error))
        return trellis_cli_dbus_error_report (error, _ ("Only parents can approve requests."));
      /* Translators: %u is the request's number. */
      g_print (_ ("Request %u approved for good: the site is in the child's allow= and works now.\n"),
               id);
      return TRELLIS_CLI_EXIT_OK;
    }
  if (options->duration != NULL && !trellis_cli_duration_parse (options->duration, &seconds, &error))
    {
      g_printerr ("trellis: %s\n", error->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_approve_sync (proxy, id, seconds, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only parents can approve requests."));
  /* Translators: %u is the request's number, %s a duration as typed, e.g. "2h". */
  g_print (_ ("Request %u approved for %s: the site works for the child now.\n"), id,
           options->duration != NULL ? options->duration : "1h");
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_decline (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  const char *message;
  guint32 id;

  (void) options;
  if (argc < 1 || argc > 2)
    {
      g_printerr (_ ("trellis: write trellis decline ID [MESSAGE]\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!parse_id (argv[0], &id))
    return TRELLIS_CLI_EXIT_USAGE;
  message = argc == 2 ? argv[1] : "";
  if (!g_utf8_validate (message, -1, NULL))
    {
      g_printerr (_ ("trellis: the message must be text (UTF-8)\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!trellis_cli_message_check (message))
    return TRELLIS_CLI_EXIT_USAGE;
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_decline_sync (proxy, id, message, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only parents can decline requests."));
  /* Translators: %u is the request's number. */
  g_print (_ ("Request %u declined; the child will see your answer.\n"), id);
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_pause (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seconds;

  if (argc != 1 || options->duration == NULL)
    {
      g_printerr (_ ("trellis: write trellis pause NAME --for DURATION, e.g. --for 30m\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (!trellis_cli_duration_parse (options->duration, &seconds, &error))
    {
      g_printerr ("trellis: %s\n", error->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_pause_sync (proxy, argv[0], seconds, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only parents can pause filtering."));
  /* Translators: %s is a child's name, then a duration as typed, e.g. "30m". */
  g_print (_ ("Filtering is paused for %s for %s (helplines stay open).\n"), argv[0], options->duration);
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_policy_apply (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisTrellis1) proxy = NULL;
  g_autoptr(GError) error = NULL;

  (void) options;
  (void) argv;
  if (argc != 0)
    {
      g_printerr (_ ("trellis: write trellis policy apply, with nothing after it\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  proxy = trellis_cli_dbus_proxy (&error);
  if (proxy == NULL || !trellis_trellis1_call_apply_policy_sync (proxy, NULL, &error))
    return trellis_cli_dbus_error_report (error, _ ("Only parents can apply the household file."));
  g_print (_ ("The household file is in force.\n"));
  return TRELLIS_CLI_EXIT_OK;
}
