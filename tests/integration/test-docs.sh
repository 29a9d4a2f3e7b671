# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2153 # TOP, T come from lib.sh; MAN_DIR, AGENT_BIN, CTL_BIN from the Makefile
# What a user of a C daemon expects around it: man pages that build, render without warnings and document every
# option `--help` lists; an SPDX line in every source file; a short README whose links lead somewhere; and
# `make install` putting the pages and the shell completion in place.

DOCS_MAN_DIR=${MAN_DIR:-$TOP/build/man}
DOCS_PAGES=(force12-agent.8 force12ctl.1 force12-agent.json.5)

# Renders PAGE as a reader sees it (ASCII, 80 columns); groff's warnings go to stderr.
man_render() {
	LC_ALL=C MANWIDTH=80 man --warnings -l "$1" | col -b
}

# The options a text defines: the leading "-x, --name ARG" part of the lines that start with one (the `--help`
# layout, and a man page's OPTIONS terms), one option a line.
defined_options() {
	grep -E '^[[:space:]]+-' | sed -E 's/^[[:space:]]+//; s/(  |\t).*//' |
		grep -oE '(^|[ ,[])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[ ,[]//' | sort -u
}

# undocumented HELP-TEXT PAGE-TEXT: the options HELP-TEXT defines that PAGE-TEXT does not.
undocumented() {
	comm -23 <(defined_options <<<"$1") <(defined_options <<<"$2")
}

