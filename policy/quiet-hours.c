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

/* The moment of @minutes after local midnight of @day in @tz, in unix
 * microseconds.  A local time the zone skips (a spring-forward gap) is
 * taken as GLib does, in the offset before the change. */
static gint64
local_moment (GTimeZone *tz,
              GDateTime *day,
              guint minutes)
{
  g_autoptr(GDateTime) t = g_date_time_new (tz, g_date_time_get_year (day),
                                             g_date_time_get_month (day),
                                             g_date_time_get_day_of_month (day),
                                             0, 0, 0);
  g_autoptr(GDateTime) m = NULL;

  if (t == NULL)
    return 0;
  /* Hours added on the local clock, so a window at 03:00 on the day of a
   * change is 03:00 local, not three hours after midnight. */
  m = g_date_time_new (tz, g_date_time_get_year (t), g_date_time_get_month (t),
                       g_date_time_get_day_of_month (t), minutes / 60, minutes % 60, 0);
  return m != NULL ? g_date_time_to_unix (m) * G_USEC_PER_SEC : 0;
}

static int
range_cmp (gconstpointer a, gconstpointer b)
{
  gint64 x = ((const gint64 *) a)[0], y = ((const gint64 *) b)[0];

  return x < y ? -1 : x > y;
}

void
trellis_quiet_windows_times (const TrellisQuietWindow *windows,
                             guint n_windows,
                             GTimeZone *tz,
                             gint64 from_us,
                             gint64 to_us,
                             GArray *times)
{
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, 2 * sizeof (gint64));
  g_autoptr(GDateTime) from = g_date_time_new_from_unix_utc (from_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GDateTime) day = NULL;

  g_return_if_fail (tz != NULL && times != NULL);
  if (from == NULL || n_windows == 0 || to_us <= from_us)
    return;
  local = g_date_time_to_timezone (from, tz);
  /* From the day before: its overnight windows spill into @from's day. */
  day = g_date_time_add_days (local, -1);
  for (;;)
    {
      guint weekday = g_date_time_get_day_of_week (day) - 1; /* 0 Monday */
      g_autoptr(GDateTime) next = NULL;
      gint64 midnight = local_moment (tz, day, 0);

      if (midnight >= to_us)
        break;
      for (guint i = 0; i < n_windows; i++)
        {
          const TrellisQuietWindow *w = &windows[i];
          gint64 range[2];

          if (!(w->days & (1u << weekday)))
            continue;
          range[0] = local_moment (tz, day, w->start);
          if (w->start < w->end)
            range[1] = local_moment (tz, day, w->end);
          else
            {
              g_autoptr(GDateTime) tomorrow = g_date_time_add_days (day, 1);

              range[1] = local_moment (tz, tomorrow, w->end);
            }
          if (range[1] > range[0] && range[1] > from_us && range[0] < to_us)
            g_array_append_val (all, range);
        }
      next = g_date_time_add_days (day, 1);
      g_date_time_unref (day);
      day = g_steal_pointer (&next);
    }
  g_array_sort (all, range_cmp);
  for (guint i = 0; i < all->len; i++)
    {
      gint64 *r = &g_array_index (all, gint64, 2 * i);
      gint64 *last = times->len > 0 ? &g_array_index (times, gint64, 2 * (times->len - 1)) : NULL;

      if (last != NULL && r[0] <= last[1])
        last[1] = MAX (last[1], r[1]);
      else
        g_array_append_vals (times, r, 1);
    }
}
