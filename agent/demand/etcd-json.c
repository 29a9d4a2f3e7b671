// SPDX-License-Identifier: Apache-2.0
/* Parses the etcd v3 JSON gateway's answers and writes its request bodies. It never trusts a length, a type or an
 * encoding it was sent: a malformed answer is -EPROTO and the caller keeps what it had. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "force12/etcd-json.h"
#include "force12/json.h"
#include "force12/utf8.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_base64_encode(const void *data, size_t len)
{
	const unsigned char *s = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0) |
		             (i + 2 < len ? s[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int etcd_base64_decode(const char *text, size_t max, char **ret, size_t *ret_len)
{
	size_t n = strlen(text), len = 0;

	if (n % 4 != 0 || n / 4 * 3 > max + 2)
		return -EPROTO;
	_cleanup_free_ char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		bool last = i + 4 == n;
		for (size_t k = 0; k < 4; k++) {
			v[k] = b64_value(text[i + k]);
			/* '=' only at the very end: xx== or xxx= */
			if (v[k] < 0 && !(last && text[i + k] == '=' && k >= 2 && (k == 3 || text[i + 3] == '=')))
				return -EPROTO;
		}
		uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 |
		                (uint32_t)(v[3] < 0 ? 0 : v[3]);
		out[len++] = (char)(bits >> 16);
		if (v[2] >= 0)
			out[len++] = (char)(bits >> 8 & 0xff);
		if (v[3] >= 0)
			out[len++] = (char)(bits & 0xff);
	}
	if (len > max)
		return -EPROTO;
	out[len] = 0;
	*ret = TAKE_PTR(out);
	*ret_len = len;
	return 0;
}

void etcd_answer_done(EtcdAnswer *a)
{
	for (size_t i = 0; i < a->n_kvs; i++) {
		free(a->kvs[i].key);
		free(a->kvs[i].value);
	}
	free(a->kvs);
	*a = (EtcdAnswer){};
}

/* etcd writes int64s as strings ("revision": "42"); a plain number is taken too. Absent: 0. */
static int get_int64(const cJSON *obj, const char *name, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	char *end;

	*ret = 0;
	if (!v)
		return 0;
	if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= -9e15 && v->valuedouble <= 9e15) ||
		    v->valuedouble != (double)(int64_t)v->valuedouble)
			return -EPROTO;
		*ret = (int64_t)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 20)
		return -EPROTO;
	errno = 0;
	long long x = strtoll(v->valuestring, &end, 10);
	if (errno || *end || !(v->valuestring[0] == '-' || (v->valuestring[0] >= '0' && v->valuestring[0] <= '9')))
		return -EPROTO;
	*ret = x;
	return 0;
}

static int parse_text(const char *text, size_t len, cJSON **ret)
{
	if (len == 0 || len > ETCD_ANSWER_MAX || memchr(text, 0, len) || json_has_nul_escape(text, len))
		return -EPROTO;
	cJSON *j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -EPROTO;
	}
	*ret = j;
	return 0;
}

static int parse_header(const cJSON *obj, int64_t *revision)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "header");

	*revision = 0;
	if (!h)
		return 0;
	if (!cJSON_IsObject(h) || get_int64(h, "revision", revision) < 0 || *revision < 0)
		return -EPROTO;
	return 0;
}

static int parse_kv(const cJSON *j, bool deleted, EtcdKv *ret)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	_cleanup_free_ char *key = NULL, *value = NULL;
	size_t key_len, value_len = 0;
	int64_t mod;

	if (!cJSON_IsObject(j) || !cJSON_IsString(k) || (v && !cJSON_IsString(v)) ||
	    get_int64(j, "mod_revision", &mod) < 0 || mod < 0)
		return -EPROTO;
	if (etcd_base64_decode(k->valuestring, ETCD_KEY_MAX, &key, &key_len) < 0 || key_len == 0 ||
	    strlen(key) != key_len)
		return -EPROTO;
	if (etcd_base64_decode(v && !deleted ? v->valuestring : "", ETCD_VALUE_MAX, &value, &value_len) < 0)
		return -EPROTO;
	*ret = (EtcdKv){.key = TAKE_PTR(key),
	                .value = TAKE_PTR(value),
	                .value_len = value_len,
	                .mod_revision = mod,
	                .deleted = deleted};
	return 0;
}

/* items: an array of kvs (range) or of events ({"type": "PUT"|"DELETE", "kv": {...}}, watch; PUT is absent as
 * the enum's default). */
