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
append_ascii (GString *out,
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

  /* The kind's name first (rule-kind.c), then what it is about. */
  g_string_append (out, trellis_rule_kind_to_string (rule->kind));
  switch (rule->kind)
    {
    case TRELLIS_RULE_KIND_HELPLINE:
    case TRELLIS_RULE_KIND_ALLOW:
    case TRELLIS_RULE_KIND_DENY:
    case TRELLIS_RULE_KIND_INTEGRITY:
    case TRELLIS_RULE_KIND_INFORMATION:
      /* "deny example-game.com (household.conf:12)",
       * "information doctissimo.fr (ut1-sexual_education:14)" */
      g_string_append_c (out, ' ');
      break;
    case TRELLIS_RULE_KIND_CATEGORY:
      /* "category gambling (age 9-12)" */
      g_string_append_c (out, ' ');
      append_ascii (out, rule->category != NULL ? rule->category : "?");
      if (rule->detail != NULL)
        {
          g_string_append (out, " (age ");
          append_ascii (out, rule->detail);
          g_string_append_c (out, ')');
        }
      return g_string_free (g_steal_pointer (&out), FALSE);
    case TRELLIS_RULE_KIND_QUIET_HOURS:
      /* "quiet-hours Mon-Fri 20:30-07:00 (household.conf:14)" */
      g_string_append_c (out, ' ');
      append_ascii (out, rule->detail != NULL ? rule->detail : "");
      break;
    case TRELLIS_RULE_KIND_ALLOWLIST:
      /* "allowlist (not on sam's list)" */
      g_string_append (out, " (not on ");
      append_ascii (out, rule->child != NULL ? rule->child : "the");
      g_string_append (out, rule->child != NULL ? "'s list)" : " list)");
      return g_string_free (g_steal_pointer (&out), FALSE);
    case TRELLIS_RULE_KIND_SAFE_SEARCH:
      /* "safe-search strict" */
      g_string_append_c (out, ' ');
      append_ascii (out, rule->detail != NULL ? rule->detail : "on");
      return g_string_free (g_steal_pointer (&out), FALSE);
    case TRELLIS_RULE_KIND_DEFAULT:
    default:
      /* "default" */
      return g_string_free (g_steal_pointer (&out), FALSE);
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
      return g_strdup_printf (_ ("%s is a helpline. It is never blocked, and nobody is told that you visited it."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_ALLOW:
      if (rule->child == NULL)
        /* Translators: shown to a child.  %s is a web address, e.g.
         * pbskids.org, on Trellis's own list of websites made for
         * children (used when only listed websites are open). */
        return g_strdup_printf (_ ("%s is on the list of websites made for children, so you can use it."),
                                rule->pattern);
      /* Translators: shown to a child.  %s is a web address, e.g.
       * scratch.mit.edu, that the child's parents chose to allow. */
      return g_strdup_printf (_ ("Your parents have said yes to %s, so it is not blocked."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_DENY:
      /* Translators: shown to a child.  %s is a web address, e.g.
       * example-game.com, that the child's parents chose to block.  Keep
       * the invitation to ask: children may object to a rule. */
      return g_strdup_printf (_ ("Your parents have blocked %s. If you think this is a mistake, you can ask them to look at it again."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_INTEGRITY:
      /* Translators: shown to a child.  %s is a technical address, e.g.
       * use-application-dns.net, that a web browser uses to switch to
       * another way of looking up websites, which would skip the family's
       * filter.  Blocking it changes nothing else. */
      return g_strdup_printf (_ ("%s is a way for a web browser to go around the filter your family chose, so it is blocked. Websites still work as usual."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_QUIET_HOURS:
      /* Translators: shown to a child during the quiet hours (bedtime)
       * their family set.  Helplines keep working: say so plainly. */
      return g_strdup (_ ("It is quiet time now, so websites are resting. Helplines still work."));
    case TRELLIS_RULE_KIND_INFORMATION:
      /* Translators: shown to a child.  %s is a web address, e.g.
       * doctissimo.fr, on Trellis's information list: sites about health,
       * bodies, growing up and sexual education, and encyclopaedias.  A
       * list of blocked websites that someone else wrote named it, but
       * such lists may not block these: children have a right to this
       * information (UN Committee on the Rights of the Child, GC25 §56). */
      return g_strdup_printf (_ ("%s is a place to learn about health, your body and growing up. Trellis keeps it open, even though a list of blocked websites named it: you have the right to find this information."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_CATEGORY:
      /* Translators: shown to a child.  %s is a category's id, e.g.
       * "gambling"; the category's own explanation is used when known. */
      return g_strdup_printf (_ ("This website is in the category “%s”, which is blocked for your age. If you think this is a mistake, you can ask your parents to look at it again."),
                              rule->category != NULL ? rule->category : "");
    case TRELLIS_RULE_KIND_ALLOWLIST:
      /* Translators: shown to a young child whose family uses a list of
       * chosen websites: only those open.  Keep the invitation to ask. */
      return g_strdup (_ ("This website is not on your list of websites yet. You can ask your parents to add it."));
    case TRELLIS_RULE_KIND_SAFE_SEARCH:
      /* Translators: shown to a child when a search engine is switched to
       * its safe mode.  Searching still works. */
      return g_strdup (_ ("This search website uses its safe mode for you, so results meant for grown-ups are hidden. Searching still works."));
    case TRELLIS_RULE_KIND_DEFAULT:
    default:
      /* Translators: shown to a child when no rule of the family is about
       * the website they asked about. */
      return g_strdup (_ ("None of your family's rules is about this website, so it is not blocked."));
    }
}

/* The words for a teenager (13 and over): the reason, and the right to ask. */
static char *
explain_teen (const TrellisRule *rule, const char *until)
{
  switch (rule->kind)
    {
    case TRELLIS_RULE_KIND_DENY:
      /* Translators: shown to a teenager.  Both %s are the same web address,
       * e.g. example-game.com.  Keep the right to disagree and the command
       * ("trellis ask") as they are. */
      return g_strdup_printf (_ ("Your parents have blocked %s. You have the right to know why and to disagree: type “trellis ask %s” with your reason, and they will see it."),
                              rule->pattern, rule->pattern);
    case TRELLIS_RULE_KIND_QUIET_HOURS:
      if (until != NULL)
        /* Translators: shown to a teenager during quiet hours.  %s is a time
         * of day, e.g. 07:00.  Helplines keep working: say so plainly. */
        return g_strdup_printf (_ ("It is quiet time until %s: your family set these hours for rest. Helplines still work. If the hours no longer fit your life, talk to your parents or use “trellis ask”."),
                                until);
      /* Translators: shown to a teenager during quiet hours. */
      return g_strdup (_ ("It is quiet time now: your family set these hours for rest. Helplines still work."));
    case TRELLIS_RULE_KIND_ALLOWLIST:
      /* Translators: shown to a teenager whose family opens only listed
       * websites.  %s is a web address; keep the command as it is. */
      return g_strdup_printf (_ ("Your family chose to open only listed websites, and %s is not on the list. You can ask for it with “trellis ask %s”."),
                              rule->pattern != NULL && *rule->pattern != '\0' ? rule->pattern : "…",
                              rule->pattern != NULL && *rule->pattern != '\0' ? rule->pattern : "…");
    case TRELLIS_RULE_KIND_INTEGRITY:
      /* Translators: shown to a teenager.  %s is a technical address, e.g.
       * use-application-dns.net, that browsers use to switch to their own
       * way of looking up websites, outside the family's filter. */
      return g_strdup_printf (_ ("%s would let a browser look up websites outside the filter your family chose, so it is answered as if it did not exist. Websites still work as usual."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_INFORMATION:
      /* Translators: shown to a teenager.  %s is a web address on
       * Trellis's information list (health, sexual education,
       * encyclopaedias).  A category list someone else wrote named it;
       * such lists may not block information (GC25 §56). */
      return g_strdup_printf (_ ("%s is on Trellis's information list (health, sexuality, encyclopaedias). A list of blocked websites written by someone else named it, but such lists are not allowed to block information you have a right to, so it stays open."),
                              rule->pattern);
    case TRELLIS_RULE_KIND_SAFE_SEARCH:
      /* Translators: shown to a teenager when a search engine runs in its
       * safe mode. */
      return g_strdup (_ ("This search engine runs in its safe mode for your profile, which hides explicit results. You can ask your parents to change this setting."));
    default:
      return NULL;
    }
}

char *
trellis_rule_explain_for (TrellisPolicy *policy,
                          const TrellisRule *rule,
                          const TrellisChild *child,
                          GDateTime *now)
{
  return trellis_rule_explain_for_locale (policy, rule, child, now, NULL);
}

char *
trellis_rule_explain_for_locale (TrellisPolicy *policy,
                                 const TrellisRule *rule,
                                 const TrellisChild *child,
                                 GDateTime *now,
                                 const char *locale)
{
  const TrellisAgeBand *band;
  g_autofree char *until = NULL;
  char *teen;

  g_return_val_if_fail (policy != NULL, NULL);
  g_return_val_if_fail (rule != NULL, NULL);

  band = child != NULL ? trellis_child_get_profile (policy, child, now, NULL, NULL, NULL) : NULL;

  if (rule->kind == TRELLIS_RULE_KIND_CATEGORY)
    {
      const TrellisCategoryEntry *category = trellis_policy_find_category (policy, rule->category);
      const char *band_id = band != NULL ? band->id : rule->detail;

      if (category != NULL && band_id != NULL)
        {
          g_autofree char *key = g_strconcat ("Explanation-", band_id, NULL);
          char *text = g_key_file_get_locale_string (category->desktop, "Trellis Category", key,
                                                     locale, NULL);

          if (text != NULL)
            return text;
        }
    }
  else if (rule->kind == TRELLIS_RULE_KIND_QUIET_HOURS && rule->detail != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      TrellisQuietWindow window;

      if (trellis_quiet_window_parse (rule->detail, &window, &local_error))
        until = trellis_quiet_window_format_end (&window);
    }

  /* Younger children get short, concrete words; from 13, the reason and
   * the right to ask (GC25 §59, evolving capacities). */
  if (band != NULL && band->min_age >= 13)
    {
      teen = explain_teen (rule, until);
      if (teen != NULL)
        return teen;
    }
  if (until != NULL)
    /* Translators: shown to a child during their quiet hours
     * (bedtime).  %s is a time of day, e.g. 07:00, in the household's
     * time zone.  Helplines keep working: say so plainly. */
    return g_strdup_printf (_ ("It is quiet time until %s. Helplines still work."), until);
  return trellis_rule_explain (rule);
}
