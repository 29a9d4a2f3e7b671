# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# A queue consumer (busybox sh): takes one job at a time off the Redis list; a job takes 0.5 s.
trap 'exit 0' TERM; while :; do r=$(printf 'RPOP @KEY@\r\n' | nc 127.0.0.1 @REDIS_PORT@ 2>/dev/null); case "$r" in '$'[0-9]*) sleep 0.5 & wait $! ;; *) sleep 0.2 & wait $! ;; esac; done
