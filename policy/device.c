/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * device.c — one item of devices= (gateway mode): a MAC address, an IP
 * address or a CIDR, read into bytes the kernel plan and the checks of
 * household.c share.
 */
#include <string.h>

#include <gio/gio.h>

#include "policy/policy-private.h"

gboolean
trellis_device_parse (const char *text,
                      TrellisDeviceAddress *ret_device)
{
  TrellisDeviceAddress d = { 0 };
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *host = NULL;
  const char *slash;
  guint64 prefix = 0;
  gsize len;
  guint i;

  g_return_val_if_fail (text != NULL && ret_device != NULL, FALSE);

  if (strlen (text) == 17)
    {
      for (i = 0; i < 17; i++)
        if (i % 3 == 2 ? (text[i] != ':' && text[i] != '-') : !g_ascii_isxdigit (text[i]))
          break;
      if (i == 17)
        {
          for (i = 0; i < 6; i++)
            d.addr[i] = (guint8) (g_ascii_xdigit_value (text[3 * i]) << 4
                                  | g_ascii_xdigit_value (text[3 * i + 1]));
          d.family = TRELLIS_DEVICE_MAC;
          d.prefix_len = 48;
          *ret_device = d;
          return TRUE;
        }
    }

  slash = strchr (text, '/');
  host = slash != NULL ? g_strndup (text, slash - text) : g_strdup (text);
  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    return FALSE;
  len = g_inet_address_get_native_size (address);
  if (len != 4 && len != 16)
    return FALSE;
  prefix = len * 8;
  if (slash != NULL)
    {
      const char *p = slash + 1;

      if (*p == '\0' || strlen (p) > 3 || !g_ascii_string_to_unsigned (p, 10, 0, len * 8, &prefix, NULL))
        return FALSE;
    }
  memcpy (d.addr, g_inet_address_to_bytes (address), len);
  d.family = len == 4 ? TRELLIS_DEVICE_IPV4 : TRELLIS_DEVICE_IPV6;
  d.prefix_len = (guint8) prefix;
  /* host bits cleared: 10.42.0.7/24 is 10.42.0.0/24 */
  for (i = 0; i < len; i++)
    {
      guint bit = i * 8;

      if (bit >= prefix)
        d.addr[i] = 0;
      else if (bit + 8 > prefix)
        d.addr[i] &= (guint8) (0xffu << (bit + 8 - prefix));
    }
  *ret_device = d;
  return TRUE;
}

gboolean
trellis_device_overlaps (const TrellisDeviceAddress *a,
                         const TrellisDeviceAddress *b)
{
  guint prefix, i;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);
  if (a->family != b->family)
    return FALSE;
  prefix = MIN (a->prefix_len, b->prefix_len);
  for (i = 0; i < prefix / 8; i++)
    if (a->addr[i] != b->addr[i])
      return FALSE;
  if (prefix % 8 != 0)
    {
      guint8 mask = (guint8) (0xffu << (8 - prefix % 8));

      return (a->addr[i] & mask) == (b->addr[i] & mask);
    }
  return TRUE;
}