static int parse_kvs(const cJSON *items, bool events, EtcdAnswer *a)
{
	const cJSON *it;
	int n, r;

	if (!items)
		return 0;
	if (!cJSON_IsArray(items) || (n = cJSON_GetArraySize(items)) > ETCD_KVS_MAX)
		return -EPROTO;
	a->kvs = calloc((size_t)n + 1, sizeof(EtcdKv));
	if (!a->kvs)
		return -ENOMEM;
	cJSON_ArrayForEach (it, items) {
		const cJSON *kv = it;
		bool deleted = false;
		if (events) {
			const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
			if (!cJSON_IsObject(it) || (type && !cJSON_IsString(type)))
				return -EPROTO;
			if (type && !streq(type->valuestring, "PUT") && !streq(type->valuestring, "DELETE"))
				return -EPROTO;
			deleted = type && streq(type->valuestring, "DELETE");
			kv = cJSON_GetObjectItemCaseSensitive(it, "kv");
		}
		r = parse_kv(kv, deleted, &a->kvs[a->n_kvs]);
		if (r < 0)
			return r;
		a->n_kvs++;
	}
	return 0;
}

int etcd_parse_range(const char *text, size_t len, EtcdAnswer *ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	EtcdAnswer a = {};
	int r;

	r = parse_text(text, len, &j);
	if (r < 0)
		return r;
	r = parse_header(j, &a.revision);
	if (r >= 0)
		r = parse_kvs(cJSON_GetObjectItemCaseSensitive(j, "kvs"), false, &a);
	if (r >= 0 && a.revision <= 0)
		r = -EPROTO; /* a range always says at which revision it read */
	if (r < 0) {
		etcd_answer_done(&a);
		return r;
	}
	*ret = a;
	return 0;
}

static int get_bool(const cJSON *obj, const char *name, bool *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (v && !cJSON_IsBool(v))
		return -EPROTO;
	*ret = cJSON_IsTrue(v);
	return 0;
}

int etcd_parse_watch(const char *text, size_t len, EtcdAnswer *ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *res;
	EtcdAnswer a = {};
	int r;

	r = parse_text(text, len, &j);
	if (r < 0)
		return r;
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (!cJSON_IsObject(res))
		return -EPROTO; /* also a stream-level {"error": ...} */
	r = parse_header(res, &a.revision);
	if (r >= 0)
		r = get_bool(res, "created", &a.created);
	if (r >= 0)
		r = get_bool(res, "canceled", &a.canceled);
	if (r >= 0)
		r = get_int64(res, "compact_revision", &a.compact_revision);
	if (r >= 0 && a.compact_revision < 0)
		r = -EPROTO;
	if (r >= 0)
		r = parse_kvs(cJSON_GetObjectItemCaseSensitive(res, "events"), true, &a);
	if (r < 0) {
		etcd_answer_done(&a);
		return r;
	}
	*ret = a;
	return 0;
}

int etcd_parse_lease(const char *text, size_t len, EtcdAnswer *ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *res;
	EtcdAnswer a = {};
	int r;

	r = parse_text(text, len, &j);
	if (r < 0)
		return r;
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (!res)
		res = j;
	if (!cJSON_IsObject(res))
		return -EPROTO;
	if (parse_header(res, &a.revision) < 0 || get_int64(res, "ID", &a.lease_id) < 0 ||
	    get_int64(res, "TTL", &a.ttl) < 0)
		return -EPROTO;
	if (a.lease_id == 0 || a.ttl < 0)
		return -EPROTO;
	*ret = a;
	return 0;
}

void etcd_error_text(const char *text, size_t len, char *buf, size_t size)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *m;
	size_t n = 0;

	buf[0] = 0;
	if (size == 0 || parse_text(text, len, &j) < 0)
		return;
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsString(m))
		return;
	for (const char *s = m->valuestring; *s && n + 1 < size; s++)
		buf[n++] = (unsigned char)*s >= 0x20 && *s != 0x7f ? *s : '?';
	buf[n] = 0;
}

/* ---- request bodies ---- */

static char *print_and_free(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return s;
}

static bool add_b64(cJSON *o, const char *name, const char *data, size_t len)
{
	_cleanup_free_ char *e = etcd_base64_encode(data, len);

	return e && cJSON_AddStringToObject(o, name, e);
}

static bool add_int64(cJSON *o, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_AddStringToObject(o, name, buf);
}

/* The range [prefix, prefix with its last byte + 1): every key that starts with prefix. */
static bool add_prefix(cJSON *o, const char *prefix)
{
	size_t n = strlen(prefix);
	_cleanup_free_ char *end = strdup(prefix);

	if (!end || n == 0)
		return false;
	end[n - 1]++;
	return add_b64(o, "key", prefix, n) && add_b64(o, "range_end", end, n);
}

/* Prints o if all the adds went well (ok), frees it either way. */
static char *finish(cJSON *o, bool ok)
{
	return print_and_free(ok ? o : (cJSON_Delete(o), NULL));
}

char *etcd_body_range_prefix(const char *prefix)
{
	cJSON *o = cJSON_CreateObject();

	return finish(o, o && add_prefix(o, prefix));
}

char *etcd_body_watch_prefix(const char *prefix, int64_t start_revision)
{
	cJSON *o = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(o, "create_request");
	bool ok = c && add_prefix(c, prefix);

	if (ok && start_revision > 0)
		ok = add_int64(c, "start_revision", start_revision);
	return finish(o, ok);
}

