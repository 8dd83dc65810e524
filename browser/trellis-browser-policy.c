/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * trellis-browser-policy — the browsers' own policies that keep them on
 * the family's filter, put in by the package and taken out when it goes.
 *
 *   trellis-browser-policy install [--root DIR] [--safe-search off|moderate|strict|auto]
 *   trellis-browser-policy remove  [--root DIR]
 *
 * Firefox: /etc/firefox/policies/policies.json gets "DNSOverHTTPS":
 * {"Enabled": false, "Locked": true}, so the browser never resolves over
 * its own DoH resolver (and no one can switch it on).  An administrator's
 * file is merged into, never replaced: its other policies stay as they
 * are, an administrator's own DNSOverHTTPS stays and is reported, and a
 * copy of the file as it was is kept beside it (policies.json.trellis-saved),
 * so that removal gives the file back byte for byte, or, when the
 * administrator changed it since, takes out our key alone.
 *
 * Chromium and Chrome: a file of ours, trellis.json, in
 * /etc/chromium/policies/managed/ and /etc/opt/chrome/policies/managed/
 * (they read every file there): "DnsOverHttpsMode": "off".  An
 * administrator's files there are never touched.
 *
 * SafeSearch (ForceGoogleSafeSearch, ForceYouTubeRestrict) is a managed
 * policy too, and a managed policy applies to every account of the
 * machine, parents included.  trellisd already answers the search
 * engines' names with their safe endpoints for each child at the DNS
 * level, so the keys are set only when asked (--safe-search LEVEL), or
 * with --safe-search auto when every account that can log in (uid 1000 or
 * more, a login shell) is a child's with safe search on: then at the
 * least strict of their levels.
 *
 * What was made (directories, the Firefox file or merge) is written in
 * /etc/trellis/browser-policy.state, so that removal takes out exactly
 * that.  --root DIR works on DIR as the root (tests, images).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "policy/data-dir.h"
#include "policy/safe-search.h"
#include "policy/trellis-policy.h"

#define STATE_FILE    "/etc/trellis/browser-policy.state"
#define STATE_GROUP   "browser-policy"
#define FIREFOX_DIR   "/etc/firefox/policies"
#define FIREFOX_FILE  FIREFOX_DIR "/policies.json"
#define FIREFOX_SAVED FIREFOX_FILE ".trellis-saved"
#define OUR_FILE      "trellis.json"

static const char *const chromium_dirs[] = {
  "/etc/chromium/policies/managed",
  "/etc/opt/chrome/policies/managed",
};

typedef struct {
  char *root;              /* (owned) "" for / */
  GKeyFile *state;         /* (owned) */
  GPtrArray *created_dirs; /* (owned) paths without the root, in the order made */
  char *firefox;           /* (owned) (nullable) "created", "merged" or "kept" */
} Ctx;

static char *
in_root (Ctx *ctx, const char *path)
{
  return g_strconcat (ctx->root, path, NULL);
}

static void
state_load (Ctx *ctx)
{
  g_autofree char *path = in_root (ctx, STATE_FILE);
  g_auto(GStrv) dirs = NULL;

  ctx->state = g_key_file_new ();
  ctx->created_dirs = g_ptr_array_new_with_free_func (g_free);
  if (!g_key_file_load_from_file (ctx->state, path, G_KEY_FILE_NONE, NULL))
    return;
  dirs = g_key_file_get_string_list (ctx->state, STATE_GROUP, "created-dirs", NULL, NULL);
  for (guint i = 0; dirs != NULL && dirs[i] != NULL; i++)
    g_ptr_array_add (ctx->created_dirs, g_strdup (dirs[i]));
  ctx->firefox = g_key_file_get_string (ctx->state, STATE_GROUP, "firefox", NULL);
}

