/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * explain.c — a rule in a few words (for the wire and the logs) and in a
 * child's words (translated).
 */
#include <string.h>

#include <glib/gi18n-lib.h>

#include "policy/policy-private.h"

/* @text as printable ASCII: anything else becomes '?'. */
static void
append_ascii (GString    *out,
              const char *text)
{
  for (; *text != '\0'; text++)
    g_string_append_c (out, (*text >= 0x20 && *text < 0x7f) ? *text : '?');
}

char *
trellis_rule_format_short (const TrellisRule *rule)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_return_val_if_fail (rule != NULL, NULL);

  switch (rule->kind)
    {
    case TRELLIS_RULE_KIND_HELPLINE:
      g_string_append (out, "helpline ");
      break;
    case TRELLIS_RULE_KIND_ALLOW:
      g_string_append (out, "allow ");
      break;
    case TRELLIS_RULE_KIND_DENY:
      g_string_append (out, "deny ");
      break;
    case TRELLIS_RULE_KIND_INTEGRITY:
      g_string_append (out, "integrity ");
      break;
    case TRELLIS_RULE_KIND_DEFAULT:
    default:
      return g_strdup ("default");
    }
  append_ascii (out, rule->pattern);

  if (rule->file != NULL)
    {
      const char *base = strrchr (rule->file, '/');

      g_string_append (out, " (");
      append_ascii (out, base != NULL ? base + 1 : rule->file);
      g_string_append_printf (out, ":%u)", rule->line);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
trellis_rule_explain (const TrellisRule *rule)
{
  g_return_val_if_fail (rule != NULL, NULL);

  switch (rule->kind)
    {
    case TRELLIS_RULE_KIND_HELPLINE:
      /* Translators: shown to a child.  %s is a web address, e.g.
       * childline.org.uk.  Helplines are services where children can talk
       * to someone in confidence; keep the promise plain and certain. */
      return g_strdup_printf (_("%s is a helpline. It is never blocked, and nobody is told that you visited it."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_ALLOW:
      /* Translators: shown to a child.  %s is a web address, e.g.
       * scratch.mit.edu, that the child's parents chose to allow. */
      return g_strdup_printf (_("Your parents have said yes to %s, so it is not blocked."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_DENY:
      /* Translators: shown to a child.  %s is a web address, e.g.
       * example-game.com, that the child's parents chose to block.  Keep
       * the invitation to ask: children may object to a rule. */
      return g_strdup_printf (_("Your parents have blocked %s. If you think this is a mistake, you can ask them to look at it again."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_INTEGRITY:
      /* Translators: shown to a child.  %s is a technical address, e.g.
       * use-application-dns.net, that a web browser uses to switch to
       * another way of looking up websites, which would skip the family's
       * filter.  Blocking it changes nothing else. */
      return g_strdup_printf (_("%s is a way for a web browser to go around the filter your family chose, so it is blocked. Websites still work as usual."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_DEFAULT:
    default:
      /* Translators: shown to a child when no rule of the family is about
       * the website they asked about. */
      return g_strdup (_("None of your family's rules is about this website, so it is not blocked."));
    }
}
