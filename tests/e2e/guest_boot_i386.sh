#!/usr/bin/env bash
# The guest boot test for the i386 guest (see guest_boot.sh).
exec bash "$(dirname "$0")/guest_boot.sh" i386