static gboolean
state_save (Ctx *ctx, GError **error)
{
  g_autofree char *path = in_root (ctx, STATE_FILE);
  g_autofree char *data = NULL;

  g_key_file_set_string_list (ctx->state, STATE_GROUP, "created-dirs",
                              (const char *const *) ctx->created_dirs->pdata, ctx->created_dirs->len);
  if (ctx->firefox != NULL)
    g_key_file_set_string (ctx->state, STATE_GROUP, "firefox", ctx->firefox);
  data = g_key_file_to_data (ctx->state, NULL, NULL);
  return g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

/* Makes @path (without the root) and its parents, writing down those made. */
static gboolean
dirs_ensure (Ctx *ctx, const char *path, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (path + 1, "/", -1);
  g_autoptr(GString) cur = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *full = NULL;

      g_string_append_printf (cur, "/%s", parts[i]);
      full = in_root (ctx, cur->str);
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        continue;
      if (g_mkdir (full, 0755) < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot make %s: %s",
                       full, g_strerror (saved));
          return FALSE;
        }
      g_ptr_array_add (ctx->created_dirs, g_strdup (cur->str));
    }
  return TRUE;
}

static char *
json_text (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

/* Writes @node to @path in one rename, with @mode. */
static gboolean
json_write (const char *path, JsonNode *node, int mode, GError **error)
{
  g_autofree char *text = json_text (node);

  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

/* Reads @path as a JSON object; NULL with @error when it is no JSON object. */
static JsonNode *
json_read_object (const char *path, const char *contents, gsize length, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, contents, (gssize) length, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s: not a JSON object", path);
      return NULL;
    }
  return json_node_copy (root);
}

/* Our Firefox key: {"Enabled": false, "Locked": true}. */
static JsonNode *
firefox_ours (void)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  json_object_set_boolean_member (o, "Enabled", FALSE);
  json_object_set_boolean_member (o, "Locked", TRUE);
  json_node_take_object (node, o);
  return node;
}

/* The "policies" object of @root, made when missing (NULL when it is not an object). */
static JsonObject *
policies_of (JsonNode *root, gboolean make)
{
  JsonObject *o = json_node_get_object (root);
  JsonNode *p = json_object_get_member (o, "policies");

  if (p == NULL && make)
    {
      json_object_set_object_member (o, "policies", json_object_new ());
      p = json_object_get_member (o, "policies");
    }
  return p != NULL && JSON_NODE_HOLDS_OBJECT (p) ? json_node_get_object (p) : NULL;
}

static gboolean
firefox_install (Ctx *ctx, GError **error)
{
  g_autofree char *path = in_root (ctx, FIREFOX_FILE);
  g_autofree char *saved = in_root (ctx, FIREFOX_SAVED);
  g_autofree char *contents = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) ours = firefox_ours ();
  JsonObject *policies;
  JsonNode *theirs;
  gsize length = 0;
  GStatBuf st;

  if (g_stat (path, &st) < 0)
    {
      if (!dirs_ensure (ctx, FIREFOX_DIR, error))
        return FALSE;
      root = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (root, json_object_new ());
      json_object_set_member (policies_of (root, TRUE), "DNSOverHTTPS", json_node_copy (ours));
      if (!json_write (path, root, 0644, error))
        return FALSE;
      g_free (ctx->firefox);
      ctx->firefox = g_strdup ("created");
      g_print ("%s: written (DNS-over-HTTPS off, locked)\n", FIREFOX_FILE);
      return TRUE;
    }
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  root = json_read_object (FIREFOX_FILE, contents, length, error);
  if (root == NULL)
    {
      g_prefix_error (error, "the administrator's file is left as it is: ");
      return FALSE;
    }
  policies = policies_of (root, TRUE);
  if (policies == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: \"policies\" is not an object; the administrator's file is left as it is",
                   FIREFOX_FILE);
      return FALSE;
    }
  theirs = json_object_get_member (policies, "DNSOverHTTPS");
  if (theirs != NULL)
    {
      if (ctx->firefox == NULL)
        {
          ctx->firefox = g_strdup ("kept");
          if (json_node_equal (theirs, ours))
            g_print ("%s: already has DNS-over-HTTPS off and locked; left as it is\n", FIREFOX_FILE);
          else
            g_printerr ("trellis-browser-policy: %s sets DNSOverHTTPS itself: the administrator's "
                        "choice is kept; a child's Firefox may then resolve outside the filter\n",
                        FIREFOX_FILE);
        }
      return TRUE; /* ours, from an earlier install, or theirs */
    }
  /* The administrator's file as it is, to give back when we go. */
  if (ctx->firefox == NULL || !g_file_test (saved, G_FILE_TEST_EXISTS))
    {
      if (!g_file_set_contents_full (saved, contents, (gssize) length, G_FILE_SET_CONTENTS_CONSISTENT,
                                     (int) (st.st_mode & 0777), error))
        return FALSE;
    }
  json_object_set_member (policies, "DNSOverHTTPS", json_node_copy (ours));
  if (!json_write (path, root, (int) (st.st_mode & 0777), error))
    return FALSE;
  if (ctx->firefox == NULL || strcmp (ctx->firefox, "kept") == 0)
    {
      g_free (ctx->firefox);
      ctx->firefox = g_strdup ("merged");
    }
  g_print ("%s: DNS-over-HTTPS off and locked, added to the administrator's policies\n", FIREFOX_FILE);
  return TRUE;
}

