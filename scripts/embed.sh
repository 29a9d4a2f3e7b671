#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# embed.sh NAME FILE: prints a C file defining `const char NAME[]` (NUL-terminated) and `NAME_len`
# holding FILE's bytes, so that a page ships inside the binary.
set -euo pipefail
name=$1 file=$2
echo "/* Generated from $file by scripts/embed.sh; do not edit. */"
echo "#include <stddef.h>"
echo "const char ${name}[] = {"
od -An -v -tx1 "$file" | sed -E 's/ ([0-9a-f]{2})/0x\1,/g; s/^/\t/'
echo "0x00};"
echo "const size_t ${name}_len = sizeof(${name}) - 1;"
