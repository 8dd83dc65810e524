/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz-dbus-args.c — libFuzzer target: what a caller may put in a D-Bus
 * call, checked the way trellisd checks it, and shown the way trellis and
 * trellis-notify show it.  abort() on any inconsistency.
 *
 * The first byte chooses:
 *   below 0x80: the rest is one text (up to a NUL, as D-Bus strings end):
 *     trellis_dbus_check_name() and _check_message() against an oracle of
 *     their own rules; for a name that passes, the rest of Ask's way
 *     (trellis_domain_normalize(), trellis_public_suffix_check()); and the
 *     escapes for output: trellis_cli_text_inert() leaves nothing unsafe
 *     and changes nothing safe, trellis_cli_text_markup() parses back as
 *     markup to exactly the inert text.
 *   0x80 and above: the rest is a serialized GVariant of one method's
 *     arguments (the byte's low bits choose the method), made normal as
 *     GDBus would deliver it, through trellis_dbus_check_args(); what it
 *     accepts obeys the rules above.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "cli/cli-text.h"
#include "daemon/dbus-service.h"
#include "policy/public-suffix.h"
#include "policy/trellis-policy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond) \
  do \
    { \
      if (!(cond)) \
        abort (); \
    } \
  while (0)

/* The rule, written again from docs/decisions.md, not from the code. */
static gboolean
oracle_char_refused (gunichar c)
{
  if (c <= 0x1f || c == 0x7f)
    return TRUE; /* C0, DEL */
  if (c >= 0x80 && c <= 0x9f)
    return TRUE; /* C1 */
  if (c >= 0x202a && c <= 0x202e)
    return TRUE; /* LRE RLE PDF LRO RLO */
  if (c >= 0x2066 && c <= 0x2069)
    return TRUE;                     /* LRI RLI FSI PDI */
  return c == 0x2028 || c == 0x2029; /* line and paragraph separators */
}

/* TRUE when @text is UTF-8 holding no refused character. */
static gboolean
oracle_text_safe (const char *text)
{
  const char *p;

  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (oracle_char_refused (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* A result and its error agree: TRUE without one, FALSE with one of
 * @domain/@code. */
static void
check_result (gboolean ok, GError *error, GQuark domain, int code)
{
  if (ok)
    CHECK (error == NULL);
  else
    CHECK (error != NULL && error->domain == domain && error->code == code
           && error->message != NULL && g_utf8_validate (error->message, -1, NULL));
}

typedef struct {
  GString *text;
  int depth;
  gboolean bad;
} MarkupRead;

static void
markup_start (GMarkupParseContext *context, const char *element, const char **names,
              const char **values, gpointer user_data, GError **error)
{
  MarkupRead *r = user_data;

  /* Only our own wrapper: escaped text opens no element. */
  if (strcmp (element, "m") != 0 || r->depth != 0 || names[0] != NULL)
    r->bad = TRUE;
  r->depth++;
}

static void
markup_text (GMarkupParseContext *context, const char *text, gsize len, gpointer user_data,
             GError **error)
{
  MarkupRead *r = user_data;

  g_string_append_len (r->text, text, (gssize) len);
}

/* The text @markup shows, or NULL when it is not markup of text alone. */
static char *
markup_read (const char *markup)
{
  static const GMarkupParser parser = { markup_start, NULL, markup_text, NULL, NULL };
  g_autofree char *wrapped = g_strconcat ("<m>", markup, "</m>", NULL);
  MarkupRead r = { g_string_new (NULL), 0, FALSE };
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, &r, NULL);
  gboolean ok = g_markup_parse_context_parse (context, wrapped, -1, NULL)
                && g_markup_parse_context_end_parse (context, NULL);

  g_markup_parse_context_free (context);
  if (!ok || r.bad)
    {
      g_string_free (r.text, TRUE);
      return NULL;
    }
  return g_string_free (r.text, FALSE);
}

static void
check_shown (const char *text)
{
  g_autofree char *inert = trellis_cli_text_inert (text);
  g_autofree char *markup = trellis_cli_text_markup (text);
  g_autofree char *read_back = NULL;

  CHECK (inert != NULL && oracle_text_safe (inert));
  if (oracle_text_safe (text))
    CHECK (strcmp (inert, text) == 0);
  CHECK (markup != NULL);
  read_back = markup_read (markup);
  CHECK (read_back != NULL && strcmp (read_back, inert) == 0);
}

/* Ask's way for a name the bus check let through. */
static void
check_domain (const char *name)
{
  g_autofree char *domain = trellis_domain_normalize (name);
  g_autoptr(GError) lift_error = NULL;
  g_autoptr(GError) block_error = NULL;
  gboolean lift, block;
  gsize len;

  if (domain == NULL)
    return;
  len = strlen (domain);
  CHECK (len >= 1 && len <= 253 && domain[0] != '.' && domain[len - 1] != '.');
  for (const char *p = domain; *p != '\0'; p++)
    CHECK ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
           || (*p == '.' && p[1] != '.'));
  lift = trellis_public_suffix_check (domain, TRELLIS_SUFFIX_USE_LIFT, &lift_error);
  block = trellis_public_suffix_check (domain, TRELLIS_SUFFIX_USE_BLOCK, &block_error);
  check_result (lift, lift_error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID);
  check_result (block, block_error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID);
  /* Lifting is refused wherever blocking is, and a single label always. */
  CHECK (!lift || block);
  if (strchr (domain, '.') == NULL)
    CHECK (!lift && !block);
}

static void
check_text (const char *text)
{
  g_autoptr(GError) name_error = NULL;
  g_autoptr(GError) message_error = NULL;
  gsize len = strlen (text);
  gboolean safe = oracle_text_safe (text);
  gboolean name_ok = trellis_dbus_check_name (text, &name_error);
  gboolean message_ok = trellis_dbus_check_message (text, &message_error);

  check_result (name_ok, name_error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  check_result (message_ok, message_error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  CHECK (name_ok == (safe && len >= 1 && len <= TRELLIS_DBUS_NAME_MAX));
  CHECK (message_ok == (safe && len <= TRELLIS_DBUS_MESSAGE_MAX));
  if (name_ok)
    check_domain (text);
  check_shown (text);
}

/* Every string in @value (any depth). */
static void
strings_collect (GVariant *value, GPtrArray *out)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    g_ptr_array_add (out, (gpointer) g_variant_get_string (value, NULL));
  else if (g_variant_is_container (value))
    for (gsize i = 0; i < g_variant_n_children (value); i++)
      {
        g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

        strings_collect (child, out);
      }
}

static void
check_call (guint8 selector, const uint8_t *data, size_t size)
{
  static const char *const methods[] = {
    "GetStatus", "Why", "GetLog", "ClearLog", "Ask", "ListRequests", "Approve", "Decline",
    "Pause", "ApplyPolicy", "GetHelplines", "Subscribe", "GetLists", "UpdateLists", "NoSuchMethod"
  };
  const char *method = methods[selector % G_N_ELEMENTS (methods)];
  GDBusMethodInfo *info = g_dbus_interface_info_lookup_method (trellis_trellis1_interface_info (),
                                                               method);
  g_autoptr(GString) signature = g_string_new ("(");
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GVariant) raw = NULL;
  g_autoptr(GVariant) params = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) strings = g_ptr_array_new ();
  gboolean ok;

  for (guint i = 0; info != NULL && info->in_args != NULL && info->in_args[i] != NULL; i++)
    g_string_append (signature, info->in_args[i]->signature);
  g_string_append_c (signature, ')');
  raw = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (signature->str), bytes,
                                                      FALSE));
  /* What GDBus delivers is in normal form: untrusted bytes become valid
   * values (an invalid string reads as ""). */
  params = g_variant_get_normal_form (raw);
  ok = trellis_dbus_check_args (method, params, &error);
  if (info == NULL)
    {
      CHECK (!ok && g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD));
      return;
    }
  check_result (ok, error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  /* The wrong type is always refused. */
  {
    g_autoptr(GVariant) wrong = g_variant_ref_sink (g_variant_new ("(t)", (guint64) size));
    g_autoptr(GError) wrong_error = NULL;

    CHECK (!trellis_dbus_check_args (method, wrong, &wrong_error));
    CHECK (g_error_matches (wrong_error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS));
  }
  strings_collect (params, strings);
  for (guint i = 0; i < strings->len; i++)
    check_shown (strings->pdata[i]);
  if (!ok)
    return;
  /* Accepted: every string argument is safe text of a bounded length
   * (locales are the longest but names' bound; a message's is 500). */
  for (guint i = 0; i < strings->len; i++)
    {
      const char *text = strings->pdata[i];

      CHECK (oracle_text_safe (text) && strlen (text) <= TRELLIS_DBUS_MESSAGE_MAX);
    }
  if (strcmp (method, "Ask") == 0 || strcmp (method, "Why") == 0)
    check_domain (strings->pdata[strcmp (method, "Ask") == 0 ? 0 : 1]);
  if (strcmp (method, "Approve") == 0 || strcmp (method, "Pause") == 0)
    {
      gint64 seconds;

      g_variant_get_child (params, 1, "x", &seconds);
      CHECK (seconds >= TRELLIS_DBUS_DURATION_MIN && seconds <= TRELLIS_DBUS_DURATION_MAX);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  if (data[0] < 0x80)
    {
      /* A D-Bus string ends at its NUL. */
      size_t len = strnlen ((const char *) data + 1, size - 1);
      g_autofree char *text = g_strndup ((const char *) data + 1, len);

      check_text (text);
    }
  else
    check_call (data[0] & 0x7f, data + 1, size - 1);
  return 0;
}
