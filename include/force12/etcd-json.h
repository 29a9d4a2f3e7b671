// SPDX-License-Identifier: Apache-2.0
/* The etcd v3 JSON gateway's answers and request bodies (range, put, lease grant and keepalive, watch), with
 * their base64 keys and values. Pure: no I/O. Every answer comes from the network and is treated as hostile:
 * bounded sizes, strict types, -EPROTO with nothing written on anything else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "force12/macro.h"

#define ETCD_ANSWER_MAX (4u * 1024 * 1024) /* a range or a watch message */
#define ETCD_KEY_MAX    1024
#define ETCD_VALUE_MAX  (64u * 1024)
#define ETCD_KVS_MAX    4096
#define ETCD_TOKEN_MAX  4096 /* a simple token is 16 characters plus an index; a JWT a few hundred */

typedef struct EtcdKv {
	char *key;   /* decoded, NUL-terminated (keys with a NUL are refused) */
	char *value; /* decoded, NUL-terminated; value_len bytes before it; "" for a delete */
	size_t value_len;
	int64_t mod_revision;
	bool deleted; /* a watch DELETE event */
} EtcdKv;

typedef struct EtcdAnswer {
	int64_t revision; /* header.revision, 0 when absent */
	EtcdKv *kvs;      /* range: kvs; watch: the events in order */
	size_t n_kvs;
	/* watch */
	bool created, canceled;
	int64_t compact_revision; /* > 0: the start revision was compacted away */
	/* lease grant and keepalive */
	int64_t lease_id, ttl;
} EtcdAnswer;

void etcd_answer_done(EtcdAnswer *a);

/* A range answer: header.revision and the kvs. */
int etcd_parse_range(const char *text, size_t len, EtcdAnswer *ret);
/* One message of a watch stream ({"result": {...}}, one line). */
int etcd_parse_watch(const char *text, size_t len, EtcdAnswer *ret);
/* A lease grant ({"ID", "TTL"}) or keepalive ({"result": {"ID", "TTL"}}) answer. TTL 0 or absent on a keepalive:
 * the lease is gone. */
int etcd_parse_lease(const char *text, size_t len, EtcdAnswer *ret);
/* The gateway's error text ({"error": "...", "message": "..."}), one printable line of at most size-1 bytes, or
 * the empty string. */
void etcd_error_text(const char *text, size_t len, char *buf, size_t size);

/* Request bodies (malloc'ed JSON, NULL on ENOMEM). prefix is a key prefix (range_end = prefix + 1). */
char *etcd_body_range_prefix(const char *prefix);
char *etcd_body_watch_prefix(const char *prefix, int64_t start_revision);
char *etcd_body_put(const char *key, const char *value, int64_t lease_id);
char *etcd_body_grant(int64_t ttl);
char *etcd_body_keepalive(int64_t lease_id);
/* {"name", "password"} for /v3/auth/authenticate. */
char *etcd_body_authenticate(const char *user, const char *password);
/* /v3/auth/authenticate's answer: the token (printable ASCII, at most ETCD_TOKEN_MAX bytes), malloc'ed. */
int etcd_parse_token(const char *text, size_t len, char **ret);

/* The validity of the first certificate of a PEM text (seconds since the epoch). Pure; -EPROTO if it is not one. */
int etcd_cert_validity(const char *pem, size_t len, int64_t *not_before, int64_t *not_after);

/* base64 (RFC 4648, with padding). Decoding refuses anything else; ret is NUL-terminated. */
char *etcd_base64_encode(const void *data, size_t len);
int etcd_base64_decode(const char *text, size_t max, char **ret, size_t *ret_len);
