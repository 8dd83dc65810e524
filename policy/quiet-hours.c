/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * quiet-hours.c — "Mon-Fri 20:30-07:00; Sat,Sun 21:30-08:00": parsing one
 * window, and "is it quiet at this moment".
 *
 * A window names days and a time range.  When the range ends before it
 * starts it runs overnight: "Fri 20:30-07:00" is quiet from Friday 20:30
 * to Saturday 07:00, whatever Saturday's own windows say.  The start is
 * inside the window, the end is not.  Times are read in the household's
 * zone: the caller converts the moment first.
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

static const char *const day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

static int
day_parse (const char *text,
           gsize len)
{
  guint i;

  if (len != 3)
    return -1;
  for (i = 0; i < G_N_ELEMENTS (day_names); i++)
    if (g_ascii_strncasecmp (text, day_names[i], 3) == 0)
      return i;
  return -1;
}

/* "HH:MM" at @text, exactly five characters. */
static gboolean
clock_parse (const char *text,
             gsize len,
             guint16 *ret_minutes)
{
  guint hours, minutes;

  if (len != 5 || !g_ascii_isdigit (text[0]) || !g_ascii_isdigit (text[1]) || text[2] != ':'
      || !g_ascii_isdigit (text[3]) || !g_ascii_isdigit (text[4]))
    return FALSE;
  hours = (text[0] - '0') * 10 + (text[1] - '0');
  minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59)
    return FALSE;
  *ret_minutes = hours * 60 + minutes;
  return TRUE;
}

static gboolean
bad (GError **error,
     const char *format,
     ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError **error,
     const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  g_set_error_literal (error, TRELLIS_POLICY_ERROR, TRELLIS_POLICY_ERROR_INVALID, "");
  g_free ((*error)->message);
  (*error)->message = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

gboolean
trellis_quiet_window_parse (const char *text,
                            TrellisQuietWindow *ret_window,
                            GError **error)
{
  TrellisQuietWindow window = { 0 };
  const char *space, *p, *times, *dash;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error != NULL && *error == NULL, FALSE);

  space = strpbrk (text, " \t");
  if (space == NULL)
    return bad (error, _ ("“%s”: write days and hours like Mon-Fri 20:30-07:00"), text);

  /* The days: "Mon-Fri", "Sat,Sun", "Mon,Wed-Fri". */
  p = text;
  while (p < space)
    {
      const char *end = p;
      const char *range;
      int first, last, d;

      while (end < space && *end != ',')
        end++;
      range = memchr (p, '-', end - p);
      if (range != NULL)
        {
          first = day_parse (p, range - p);
          last = day_parse (range + 1, end - range - 1);
        }
      else
        first = last = day_parse (p, end - p);
      if (first < 0 || last < 0)
        {
          g_autofree char *word = NULL;

          if (range != NULL && first >= 0)
            word = g_strndup (range + 1, end - range - 1);
          else
            word = g_strndup (p, (range != NULL ? range : end) - p);

          if (end == p)
            return bad (error, _ ("“%s”: a day is missing between the commas"), text);
          return bad (error, _ ("“%s”: “%s” is not a day; write Mon, Tue, Wed, Thu, Fri, Sat or Sun (or a range like Mon-Fri)"),
                      text, word);
        }
      /* A range may wrap over the week's end: Fri-Mon. */
      for (d = first;; d = (d + 1) % 7)
        {
          window.days |= 1u << d;
          if (d == last)
            break;
        }
      p = end < space ? end + 1 : end;
    }

  times = space;
  while (g_ascii_isspace (*times))
    times++;
  dash = strchr (times, '-');
  if (dash == NULL)
    return bad (error, _ ("“%s”: write the hours as a range, like 20:30-07:00"), text);
  if (!clock_parse (times, dash - times, &window.start))
    {
      g_autofree char *word = g_strndup (times, dash - times);

      return bad (error, _ ("“%s”: “%s” is not a time of day; write HH:MM from 00:00 to 23:59"), text, word);
    }
  if (!clock_parse (dash + 1, strlen (dash + 1), &window.end))
    return bad (error, _ ("“%s”: “%s” is not a time of day; write HH:MM from 00:00 to 23:59"), text, dash + 1);
  if (window.start == window.end)
    return bad (error, _ ("“%s”: the quiet time starts and ends at the same minute"), text);

  *ret_window = window;
  return TRUE;
}

int
trellis_quiet_windows_find (const TrellisQuietWindow *windows,
                            guint n_windows,
                            GDateTime *local)
{
  guint day = g_date_time_get_day_of_week (local) - 1; /* 0 Monday */
  guint yesterday = (day + 6) % 7;
  guint minute = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);
  guint i;

  for (i = 0; i < n_windows; i++)
    {
      const TrellisQuietWindow *w = &windows[i];

      if (w->start < w->end)
        {
          if ((w->days & (1u << day)) && minute >= w->start && minute < w->end)
            return i;
        }
      else
        {
          /* Overnight: the evening part today, or the morning part that
           * spills over from yesterday. */
          if ((w->days & (1u << day)) && minute >= w->start)
            return i;
          if ((w->days & (1u << yesterday)) && minute < w->end)
            return i;
        }
    }
  return -1;
}

char *
trellis_quiet_window_format_end (const TrellisQuietWindow *window)
{
  return g_strdup_printf ("%02u:%02u", window->end / 60, window->end % 60);
}
