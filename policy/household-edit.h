/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * household-edit.h — changing the text of a household file the way a
 * parent would with an editor: line by line, so that every comment, blank
 * line, spacing and the order of sections and keys stay as the parent left
 * them, and only the lines of the change differ.
 *
 * No I/O: the text comes in and goes out as bytes.  Whether the result
 * compiles is for trellis_policy_load_data() to say (the daemon asks it
 * before it writes anything); this file refuses what could make the text
 * mean something other than the change (a value with a newline, a "#", a
 * "\", a ";" in a list item, a name with "[", "]" or "=").
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TRELLIS_HOUSEHOLD_EDIT_ERROR (trellis_household_edit_error_quark ())
GQuark trellis_household_edit_error_quark (void);

typedef enum {
  TRELLIS_HOUSEHOLD_EDIT_ERROR_SYNTAX,    /* the text cannot be read line by line: "FILE:LINE:COL: ..." */
  TRELLIS_HOUSEHOLD_EDIT_ERROR_INVALID,   /* a name, key or value that cannot be written */
  TRELLIS_HOUSEHOLD_EDIT_ERROR_NOT_FOUND, /* no such child */
  TRELLIS_HOUSEHOLD_EDIT_ERROR_EXISTS,    /* a child of that name is there already */
} TrellisHouseholdEditError;

/* What a parent asks for (trellis child add/remove/set, allow, deny). */
typedef enum {
  TRELLIS_HOUSEHOLD_ADD_CHILD,    /* [child CHILD] with age= or birth= (KEY, VALUE) and accounts = ACCOUNT */
  TRELLIS_HOUSEHOLD_REMOVE_CHILD, /* the section [child CHILD] */
  TRELLIS_HOUSEHOLD_SET_CHILD,    /* KEY = VALUE in [child CHILD]; VALUE "" removes KEY */
  TRELLIS_HOUSEHOLD_ALLOW,        /* VALUE (a domain) in allow=, out of deny= */
  TRELLIS_HOUSEHOLD_DENY,         /* VALUE (a domain) in deny=, out of allow= */
} TrellisHouseholdOp;

typedef struct {
  TrellisHouseholdOp op;
  const char *child;   /* the child's name, as in [child NAME] */
  const char *key;     /* (nullable) ADD_CHILD: "age" or "birth"; SET_CHILD: the key */
  const char *value;   /* (nullable) ADD_CHILD, SET_CHILD: the value; ALLOW, DENY: the domain */
  const char *account; /* (nullable) ADD_CHILD: the child's Linux account */
} TrellisHouseholdChange;

/* The keys SET_CHILD may change. */
extern const char *const trellis_household_settable_keys[];

typedef struct _TrellisHouseholdEdit TrellisHouseholdEdit;

/**
 * trellis_household_edit_new:
 * @data: the household file's text, @length bytes
 * @file: its name in messages
 *
 * Reads @data with the key-file scan (policy/lines.h).  A text the scan
 * refuses cannot be edited line by line: TRELLIS_HOUSEHOLD_EDIT_ERROR_SYNTAX
 * with the scan's "FILE:LINE:COL: message" lines.
 * Returns: (transfer full) (nullable)
 */
TrellisHouseholdEdit *trellis_household_edit_new (const char *data,
                                                  gsize length,
                                                  const char *file,
                                                  GError **error);

void trellis_household_edit_free (TrellisHouseholdEdit *edit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TrellisHouseholdEdit, trellis_household_edit_free)

/**
 * trellis_household_edit_apply:
 * Makes @change in the text.  On failure the text is as it was.
 * A change that changes nothing (a name already in allow=) succeeds.
 */
gboolean trellis_household_edit_apply (TrellisHouseholdEdit *edit,
                                       const TrellisHouseholdChange *change,
                                       GError **error);

/** trellis_household_edit_get_text: (transfer none) the text now, @ret_length bytes. */
const char *trellis_household_edit_get_text (TrellisHouseholdEdit *edit,
                                             gsize *ret_length);

/** trellis_household_child_name_is_writable: a name `trellis child add` may give: letters, digits, "-", "_", ".", at most 64 bytes. */
gboolean trellis_household_child_name_is_writable (const char *name);

G_END_DECLS
