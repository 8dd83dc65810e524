/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "policy/trellis-policy.h"