test_docs_man_pages_render() {
	local p out
	for p in "${DOCS_PAGES[@]}"; do
		[ -s "$DOCS_MAN_DIR/$p" ] || fail "$DOCS_MAN_DIR/$p was not built (make builds man/$p.scd with scdoc)"
		[ "$DOCS_MAN_DIR/$p" -nt "$TOP/man/$p.scd" ] || fail "$DOCS_MAN_DIR/$p is older than its source"
		man_render "$DOCS_MAN_DIR/$p" >"$T/page.txt" 2>"$T/page.err" || fail "man -l $p failed: $(cat "$T/page.err")"
		[ ! -s "$T/page.err" ] || fail "man -l $p warns: $(cat "$T/page.err")"
		out=$(cat "$T/page.txt")
		grep -q '^NAME' <<<"$out" || fail "$p has no NAME section"
		grep -q "force12 $(cat "$TOP/VERSION")" <<<"$out" || fail "$p does not carry the version of VERSION"
		grep -q '@VERSION@' <<<"$out" && fail "$p still says @VERSION@"
	done
	# The same pages from the sources, so that a source scdoc refuses fails here too.
	for p in "$TOP"/man/*.scd; do
		scdoc <"$p" >/dev/null 2>"$T/scdoc.err" || fail "scdoc refuses $p: $(cat "$T/scdoc.err")"
	done
	man_render "$DOCS_MAN_DIR/force12-agent.8" | head -n 12 >&2
}

# Every option of `force12-agent --help`, `force12ctl --help` and each force12ctl command's --help is defined
# in the program's page. The check itself is checked first: an option added to the help without its doc fails.
test_docs_man_pages_list_every_option() {
	local help page missing c
	help=$("$AGENT_BIN" --help)
	page=$(man_render "$DOCS_MAN_DIR/force12-agent.8" 2>/dev/null)
	[ "$(defined_options <<<"$help" | wc -l)" -ge 10 ] || fail "found too few options in force12-agent --help"
	missing=$(undocumented "$help"$'\n'"      --frobnicate N   a new option" "$page")
	[ "$missing" = --frobnicate ] || fail "the check does not see an undocumented option (it found: '$missing')"

	missing=$(undocumented "$help" "$page")
	[ -z "$missing" ] || fail "force12-agent(8) lacks options of --help: $(echo "$missing" | tr '\n' ' ')"

	local ctl=${CTL_BIN:-$TOP/build/force12ctl}
	help=$("$ctl" --help)
	for c in status get set containers watch metrics; do
		help+=$'\n'$("$ctl" "$c" --help)
	done
	page=$(man_render "$DOCS_MAN_DIR/force12ctl.1" 2>/dev/null)
	missing=$(undocumented "$help" "$page")
	[ -z "$missing" ] || fail "force12ctl(1) lacks options of --help: $(echo "$missing" | tr '\n' ' ')"
	# Every command of force12ctl --help has its entry under COMMANDS.
	while read -r c; do
		grep -qE "^ {7}$c( |$)" <<<"$page" || fail "force12ctl(1) does not describe the command $c"
	done < <(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF {print $1}')
}

# The source files that must carry an SPDX line, by kind: C (.c, .h), shell (.sh, .bash, and any file whose
# first line is a shell or python shebang), make (Makefile, .mk), python (.py), JavaScript (.js, .mjs), HTML
# (.html), scdoc (.scd), gnuplot (.gp), zsh completion (#compdef), systemd units (units/*.in, .service, .socket)
# and the Vagrantfile. Not data (JSON, CSV, fuzz corpora and dictionaries), prose (.md), generated boot configs,
# lock files, LICENSE, VERSION.
spdx_sources() {
	local f
	(cd "$TOP" && { git ls-files 2>/dev/null || find . -path ./build -prune -o -path ./.git -prune -o -type f -print; }) |
		sed 's|^\./||' | while read -r f; do
		case $f in
		build/* | */node_modules/* | tests/fuzz/corpus/*) continue ;;
		*.c | *.h | *.sh | *.bash | Makefile | *.mk | *.py | *.js | *.mjs | *.html | *.scd | *.gp) echo "$f" ;;
		units/*.in | *.service | *.socket | Vagrantfile) echo "$f" ;;
		*) head -n 1 "$TOP/$f" 2>/dev/null | grep -qE '^(#!.*(sh|bash|python3?)( |$)|#compdef)' && echo "$f" ;;
		esac
	done
}

test_docs_spdx_every_source_file() {
	local f n=0 missing=()
	while read -r f; do
		n=$((n + 1))
		head -n 5 "$TOP/$f" | grep -qE 'SPDX-License-Identifier: Apache-2\.0' || missing+=("$f")
	done < <(spdx_sources)
	[ "$n" -ge 50 ] || fail "found only $n source files to check under $TOP"
	if ! grep -q 'Apache License' "$TOP/LICENSE" || ! grep -q 'Version 2.0' "$TOP/LICENSE"; then
		fail "LICENSE is not the Apache License 2.0"
	fi
	figure spdx_files_checked "$n"
	[ ${#missing[@]} -eq 0 ] ||
		fail "${#missing[@]} of $n source files lack 'SPDX-License-Identifier: Apache-2.0' in their first 5 lines: ${missing[*]}"
}

# README.md stays short, and every relative link of README.md, docs/ and bench/README.md leads to a file.
test_docs_readme_and_links() {
	local size f link target broken=()
	size=$(wc -c <"$TOP/README.md")
	figure readme_bytes "$size"
	[ "$size" -lt 8192 ] || fail "README.md is $size bytes, over 8 KB: move the detail into docs/"
	head -n 20 "$TOP/README.md" | grep -q '^make demo' || fail "README.md does not start with make demo"
	head -n 20 "$TOP/README.md" | grep -q '^make check' || fail "README.md does not start with make check"
	for f in "$TOP"/README.md "$TOP"/docs/*.md "$TOP"/bench/README.md; do
		[ -f "$f" ] || continue
		while read -r link; do
			link=${link%%#*}
			[ -n "$link" ] || continue
			target=$(dirname "$f")/$link
			[ -e "$target" ] || broken+=("${f#"$TOP"/} -> $link")
		done < <(grep -oE '\]\([^)]+\)' "$f" | sed -E 's/^\]\(//; s/\)$//' | { grep -vE '^[a-z]+:' || true; })
	done
	[ ${#broken[@]} -eq 0 ] || fail "links that lead nowhere: ${broken[*]}"
}

# make install (its install-docs part) puts the man pages where man finds them and the completion where bash
# and zsh load it from, under PREFIX and DESTDIR.
test_docs_install() {
	local root=$T/root build
	build=$(dirname "$DOCS_MAN_DIR")
	make -s -C "$TOP" BUILD="$build" install-docs DESTDIR="$root" PREFIX=/usr >"$T/make.out" 2>&1 ||
		fail "make install-docs failed: $(cat "$T/make.out")"
	local f
	for f in share/man/man8/force12-agent.8 share/man/man1/force12ctl.1 share/man/man5/force12-agent.json.5 \
		share/bash-completion/completions/force12ctl share/zsh/site-functions/_force12ctl; do
		[ -s "$root/usr/$f" ] || fail "make install-docs did not install /usr/$f"
	done
	MANPATH="$root/usr/share/man" LC_ALL=C MANWIDTH=80 man force12ctl 2>/dev/null | grep -q '^NAME' ||
		fail "man does not find force12ctl(1) under the installed MANPATH"
}
