/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cmd-policy-show.c — trellis policy show [NAME] [--nft]: a child's profile
 * in plain words, or with --nft the kernel plan as the nft text the kernel
 * prints for it (the whole table, or what concerns child NAME).
 *
 * The CLI cannot ask the kernel which queue expression it has (it never
 * links libnftnl), so it renders the xtables NFQUEUE form; trellisd's
 * defaults (policy/nft-plan.h) give the table, the queues (one per CPU) and
 * the port.
 */
#include <glib/gi18n.h>

#include "cli/cli.h"
#include "policy/nft-plan.h"

static int
show_nft (TrellisPolicy *policy, const char *name)
{
  const TrellisNftPlanTuning tuning = {
    .table = TRELLIS_NFT_TABLE_DEFAULT,
    .queue_num = TRELLIS_NFT_QUEUE_NUM_DEFAULT,
    .queue_total = (uint16_t) trellis_nft_queue_total_default (),
    .answer_port = TRELLIS_NFT_ANSWER_PORT_DEFAULT,
    .mark = TRELLIS_NFT_MARK_DEFAULT,
    .queue_expr = TRELLIS_QUEUE_EXPR_XT,
  };
  g_autoptr(TrellisNftPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  plan = trellis_nft_plan_new_for_policy (policy, &tuning, NULL, NULL, &error);
  if (plan == NULL)
    {
      g_printerr ("trellis: %s\n", error->message);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  text = trellis_nft_plan_render (plan, name);
  if (text == NULL)
    {
      /* Translators: %s is a child's name from the household file. */
      g_printerr (_ ("trellis: there is no child “%s” in the household file\n"), name);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  g_print ("%s", text);
  return TRELLIS_CLI_EXIT_OK;
}

static const char *
safe_search_words (TrellisSafeSearchLevel level)
{
  switch (level)
    {
    case TRELLIS_SAFE_SEARCH_STRICT: return _ ("strict");
    case TRELLIS_SAFE_SEARCH_MODERATE: return _ ("moderate");
    case TRELLIS_SAFE_SEARCH_OFF:
    default: return _ ("off");
    }
}

static int
show_profile (TrellisPolicy *policy, const char *name)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GString) blocked = g_string_new (NULL);
  const TrellisChild *child = trellis_policy_find_child (policy, name);
  const TrellisAgeBand *band;
  const TrellisCategory *const *categories;
  const char *const *accounts;
  g_autofree char *account_list = NULL;
  TrellisSafeSearchLevel safe_search = TRELLIS_SAFE_SEARCH_OFF;
  guint32 mask = 0;
  gboolean allowlist = FALSE;
  guint n_categories = 0;
  guint i;

  if (child == NULL)
    {
      g_printerr (_ ("trellis: there is no child “%s” in the household file\n"), name);
      return TRELLIS_CLI_EXIT_USAGE;
    }
  accounts = trellis_child_get_accounts (child);
  account_list = accounts != NULL ? g_strjoinv (", ", (char **) accounts) : g_strdup ("");

  /* Translators: %s is a child's name. */
  g_print (_ ("Profile of %s\n"), trellis_child_get_name (child));
  /* Translators: %s is a list of Linux account names. */
  g_print (_ ("  Accounts: %s\n"), account_list[0] != '\0' ? account_list : _ ("none"));

  band = trellis_child_get_profile (policy, child, now, &mask, &safe_search, &allowlist);
  if (band == NULL)
    {
      g_print (_ ("  %s is 18 or over: Trellis does not filter adults.\n"),
               trellis_child_get_name (child));
      return TRELLIS_CLI_EXIT_OK;
    }
  /* Translators: the first %u is the child's age in years, %s the age band ("9-12"). */
  g_print (_ ("  Age: %u (age band %s)\n"), trellis_child_get_age (policy, child, now), band->id);

  categories = trellis_policy_get_categories (policy, &n_categories);
  for (i = 0; i < n_categories; i++)
    if (categories[i]->bit < 32 && (mask & (1u << categories[i]->bit)) != 0)
      {
        if (blocked->len > 0)
          g_string_append (blocked, ", ");
        g_string_append (blocked, categories[i]->name != NULL ? categories[i]->name
                                                              : categories[i]->id);
      }
  /* Translators: %s is a list of category names, such as "Gambling, Adult". */
  g_print (_ ("  Categories blocked: %s\n"), blocked->len > 0 ? blocked->str : _ ("none"));
  /* Translators: %s is strict, moderate or off. */
  g_print (_ ("  Safe search: %s\n"), safe_search_words (safe_search));
  g_print ("  %s\n", allowlist
                       ? _ ("Mode: allow-list (only the names the parents allowed)")
                       : _ ("Mode: block-list (everything but what is blocked)"));
  return TRELLIS_CLI_EXIT_OK;
}

int
trellis_cli_policy_show (TrellisCliOptions *options, int argc, char **argv)
{
  g_autoptr(TrellisPolicy) policy = NULL;
  const char *name = NULL;

  if (argc > 1 || (argc == 0 && !options->nft))
    {
      g_printerr (_ ("trellis: write trellis policy show NAME, or trellis policy show [NAME] --nft\n"));
      return TRELLIS_CLI_EXIT_USAGE;
    }
  if (argc == 1)
    name = argv[0];

  policy = trellis_cli_policy_load (options, trellis_cli_household_path (options));
  if (policy == NULL)
    return TRELLIS_CLI_EXIT_USAGE;

  if (options->nft)
    return show_nft (policy, name);
  return show_profile (policy, name);
}
