/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * domain.c — the domain name rules: which names a rule may be written
 * with, their one spelling (lower case, no trailing dot, an IDN in its
 * xn-- form), and the words for a name that is refused.
 *
 * It calls nothing else in policy/: every loader, the decision and the CLI
 * may use it.
 */
#include <string.h>

#include <gio/gio.h>
#include <glib/gi18n-lib.h>

#include "policy/domain.h"
#include "policy/trellis-policy.h"

TrellisDomainProblem
trellis_domain_check (const char *name,
                      char **ret_normalized)
{
  g_autofree char *copy = NULL;
  g_autofree char *ascii = NULL;
  gsize len, label_len = 0;
  const char *p;

  if (name == NULL || *name == '\0' || strcmp (name, ".") == 0)
    return TRELLIS_DOMAIN_EMPTY;
  if (g_str_has_prefix (name, "*.") || (name[0] == '.' && name[1] != '.' && name[1] != '\0'))
    return TRELLIS_DOMAIN_WILDCARD;

  copy = g_strdup (name);
  len = strlen (copy);
  if (copy[len - 1] == '.')
    copy[--len] = '\0';

  if (g_str_is_ascii (copy))
    ascii = g_ascii_strdown (copy, -1);
  else
    {
      g_autofree char *idn = NULL;

      if (!g_utf8_validate (copy, -1, NULL))
        return TRELLIS_DOMAIN_BAD_IDN;
      idn = g_hostname_to_ascii (copy);
      if (idn == NULL)
        return TRELLIS_DOMAIN_BAD_IDN;
      ascii = g_ascii_strdown (idn, -1);
    }

  for (p = ascii;; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          if (label_len == 0)
            return TRELLIS_DOMAIN_EMPTY_LABEL;
          if (label_len > 63)
            return TRELLIS_DOMAIN_LABEL_TOO_LONG;
          label_len = 0;
          if (*p == '\0')
            break;
        }
      else if (g_ascii_isalnum (*p) || *p == '-' || *p == '_')
        label_len++;
      else
        return TRELLIS_DOMAIN_BAD_CHAR;
    }
  if (strlen (ascii) > 253)
    return TRELLIS_DOMAIN_TOO_LONG;

  if (ret_normalized != NULL)
    *ret_normalized = g_steal_pointer (&ascii);
  return TRELLIS_DOMAIN_OK;
}

char *
trellis_domain_normalize (const char *name)
{
  char *normalized = NULL;

  if (trellis_domain_check (name, &normalized) != TRELLIS_DOMAIN_OK)
    return NULL;
  return normalized;
}

char *
trellis_domain_problem_describe (const char *name,
                                 TrellisDomainProblem problem)
{
  const char *rest = name;

  switch (problem)
    {
    case TRELLIS_DOMAIN_WILDCARD:
      while (*rest == '*' || *rest == '.')
        rest++;
      return g_strdup_printf (_ ("“%s”: write %s: a rule covers every name below it"), name, rest);
    case TRELLIS_DOMAIN_BAD_CHAR:
      if (strpbrk (name, ", \t") != NULL)
        return g_strdup_printf (_ ("“%s” is not a domain name: separate domains with “;”"), name);
      return g_strdup_printf (_ ("“%s” is not a domain name: only letters, digits, “-” and “_” may appear in it"),
                              name);
    case TRELLIS_DOMAIN_EMPTY_LABEL:
      return g_strdup_printf (_ ("“%s” is not a domain name: it has two dots in a row or starts with a dot"),
                              name);
    case TRELLIS_DOMAIN_LABEL_TOO_LONG:
      return g_strdup_printf (_ ("“%s” is not a domain name: a part between dots is longer than 63 characters"),
                              name);
    case TRELLIS_DOMAIN_TOO_LONG:
      return g_strdup_printf (_ ("“%s” is not a domain name: it is longer than 253 characters"), name);
    case TRELLIS_DOMAIN_BAD_IDN:
      return g_strdup_printf (_ ("“%s” is not a domain name: it cannot be written as an international domain name"),
                              name);
    case TRELLIS_DOMAIN_EMPTY:
    case TRELLIS_DOMAIN_OK:
    default:
      return g_strdup (_ ("an empty domain name"));
    }
}
