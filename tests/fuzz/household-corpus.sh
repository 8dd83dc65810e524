#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Replays the household fuzz corpus through its target (built without libFuzzer).
exec "$(dirname "$0")/corpus-replay.sh" household