char *etcd_body_put(const char *key, const char *value, int64_t lease_id)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_b64(o, "key", key, strlen(key)) && add_b64(o, "value", value, strlen(value));

	if (ok && lease_id)
		ok = add_int64(o, "lease", lease_id);
	return finish(o, ok);
}

char *etcd_body_grant(int64_t ttl)
{
	cJSON *o = cJSON_CreateObject();

	return finish(o, o && add_int64(o, "TTL", ttl));
}

char *etcd_body_keepalive(int64_t lease_id)
{
	cJSON *o = cJSON_CreateObject();

	return finish(o, o && add_int64(o, "ID", lease_id));
}

char *etcd_body_authenticate(const char *user, const char *password)
{
	cJSON *o = cJSON_CreateObject();

	return finish(o, o && cJSON_AddStringToObject(o, "name", user) &&
	                         cJSON_AddStringToObject(o, "password", password));
}

int etcd_parse_token(const char *text, size_t len, char **ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *t;
	int r;

	r = parse_text(text, len, &j);
	if (r < 0)
		return r;
	t = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > ETCD_TOKEN_MAX)
		return -EPROTO;
	/* It goes into a header line: printable ASCII only. */
	for (const char *p = t->valuestring; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return -EPROTO;
	*ret = strdup(t->valuestring);
	return *ret ? 0 : -ENOMEM;
}

/* ---- a certificate's validity, for a clear error before etcd closes the connection ---- */

/* One DER element at *p: its tag and content; *p moves past it. */
static int der_next(const unsigned char **p, const unsigned char *end, unsigned *tag, const unsigned char **content,
                    size_t *len)
{
	const unsigned char *q = *p;
	size_t n;

	if (end - q < 2)
		return -EPROTO;
	*tag = *q++;
	n = *q++;
	if (n & 0x80) {
		size_t k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - q) < k)
			return -EPROTO;
		for (n = 0; k > 0; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(end - q) < n)
		return -EPROTO;
	*content = q;
	*len = n;
	*p = q + n;
	return 0;
}

static int digits(const unsigned char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, as seconds since the epoch. */
static int der_time(unsigned tag, const unsigned char *s, size_t n, int64_t *ret)
{
	struct tm tm = {};
	size_t y = tag == 0x17 ? 2 : 4;
	int year;

	if ((tag != 0x17 && tag != 0x18) || n != y + 11 || s[n - 1] != 'Z')
		return -EPROTO;
	year = digits(s, y);
	if (year < 0)
		return -EPROTO;
	if (tag == 0x17)
		year += year < 50 ? 2000 : 1900;
	tm.tm_year = year - 1900;
	tm.tm_mon = digits(s + y, 2) - 1;
	tm.tm_mday = digits(s + y + 2, 2);
	tm.tm_hour = digits(s + y + 4, 2);
	tm.tm_min = digits(s + y + 6, 2);
	tm.tm_sec = digits(s + y + 8, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -EPROTO;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

int etcd_cert_validity(const char *pem, size_t len, int64_t *not_before, int64_t *not_after)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end_mark[] = "-----END CERTIFICATE-----";
	const char *b = memmem(pem, len, begin, sizeof(begin) - 1), *e;
	_cleanup_free_ char *text = NULL, *der = NULL;
	const unsigned char *p, *end, *c;
	size_t n = 0, der_len, clen;
	unsigned tag;

	if (!b)
		return -EPROTO;
	b += sizeof(begin) - 1;
	e = memmem(b, (size_t)(pem + len - b), end_mark, sizeof(end_mark) - 1);
	if (!e || e - b > 65536 || !(text = malloc((size_t)(e - b) + 1)))
		return e ? -ENOMEM : -EPROTO;
	for (const char *s = b; s < e; s++)
		if (!strchr(" \t\r\n", *s))
			text[n++] = *s;
	text[n] = 0;
	if (etcd_base64_decode(text, 65536, &der, &der_len) < 0)
		return -EPROTO;
	p = (const unsigned char *)der;
	end = p + der_len;
	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
	 * issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... } */
	if (der_next(&p, end, &tag, &c, &clen) < 0 || tag != 0x30)
		return -EPROTO;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) < 0 || tag != 0x30)
		return -EPROTO;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) < 0)
		return -EPROTO;
	if (tag == 0xa0 && der_next(&p, end, &tag, &c, &clen) < 0) /* the version: then the serial */
		return -EPROTO;
	if (tag != 0x02)
		return -EPROTO;
	for (int i = 0; i < 2; i++) /* signature algorithm, issuer */
		if (der_next(&p, end, &tag, &c, &clen) < 0 || tag != 0x30)
			return -EPROTO;
	if (der_next(&p, end, &tag, &c, &clen) < 0 || tag != 0x30)
		return -EPROTO;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) < 0 || der_time(tag, c, clen, not_before) < 0)
		return -EPROTO;
	if (der_next(&p, end, &tag, &c, &clen) < 0 || der_time(tag, c, clen, not_after) < 0)
		return -EPROTO;
	return 0;
}