static gboolean
firefox_remove (Ctx *ctx, GError **error)
{
  g_autofree char *path = in_root (ctx, FIREFOX_FILE);
  g_autofree char *saved = in_root (ctx, FIREFOX_SAVED);
  g_autofree char *contents = NULL;
  g_autofree char *saved_contents = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) ours = firefox_ours ();
  JsonObject *policies;
  JsonNode *key;
  gsize length = 0, saved_length = 0;
  GStatBuf st;

  if (ctx->firefox == NULL || strcmp (ctx->firefox, "kept") == 0)
    return TRUE; /* nothing of ours there */
  if (g_stat (path, &st) < 0 || !g_file_get_contents (path, &contents, &length, NULL))
    {
      g_unlink (saved);
      return TRUE; /* gone already */
    }
  root = json_read_object (FIREFOX_FILE, contents, length, error);
  if (root == NULL)
    {
      g_prefix_error (error, "left as it is: ");
      return FALSE;
    }
  policies = policies_of (root, FALSE);
  key = policies != NULL ? json_object_get_member (policies, "DNSOverHTTPS") : NULL;
  if (key != NULL && json_node_equal (key, ours))
    json_object_remove_member (policies, "DNSOverHTTPS");

  if (strcmp (ctx->firefox, "created") == 0)
    {
      if (policies != NULL && json_object_get_size (policies) == 0
          && json_object_get_size (json_node_get_object (root)) == 1)
        {
          g_unlink (path);
          g_print ("%s: removed\n", FIREFOX_FILE);
          return TRUE;
        }
      g_print ("%s: our key taken out; the policies added since stay\n", FIREFOX_FILE);
      return json_write (path, root, (int) (st.st_mode & 0777), error);
    }

  /* merged: the administrator's file back as it was, unless it changed */
  if (g_file_get_contents (saved, &saved_contents, &saved_length, NULL))
    {
      g_autoptr(JsonNode) before = json_read_object (FIREFOX_SAVED, saved_contents, saved_length, NULL);

      if (before != NULL && json_node_equal (before, root))
        {
          if (!g_file_set_contents_full (path, saved_contents, (gssize) saved_length,
                                         G_FILE_SET_CONTENTS_CONSISTENT, (int) (st.st_mode & 0777), error))
            return FALSE;
          g_unlink (saved);
          g_print ("%s: the administrator's file given back as it was\n", FIREFOX_FILE);
          return TRUE;
        }
    }
  g_unlink (saved);
  g_print ("%s: our key taken out; the administrator's changes since stay\n", FIREFOX_FILE);
  return json_write (path, root, (int) (st.st_mode & 0777), error);
}

