/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list-parse.c — a published list, line by line (see list-parse.h).
 *
 *   plain, ut1  "name"                          "#" comments
 *   hosts       "ADDRESS name [name...]"        "#" comments
 *   adblock     "||name^", "||name^|", "||name^$OPTS" with OPTS only
 *               third-party, 3p, document, doc, all, important: a whole
 *               host; a bare name; "!" comments and "[Adblock ...]"
 *               headers.  Every other rule (cosmetic, exception, path,
 *               wildcard, regular expression, any other option) is a rule
 *               for something else than a whole host and is left out.
 *
 * A name is refused when it is an address, a local or reserved name, a
 * single label or a public suffix (it would block every site under it),
 * or not a domain name.  Lines longer than TRELLIS_LIST_LINE_MAX, and lines
 * that are not text, are refused whole.
 */
#include <string.h>

#include <gio/gio.h>
#include <idn2.h>

#include "lists/list-parse.h"
#include "policy/public-suffix.h"

static const char *const refused_names[] = {
  [TRELLIS_LIST_REFUSED_NOT_HOST] = "not-host",
  [TRELLIS_LIST_REFUSED_ADDRESS] = "address",
  [TRELLIS_LIST_REFUSED_LOCAL] = "local",
  [TRELLIS_LIST_REFUSED_SUFFIX] = "suffix",
  [TRELLIS_LIST_REFUSED_INVALID] = "invalid",
  [TRELLIS_LIST_REFUSED_TOO_LONG] = "too-long",
  [TRELLIS_LIST_REFUSED_BINARY] = "binary",
};

/* Last labels that are never a site on the Internet: localhost.localdomain,
 * printer.local, 1.0.0.127.in-addr.arpa, x.invalid, x.test.  (localhost,
 * broadcasthost and the ip6-* names of hosts files are single labels.) */
static const char *const reserved_last_labels[] = {
  "localhost", "local", "localdomain", "arpa", "invalid", "test", NULL
};

static const char *const whole_host_options[] = {
  "third-party", "3p", "document", "doc", "all", "important", NULL
};

const char *
trellis_list_refused_to_string (TrellisListRefused reason)
{
  if ((guint) reason >= TRELLIS_LIST_REFUSED_N)
    return "invalid";
  return refused_names[reason];
}

guint64
trellis_list_counts_junk (const TrellisListCounts *counts)
{
  return counts->refused[TRELLIS_LIST_REFUSED_INVALID]
         + counts->refused[TRELLIS_LIST_REFUSED_TOO_LONG]
         + counts->refused[TRELLIS_LIST_REFUSED_BINARY];
}

struct _TrellisListParser {
  TrellisListFormat format;
  TrellisListNameFunc func;
  gpointer user_data;
  GString *line;      /* (owned) the line being read */
  gboolean overlong;  /* the line being read is too long: skipped to its end */
  gboolean seen_text; /* something other than space came already */
  TrellisListCounts counts;
  gboolean have_known;
  TrellisNamesCursor known; /* the earlier version's names, walked once */
  const char *known_name;   /* its current name (not NUL-terminated) */
  gsize known_len;
  gboolean known_left;
};

TrellisListParser *
trellis_list_parser_new (TrellisListFormat format,
                         TrellisListNameFunc func,
                         gpointer user_data)
{
  TrellisListParser *parser = g_new0 (TrellisListParser, 1);

  parser->format = format;
  parser->func = func;
  parser->user_data = user_data;
  parser->line = g_string_sized_new (256);
  return parser;
}

void
trellis_list_parser_set_known (TrellisListParser *parser,
                               const TrellisNamesFile *known)
{
  parser->have_known = known != NULL;
  trellis_names_cursor_init (&parser->known, known);
  parser->known_left = known != NULL
                       && trellis_names_cursor_next (&parser->known, &parser->known_name, &parser->known_len);
}

/* Whether @raw is, byte for byte, a name the earlier version gave.  The
 * walk only goes forward: a list out of order finds less, never wrong. */
static gboolean
known_has (TrellisListParser *parser,
           const char *raw,
           gsize len)
{
  while (parser->known_left)
    {
      int c = trellis_names_compare (parser->known_name, parser->known_len, raw, len);

      if (c == 0)
        return TRUE;
      if (c > 0)
        return FALSE;
      parser->known_left = trellis_names_cursor_next (&parser->known, &parser->known_name,
                                                      &parser->known_len);
    }
  return FALSE;
}

void
trellis_list_parser_free (TrellisListParser *parser)
{
  if (parser == NULL)
    return;
  g_string_free (parser->line, TRUE);
  g_free (parser);
}

static gboolean
looks_like_address (const char *text)
{
  gboolean digits_dots = TRUE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == ':')
        return g_hostname_is_ip_address (text);
      if (!g_ascii_isdigit (*p) && *p != '.')
        digits_dots = FALSE;
    }
  return digits_dots;
}

