#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Replays the dns-packet fuzz corpus through its target (built without libFuzzer).
exec "$(dirname "$0")/corpus-replay.sh" dns-packet
