/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli-json.c — the one JSON writer of `trellis --json`: strings escaped so
 * that a JSON reader gets them back as they were and a terminal showing
 * the JSON is not moved by them, and GVariants as JSON.
 */
#include "cli/cli-json.h"

#include <math.h>

#include "policy/text-safety.h"

void
trellis_cli_json_string (GString *out,
                         const char *text)
{
  g_autofree char *valid = NULL;

  if (text == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  valid = g_utf8_make_valid (text, -1);
  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          /* Controls (C1 too), bidirectional overrides and line separators
           * as \uXXXX: the same string to a JSON reader, and inert on the
           * terminal that shows the JSON. */
          if (trellis_text_char_is_unsafe (c))
            g_string_append_printf (out, "\\u%04x", (guint) c);
          else
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
          break;
        }
    }
  g_string_append_c (out, '"');
}

void
trellis_cli_json_variant (GString *out,
                          GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);
  gsize i, n;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE))
    g_string_append_printf (out, "%u", (guint) g_variant_get_byte (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT16))
    g_string_append_printf (out, "%d", (int) g_variant_get_int16 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
    g_string_append_printf (out, "%u", (guint) g_variant_get_uint16 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    g_string_append_printf (out, "%" G_GINT32_FORMAT, g_variant_get_int32 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    g_string_append_printf (out, "%" G_GUINT32_FORMAT, g_variant_get_uint32 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    g_string_append_printf (out, "%" G_GINT64_FORMAT, g_variant_get_int64 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, g_variant_get_uint64 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      double d = g_variant_get_double (value);

      if (isfinite (d))
        g_string_append (out, g_ascii_dtostr (buf, sizeof buf, d));
      else
        g_string_append (out, "null");
    }
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
           || g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH)
           || g_variant_is_of_type (value, G_VARIANT_TYPE_SIGNATURE))
    trellis_cli_json_string (out, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);

      trellis_cli_json_variant (out, inner);
    }
  else if (g_variant_type_is_maybe (type))
    {
      g_autoptr(GVariant) inner = g_variant_get_maybe (value);

      if (inner == NULL)
        g_string_append (out, "null");
      else
        trellis_cli_json_variant (out, inner);
    }
  else if (g_variant_type_is_array (type)
           && g_variant_type_is_dict_entry (g_variant_type_element (type))
           && g_variant_type_equal (g_variant_type_key (g_variant_type_element (type)),
                                    G_VARIANT_TYPE_STRING))
    {
      n = g_variant_n_children (value);
      g_string_append_c (out, '{');
      for (i = 0; i < n; i++)
        {
          g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
          g_autoptr(GVariant) item = g_variant_get_child_value (entry, 1);

          if (i > 0)
            g_string_append (out, ", ");
          trellis_cli_json_string (out, g_variant_get_string (key, NULL));
          g_string_append (out, ": ");
          trellis_cli_json_variant (out, item);
        }
      g_string_append_c (out, '}');
    }
  else if (g_variant_is_container (value))
    {
      n = g_variant_n_children (value);
      g_string_append_c (out, '[');
      for (i = 0; i < n; i++)
        {
          g_autoptr(GVariant) item = g_variant_get_child_value (value, i);

          if (i > 0)
            g_string_append (out, ", ");
          trellis_cli_json_variant (out, item);
        }
      g_string_append_c (out, ']');
    }
  else
    g_string_append (out, "null");
}