static gboolean
chromium_install (Ctx *ctx, TrellisSafeSearchLevel safe_search, GError **error)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  json_node_take_object (root, o);
  json_object_set_string_member (o, "DnsOverHttpsMode", "off");
  if (safe_search != TRELLIS_SAFE_SEARCH_OFF)
    {
      json_object_set_boolean_member (o, "ForceGoogleSafeSearch", TRUE);
      /* 1: moderate, 2: strict */
      json_object_set_int_member (o, "ForceYouTubeRestrict", safe_search == TRELLIS_SAFE_SEARCH_STRICT ? 2 : 1);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (chromium_dirs); i++)
    {
      g_autofree char *dir = NULL;
      g_autofree char *path = NULL;

      if (!dirs_ensure (ctx, chromium_dirs[i], error))
        return FALSE;
      dir = in_root (ctx, chromium_dirs[i]);
      path = g_build_filename (dir, OUR_FILE, NULL);
      if (!json_write (path, root, 0644, error))
        return FALSE;
      g_print ("%s/%s: written (DNS-over-HTTPS off%s)\n", chromium_dirs[i], OUR_FILE,
               safe_search == TRELLIS_SAFE_SEARCH_OFF ? "" : ", SafeSearch and YouTube's restricted mode");
    }
  return TRUE;
}

static void
chromium_remove (Ctx *ctx)
{
  for (gsize i = 0; i < G_N_ELEMENTS (chromium_dirs); i++)
    {
      g_autofree char *dir = in_root (ctx, chromium_dirs[i]);
      g_autofree char *path = g_build_filename (dir, OUR_FILE, NULL);

      if (g_unlink (path) == 0)
        g_print ("%s/%s: removed\n", chromium_dirs[i], OUR_FILE);
    }
}

/* ---- --safe-search auto ------------------------------------------------------ */

static gboolean
can_log_in (const struct passwd *pw)
{
  const char *shell = pw->pw_shell != NULL ? pw->pw_shell : "";

  return pw->pw_uid >= 1000 && pw->pw_uid != 65534 && *shell != '\0'
         && !g_str_has_suffix (shell, "/nologin") && !g_str_has_suffix (shell, "/false");
}

/* The safe-search level every account that can log in has, the least
 * strict of them; OFF when one is no child's, or has none. */
static TrellisSafeSearchLevel
safe_search_auto (const char *household, const char *data_dir, const char *passwd_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TrellisPolicy) policy = trellis_policy_load_file (household, data_dir, &error);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_STRICT;
  struct passwd *pw;
  guint n = 0;
  FILE *f;

  if (policy == NULL)
    {
      g_printerr ("trellis-browser-policy: %s does not compile, SafeSearch left to the DNS filter:\n%s\n",
                  household, error->message);
      return TRELLIS_SAFE_SEARCH_OFF;
    }
  f = fopen (passwd_path, "re");
  if (f == NULL)
    {
      g_printerr ("trellis-browser-policy: cannot read %s: %s\n", passwd_path, g_strerror (errno));
      return TRELLIS_SAFE_SEARCH_OFF;
    }
  while ((pw = fgetpwent (f)) != NULL)
    {
      const TrellisChild *child;
      TrellisSafeSearchLevel l = TRELLIS_SAFE_SEARCH_OFF;

      if (!can_log_in (pw))
        continue;
      n++;
      child = trellis_policy_find_child_by_account (policy, pw->pw_name);
      if (child == NULL || trellis_child_get_profile (policy, child, now, NULL, &l, NULL) == NULL
          || l == TRELLIS_SAFE_SEARCH_OFF)
        {
          g_print ("SafeSearch left to the DNS filter: the account %s can log in and %s\n", pw->pw_name,
                   child == NULL ? "is no child's" : "has no safe search");
          fclose (f);
          return TRELLIS_SAFE_SEARCH_OFF;
        }
      level = MIN (level, l);
    }
  fclose (f);
  if (n == 0)
    {
      g_print ("SafeSearch left to the DNS filter: no account can log in\n");
      return TRELLIS_SAFE_SEARCH_OFF;
    }
  g_print ("SafeSearch %s in the browsers: every account that can log in is a child's with safe search\n",
           trellis_safe_search_level_to_string (level));
  return level;
}

/* ---- main -------------------------------------------------------------------- */

static void
rmdir_created (Ctx *ctx)
{
  for (guint i = ctx->created_dirs->len; i > 0; i--)
    {
      g_autofree char *full = in_root (ctx, ctx->created_dirs->pdata[i - 1]);

      g_rmdir (full); /* only when empty: someone else's files keep it */
    }
}

