# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2153 # T, NODE, TOP come from lib.sh
# Cluster mode against a real etcd over TLS (client certificates required) with auth enabled: certificates made
# here with openssl (a CA, etcd's server certificate, a client certificate, an expired one, and a second CA), a
# user whose role reads and writes only the /force12/ prefix. The agent registers and follows the totals, also
# after its auth token expired; a wrong CA, an expired client certificate and a wrong password each give a clear
# error (log and /v1/status.cluster) and no change on the node: nothing starts or stops.

b64() { printf '%s' "$1" | base64 -w0; }

# A CA, etcd's certificate for 127.0.0.1, a client certificate, an expired client certificate, another CA.
make_certs() {
	local d=$T/pki
	mkdir -p "$d/ca-db"
	cd "$d" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=force12-test-ca
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=etcd-test-server
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
		-out server.pem
	# No CommonName: etcd 3.4's JSON gateway refuses a client certificate with one (HTTP 400, "CommonName of
	# client sending a request against gateway will be ignored"); the token says who the client is.
	openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /O=force12-tls-client
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext \
		-out client.pem
	# Expired: valid for one day in 2020, signed by the right CA (openssl ca takes explicit dates).
	: >ca-db/index.txt
	echo 1000 >ca-db/serial
	cat >ca.cnf <<-EOF
		[ca]
		default_ca = test
		[test]
		database = $d/ca-db/index.txt
		serial = $d/ca-db/serial
		new_certs_dir = $d/ca-db
		default_md = sha256
		policy = any
		copy_extensions = none
		x509_extensions = ext
		[any]
		organizationName = supplied
		[ext]
		extendedKeyUsage = clientAuth
	EOF
	openssl req -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr -subj /O=force12-tls-client
	openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
		-startdate 20200101000000Z -enddate 20200102000000Z -notext
	cd - >/dev/null || return 1
}

ETCD_PORT=
ETCD_PEER_PORT=
ETCD_PID=
ROOT_PW=root-pw-$$
USER_PW=force12-pw-$$

ecurl() { # PATH JSON [TOKEN]: a call to the test's etcd with the good client certificate
	local auth=()
	[ -n "${3:-}" ] && auth=(-H "Authorization: $3")
	curl -s --cacert "$T/pki/ca.pem" --cert "$T/pki/client.pem" --key "$T/pki/client.key" "${auth[@]}" \
		"https://127.0.0.1:$ETCD_PORT$1" -d "$2"
}

root_token() {
	ecurl /v3/auth/authenticate "{\"name\": \"root\", \"password\": \"$ROOT_PW\"}" | jq -r .token
}

put_totals() { # JSON, as root
	local out
	out=$(ecurl /v3/kv/put "{\"key\": \"$(b64 /force12/targets)\", \"value\": \"$(b64 "$1")\"}" "$(root_token)")
	jq -e '.header.revision' <<<"$out" >/dev/null || fail "put /force12/targets: $out"
}

etcd_run() { # on $T/etcd/data: the users, roles and auth setting stay across runs
	local d=$T/etcd
	# A short token TTL: a token the agent keeps is soon stale (etcd 3.4: --auth-token-ttl).
	ETCD_UNSUPPORTED_ARCH=$(dpkg --print-architecture 2>/dev/null | sed 's/amd64//') \
		etcd --name "tls-$NODE" --data-dir "$d/data" \
		--listen-client-urls "https://127.0.0.1:$ETCD_PORT" --advertise-client-urls "https://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "tls-$NODE=http://127.0.0.1:$ETCD_PEER_PORT" \
		--cert-file "$T/pki/server.pem" --key-file "$T/pki/server.key" --trusted-ca-file "$T/pki/ca.pem" \
		--client-cert-auth --auth-token simple --auth-token-ttl 3 >>"$d/etcd.log" 2>&1 &
	ETCD_PID=$!
	echo "$ETCD_PID" >>"$T/pids"
	wait_until 30 "etcd over TLS" sh -c "curl -sf --cacert $T/pki/ca.pem --cert $T/pki/client.pem --key $T/pki/client.key https://127.0.0.1:$ETCD_PORT/health"
}

