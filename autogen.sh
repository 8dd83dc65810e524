#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
set -e
cd "$(dirname "$0")"
autoreconf --force --install --verbose >/dev/null