int
main (int argc, char *argv[])
{
  g_autofree char *root = NULL;
  g_autofree char *safe_search = NULL;
  g_autofree char *household = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *passwd = NULL;
  GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "Work on DIR as the root (default /)", "DIR" },
    { "safe-search", 0, 0, G_OPTION_ARG_STRING, &safe_search,
      "install: force SafeSearch in Chromium and Chrome: off (default), moderate, strict, or auto "
      "(when every account that can log in is a child's with safe search)",
      "LEVEL" },
    { "household", 0, 0, G_OPTION_ARG_FILENAME, &household,
      "With --safe-search auto: the household file (default /etc/trellis/household.conf)", "FILE" },
    { "data-dir", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &data_dir, "Trellis's shipped data", "DIR" },
    { "passwd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &passwd, "Tests: the passwd file", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("install|remove — the browsers' policies that keep them on the family's filter");
  g_autoptr(GError) error = NULL;
  TrellisSafeSearchLevel level = TRELLIS_SAFE_SEARCH_OFF;
  Ctx ctx = { 0 };
  gboolean install, ok = TRUE;
  int status = 0;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("trellis-browser-policy: %s\n", error->message);
      return 2;
    }
  if (argc != 2 || (strcmp (argv[1], "install") != 0 && strcmp (argv[1], "remove") != 0))
    {
      g_printerr ("usage: trellis-browser-policy install|remove [--root DIR] [--safe-search LEVEL]\n");
      return 2;
    }
  install = strcmp (argv[1], "install") == 0;
  if (safe_search != NULL && strcmp (safe_search, "auto") != 0
      && !trellis_safe_search_level_from_string (safe_search, &level))
    {
      g_printerr ("trellis-browser-policy: --safe-search is off, moderate, strict or auto, not “%s”\n", safe_search);
      return 2;
    }
  ctx.root = g_strdup (root != NULL && strcmp (root, "/") != 0 ? root : "");
  if (*ctx.root != '\0' && !g_file_test (ctx.root, G_FILE_TEST_IS_DIR))
    {
      g_printerr ("trellis-browser-policy: %s is not a directory\n", ctx.root);
      return 2;
    }
  state_load (&ctx);

  if (install)
    {
      if (safe_search != NULL && strcmp (safe_search, "auto") == 0)
        {
          g_autofree char *hh = household != NULL ? g_strdup (household)
                                                  : in_root (&ctx, "/etc/trellis/household.conf");
          g_autofree char *pw = passwd != NULL ? g_strdup (passwd) : in_root (&ctx, "/etc/passwd");

          if (data_dir == NULL)
            data_dir = trellis_data_dir_default (NULL);
          level = safe_search_auto (hh, data_dir, pw);
        }
      if (!dirs_ensure (&ctx, "/etc/trellis", &error))
        {
          g_printerr ("trellis-browser-policy: %s\n", error->message);
          return 1;
        }
      if (!firefox_install (&ctx, &error))
        {
          g_printerr ("trellis-browser-policy: %s\n", error->message);
          g_clear_error (&error);
          status = 1;
        }
      if (!chromium_install (&ctx, level, &error))
        {
          g_printerr ("trellis-browser-policy: %s\n", error->message);
          g_clear_error (&error);
          status = 1;
        }
      ok = state_save (&ctx, &error);
    }
  else
    {
      g_autofree char *state_path = in_root (&ctx, STATE_FILE);

      if (!firefox_remove (&ctx, &error))
        {
          g_printerr ("trellis-browser-policy: %s\n", error->message);
          g_clear_error (&error);
          status = 1;
        }
      chromium_remove (&ctx);
      g_unlink (state_path);
      rmdir_created (&ctx);
    }
  if (!ok)
    {
      g_printerr ("trellis-browser-policy: cannot write %s: %s\n", STATE_FILE, error->message);
      status = 1;
    }
  g_clear_pointer (&ctx.state, g_key_file_unref);
  g_clear_pointer (&ctx.created_dirs, g_ptr_array_unref);
  g_free (ctx.firefox);
  g_free (ctx.root);
  return status;
}
