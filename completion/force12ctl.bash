# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2207 # compgen output is one word a line, as bash completion expects
# bash completion for force12ctl: options, commands, each command's options, and after `set` the app names
# the agent reports (`force12ctl get`, asked on the socket or URL given on the line so far).

_force12ctl_apps() {
	local conn=("$@") json
	json=$(force12ctl "${conn[@]}" get 2>/dev/null) || return 0
	# {"priority1":3,"priority2":6}: the keys are the app names.
	printf '%s\n' "$json" | grep -oE '"[^"]+"[[:space:]]*:' | sed -E 's/^"//; s/"[[:space:]]*:$//'
}

_force12ctl() {
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n = || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local commands="status get set containers watch metrics help"
	local global_opts="--socket --url --token-file --help --version"

	case $prev in
	--socket | --token-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--url | --interval | --count)
		return
		;;
	esac

	# The command is the first word that is not an option or an option's value; the connection options seen
	# before it are kept for asking the agent.
	local i command="" conn=()
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | --url | --token-file)
			conn+=("${words[i]}" "${words[i + 1]}")
			i=$((i + 1))
			;;
		--socket=* | --url=* | --token-file=*) conn+=("${words[i]}") ;;
		-*) ;;
		*)
			command=${words[i]}
			break
			;;
		esac
	done

	if [ -z "$command" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	case $command in
	get) COMPREPLY=($(compgen -W "--pretty --help" -- "$cur")) ;;
	watch) COMPREPLY=($(compgen -W "--interval --count --help" -- "$cur")) ;;
	help) [ "$i" -eq $((cword - 1)) ] && COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	set)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--pretty --help" -- "$cur"))
		elif [[ $cur != *=* ]]; then
			local apps
			apps=$(_force12ctl_apps "${conn[@]}")
			COMPREPLY=($(compgen -W "$apps" -S = -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi
		;;
	*) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
	esac
}
complete -F _force12ctl force12ctl