start_etcd_tls() {
	local d=$T/etcd
	ETCD_PORT=$(free_port)
	ETCD_PEER_PORT=$(free_port)
	mkdir -p "$d"
	etcd_run
	# Auth: root, and force12 with a role that reads and writes /force12/ only ([/force12/, /force120)).
	local call
	for call in \
		"/v3/auth/user/add {\"name\": \"root\", \"password\": \"$ROOT_PW\"}" \
		"/v3/auth/role/add {\"name\": \"root\"}" \
		"/v3/auth/user/grant {\"user\": \"root\", \"role\": \"root\"}" \
		"/v3/auth/user/add {\"name\": \"force12\", \"password\": \"$USER_PW\"}" \
		"/v3/auth/role/add {\"name\": \"force12-nodes\"}" \
		"/v3/auth/role/grant {\"name\": \"force12-nodes\", \"perm\": {\"permType\": \"READWRITE\", \"key\": \"$(b64 /force12/)\", \"range_end\": \"$(b64 /force120)\"}}" \
		"/v3/auth/user/grant {\"user\": \"force12\", \"role\": \"force12-nodes\"}" \
		"/v3/auth/enable {}"; do
		ecurl "${call%% *}" "${call#* }" >>"$d/setup.log"
		echo >>"$d/setup.log"
	done
	[ "$(root_token)" != null ] || fail "etcd auth setup: $(cat "$d/setup.log")"
	# The role's limit holds: force12 cannot write outside /force12/.
	local tok out
	tok=$(ecurl /v3/auth/authenticate "{\"name\": \"force12\", \"password\": \"$USER_PW\"}" | jq -r .token)
	out=$(ecurl /v3/kv/put "{\"key\": \"$(b64 /elsewhere)\", \"value\": \"$(b64 x)\"}" "$tok")
	[[ $out == *"permission denied"* ]] || fail "the force12 role is not limited to /force12/: $out"
}