gboolean
trellis_list_name_normalize (const char *raw,
                             gsize len,
                             char *out,
                             TrellisListRefused *ret_reason)
{
  char buf[TRELLIS_LIST_LINE_MAX + 1];
  const char *name = buf;
  gboolean ascii = TRUE;
  gsize i, label = 0, n;
  const char *last_label;

  if (len == 0 || len > TRELLIS_LIST_LINE_MAX)
    goto invalid;
  memcpy (buf, raw, len);
  buf[len] = '\0';
  /* "*.example.com" and ".example.com" (dnsmasq's way) mean the same here:
   * a name covers the names below it. */
  if (name[0] == '*' && name[1] == '.')
    name += 2;
  else if (name[0] == '.')
    name += 1;
  n = strlen (name);
  while (n > 0 && name[n - 1] == '.')
    buf[(name - buf) + --n] = '\0';
  if (n == 0)
    goto invalid;

  for (i = 0; i < n; i++)
    if ((guchar) name[i] >= 0x80)
      ascii = FALSE;

  if (!ascii)
    {
      char *idn = NULL;

      if (!g_utf8_validate (name, n, NULL))
        {
          *ret_reason = TRELLIS_LIST_REFUSED_BINARY;
          return FALSE;
        }
      if (idn2_to_ascii_8z (name, &idn, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK
          || idn == NULL || strlen (idn) > 253)
        {
          idn2_free (idn);
          goto invalid;
        }
      g_strlcpy (out, idn, 254);
      idn2_free (idn);
      n = strlen (out);
    }
  else
    {
      if (n > 253)
        goto invalid;
      for (i = 0; i < n; i++)
        out[i] = g_ascii_tolower (name[i]);
      out[n] = '\0';
    }

  if (looks_like_address (out))
    {
      *ret_reason = TRELLIS_LIST_REFUSED_ADDRESS;
      return FALSE;
    }
  last_label = out;
  for (i = 0; i <= n; i++)
    {
      char c = out[i];

      if (c == '.' || c == '\0')
        {
          if (label == 0 || label > 63)
            goto invalid;
          label = 0;
          if (c == '.')
            last_label = out + i + 1;
          continue;
        }
      if (!g_ascii_isalnum (c) && c != '-' && c != '_')
        goto invalid;
      label++;
    }
  {
    gboolean all_digits = TRUE;

    for (const char *p = last_label; *p != '\0'; p++)
      all_digits = all_digits && g_ascii_isdigit (*p);
    if (all_digits)
      {
        *ret_reason = TRELLIS_LIST_REFUSED_ADDRESS;
        return FALSE;
      }
  }
  if (last_label == out || g_strv_contains (reserved_last_labels, last_label))
    {
      *ret_reason = TRELLIS_LIST_REFUSED_LOCAL;
      return FALSE;
    }
  /* "co.uk" or "github.io" on someone's list would block every site under
   * it: a list may name sites, never a public suffix. */
  if (!trellis_public_suffix_check (out, TRELLIS_SUFFIX_USE_LIFT, NULL))
    {
      *ret_reason = TRELLIS_LIST_REFUSED_SUFFIX;
      return FALSE;
    }
  return TRUE;

invalid:
  *ret_reason = TRELLIS_LIST_REFUSED_INVALID;
  return FALSE;
}

static void
take (TrellisListParser *parser,
      const char *raw,
      gsize len)
{
  char name[254];
  TrellisListRefused reason;

  if (parser->have_known && len <= 253 && known_has (parser, raw, len))
    {
      memcpy (name, raw, len);
      name[len] = '\0';
      parser->counts.names++;
      parser->func (name, len, parser->user_data);
      return;
    }
  if (!trellis_list_name_normalize (raw, len, name, &reason))
    {
      parser->counts.refused[reason]++;
      return;
    }
  parser->counts.names++;
  parser->func (name, strlen (name), parser->user_data);
}

static void
refuse (TrellisListParser *parser,
        TrellisListRefused reason)
{
  parser->counts.refused[reason]++;
}

/* @text with its spaces and tabs cut on both sides, in place. */
static char *
trim (char *text)
{
  char *end;

  while (*text == ' ' || *text == '\t')
    text++;
  end = text + strlen (text);
  while (end > text && (end[-1] == ' ' || end[-1] == '\t'))
    *--end = '\0';
  return text;
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t';
}

static void
line_plain (TrellisListParser *parser,
            char *text)
{
  char *hash = strchr (text, '#');

  if (hash != NULL)
    *hash = '\0';
  text = trim (text);
  if (*text == '\0')
    {
      parser->counts.comments++;
      return;
    }
  if (strpbrk (text, " \t") != NULL)
    {
      refuse (parser, TRELLIS_LIST_REFUSED_INVALID);
      return;
    }
  take (parser, text, strlen (text));
}

static void
line_hosts (TrellisListParser *parser,
            char *text)
{
  char *hash = strchr (text, '#');
  char *p, *address;

  if (hash != NULL)
    *hash = '\0';
  text = trim (text);
  if (*text == '\0')
    {
      parser->counts.comments++;
      return;
    }
  address = text;
  for (p = text; *p != '\0' && !is_space (*p); p++)
    ;
  if (*p == '\0')
    {
      refuse (parser, TRELLIS_LIST_REFUSED_INVALID); /* an address without a name, or a name alone */
      return;
    }
  *p++ = '\0';
  if (!g_hostname_is_ip_address (address))
    {
      refuse (parser, TRELLIS_LIST_REFUSED_INVALID);
      return;
    }
  while (*p != '\0')
    {
      char *start;

      while (is_space (*p))
        p++;
      start = p;
      while (*p != '\0' && !is_space (*p))
        p++;
      if (p > start)
        take (parser, start, p - start);
    }
}

static gboolean
adblock_options_whole_host (const char *options)
{
  g_auto(GStrv) parts = g_strsplit (options, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    if (!g_strv_contains (whole_host_options, parts[i]))
      return FALSE;
  return TRUE;
}

static void
line_adblock (TrellisListParser *parser,
              char *text)
{
  char *host, *end;

  text = trim (text);
  if (*text == '\0' || *text == '!' || *text == '['
      || (*text == '#' && strchr ("#@?$%", text[1]) == NULL))
    {
      parser->counts.comments++;
      return;
    }
  if (g_str_has_prefix (text, "||"))
    {
      host = text + 2;
      end = host + strcspn (host, "/^$|*");
      if (*end != '^' || end == host)
        {
          refuse (parser, TRELLIS_LIST_REFUSED_NOT_HOST); /* a path, a wildcard, no separator */
          return;
        }
      *end = '\0';
      end++;
      if (*end == '|')
        end++;
      if (*end == '$')
        {
          if (!adblock_options_whole_host (end + 1))
            {
              refuse (parser, TRELLIS_LIST_REFUSED_NOT_HOST);
              return;
            }
        }
      else if (*end != '\0')
        {
          refuse (parser, TRELLIS_LIST_REFUSED_NOT_HOST);
          return;
        }
      take (parser, host, strlen (host));
      return;
    }
  /* A bare name on its own line is a whole host, as uBlock Origin reads it. */
  if (strpbrk (text, "/^$|*#@! \t[]()=,~") == NULL && strchr (text, '.') != NULL)
    {
      take (parser, text, strlen (text));
      return;
    }
  refuse (parser, TRELLIS_LIST_REFUSED_NOT_HOST);
}

/* One whole line, without its "\n". */
static void
line_done (TrellisListParser *parser)
{
  char *text = parser->line->str;
  gsize len = parser->line->len;
  gboolean high = FALSE;

  parser->counts.lines++;
  if (parser->overlong)
    {
      refuse (parser, TRELLIS_LIST_REFUSED_TOO_LONG);
      parser->overlong = FALSE;
      g_string_truncate (parser->line, 0);
      return;
    }
  if (len > 0 && text[len - 1] == '\r')
    text[--len] = '\0';
  /* The first line may start with a byte order mark. */
  if (parser->counts.lines == 1 && len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    {
      text += 3;
      len -= 3;
    }
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if ((c < 0x20 && c != '\t') || c == 0x7f)
        {
          refuse (parser, TRELLIS_LIST_REFUSED_BINARY);
          g_string_truncate (parser->line, 0);
          return;
        }
      high = high || c >= 0x80;
    }
  if (high && !g_utf8_validate (text, len, NULL))
    {
      refuse (parser, TRELLIS_LIST_REFUSED_BINARY);
      g_string_truncate (parser->line, 0);
      return;
    }
  if (!parser->seen_text)
    {
      const char *p = text;

      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '\0')
        {
          parser->seen_text = TRUE;
          parser->counts.html = *p == '<';
        }
    }

  switch (parser->format)
    {
    case TRELLIS_LIST_FORMAT_HOSTS:
      line_hosts (parser, text);
      break;
    case TRELLIS_LIST_FORMAT_ADBLOCK:
      line_adblock (parser, text);
      break;
    case TRELLIS_LIST_FORMAT_PLAIN:
    case TRELLIS_LIST_FORMAT_UT1:
    default:
      line_plain (parser, text);
      break;
    }
  g_string_truncate (parser->line, 0);
}

void
trellis_list_parser_feed (TrellisListParser *parser,
                          const char *data,
                          gsize len)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      gsize part = nl != NULL ? (gsize) (nl - data) : len;

      if (!parser->overlong)
        {
          if (parser->line->len + part > TRELLIS_LIST_LINE_MAX)
            {
              parser->overlong = TRUE;
              g_string_truncate (parser->line, 0);
            }
          else
            g_string_append_len (parser->line, data, part);
        }
      if (nl == NULL)
        return;
      line_done (parser);
      data += part + 1;
      len -= part + 1;
    }
}

void
trellis_list_parser_finish (TrellisListParser *parser,
                            TrellisListCounts *ret_counts)
{
  if (parser->line->len > 0 || parser->overlong)
    line_done (parser);
  *ret_counts = parser->counts;
}