etcd_tls_cleanup() {
	local rc=$?
	set +e
	[ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null && wait "$ETCD_PID" 2>/dev/null
	(exit "$rc")
	cleanup
}

# The engine's container events for this node since NS: start, die, stop, kill, create, destroy.
changes_since() { # NS
	events_since "$1" | awk -F'\t' '$2 ~ /^(start|die|stop|kill|create|destroy)$/ { print $2, $6 }'
}

cluster_error_matches() { # REGEX over /v1/status .cluster.error
	api GET /v1/status | json_check ".cluster.error // \"\" | test(\"$1\"; \"i\")"
}

# A bad setting: the agent (same node, same state dir) reports ERROR-REGEX and changes nothing on the node.
bad_setting_changes_nothing() { # WHAT ERROR-REGEX agent-args...
	local what=$1 re=$2 since
	shift 2
	since=$(date +%s%N)
	start_agent --demand "etcd://https://127.0.0.1:$ETCD_PORT" --lease-ttl 6 "$@"
	wait_until 20 "$what to be reported in /v1/status.cluster" cluster_error_matches "$re"
	grep -Eiq "etcd at https://127.0.0.1:$ETCD_PORT: .*($re)" "$T/agent.log" ||
		fail "$what: no clear line in the log"
	[ "$(status_field .cluster.reachable)" = false ] || fail "$what: the status says etcd is reachable"
	sleep 3
	[ -z "$(changes_since "$since")" ] || fail "$what changed the node: $(changes_since "$since")"
	is_settled priority1=2 priority2=1 || fail "$what: the containers are not as they were"
	figure "etcd_tls_error_$(tr ' ' _ <<<"$what")" "$(status_field .cluster.error)"
	stop_agent
}

test_etcd_tls_auth_prefix_role_and_bad_credentials() {
	command -v etcd >/dev/null || fail "etcd not installed (apt-get install etcd-server, or scripts/setup-host.sh --test)"
	command -v openssl >/dev/null || fail "openssl not installed"
	"$AGENT_BIN" --help | grep -q -- --etcd-cacert ||
		skip "the agent has no --etcd-cacert: the main.c, demand.c and http-client diffs of #15's etcd part are not in"
	trap etcd_tls_cleanup EXIT
	make_certs >"$T/pki.log" 2>&1 || fail "openssl: $(tail -n 5 "$T/pki.log")"
	start_etcd_tls
	echo "$USER_PW" >"$T/etcd-password"
	echo "not-the-password" >"$T/wrong-password"
	chmod 600 "$T/etcd-password" "$T/wrong-password"
	local pki=$T/pki good=() t0
	good=(--etcd-cacert "$pki/ca.pem" --etcd-cert "$pki/client.pem" --etcd-key "$pki/client.key"
		--etcd-user force12 --etcd-password-file "$T/etcd-password")

	# Plain http to a TLS port, or certificates with an http:// endpoint: refused at start, exit 2.
	local rc=0
	"$AGENT_BIN" --node-id "$NODE" --api-socket "$T/x.sock" --state-dir "$T/x" --demand "etcd://127.0.0.1:$ETCD_PORT" \
		"${good[@]}" >"$T/refused.log" 2>&1 || rc=$?
	{ [ "$rc" = 2 ] && grep -q 'every endpoint is https://' "$T/refused.log"; } ||
		fail "certificates with a plain endpoint were not refused (exit $rc): $(cat "$T/refused.log")"

	# The good settings: registers under /force12/nodes/, follows the totals.
	t0=$(date +%s%N)
	put_totals '{"priority1": 2, "priority2": 1}'
	start_agent --demand "etcd://https://127.0.0.1:$ETCD_PORT" --lease-ttl 6 "${good[@]}"
	wait_settled 60 priority1=2 priority2=1
	figure etcd_tls_start_to_settled_ms "$((($(date +%s%N) - t0) / 1000000))"
	status_field .cluster | json_check '.reachable == true and (.members | map(.id)) == ["'"$NODE"'"] and .error == null' ||
		fail "the status over TLS: $(status_field .cluster)"
	ecurl /v3/kv/range "{\"key\": \"$(b64 "/force12/nodes/$NODE")\"}" "$(root_token)" | jq -e '.count == "1"' >/dev/null ||
		fail "the node is not registered in etcd"
	# etcd restarts and forgets its tokens: the agent's next call with the old one is answered "invalid auth
	# token"; it authenticates again and follows, and nothing changes on the node meanwhile.
	kill "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null || true
	etcd_run
	wait_until 30 "the agent to authenticate again" grep -q 'auth token of force12 is no longer valid; authenticating again' "$T/agent.log"
	wait_until 30 "the agent to reach etcd again" status_is '.cluster.reachable == true'
	is_settled priority1=2 priority2=1 || fail "the etcd restart changed the containers"
	put_totals '{"priority1": 3, "priority2": 0}'
	wait_settled 60 priority1=3 priority2=0
	figure etcd_tls_token_renewals "$(grep -c 'authenticating again' "$T/agent.log")"
	put_totals '{"priority1": 2, "priority2": 1}'
	wait_settled 60 priority1=2 priority2=1
	stop_agent

	bad_setting_changes_nothing "a wrong CA" "certificate" \
		--etcd-cacert "$pki/other-ca.pem" --etcd-cert "$pki/client.pem" --etcd-key "$pki/client.key" \
		--etcd-user force12 --etcd-password-file "$T/etcd-password"
	bad_setting_changes_nothing "an expired certificate" "client certificate $pki/expired.pem expired at 2020-01-02T00:00:00Z" \
		--etcd-cacert "$pki/ca.pem" --etcd-cert "$pki/expired.pem" --etcd-key "$pki/expired.key" \
		--etcd-user force12 --etcd-password-file "$T/etcd-password"
	bad_setting_changes_nothing "a wrong password" "authentication as force12: .*(invalid|failed)" \
		--etcd-cacert "$pki/ca.pem" --etcd-cert "$pki/client.pem" --etcd-key "$pki/client.key" \
		--etcd-user force12 --etcd-password-file "$T/wrong-password"

	# And the good settings again: the same node follows a new total.
	put_totals '{"priority1": 1, "priority2": 1}'
	start_agent --demand "etcd://https://127.0.0.1:$ETCD_PORT" --lease-ttl 6 "${good[@]}"
	wait_settled 60 priority1=1 priority2=1
}
