/*
 * metrics.c - the host's shared counter file and the Prometheus text
 * format (metrics.h).
 *
 * The file is a header and METRICS_SLOTS fixed-size slots. A slot is free
 * (state 0), being claimed (1) or ready (2). A process looking for a key
 * probes from the key's hash: a ready slot with the same key is its own; a
 * free one is claimed with a compare-and-swap, its key written, then
 * published as ready (release order, so a reader that sees "ready" sees
 * the key). Values are only ever changed by atomic_fetch_add, so any
 * number of processes add concurrently without a lock and nothing is lost.
 * A process killed between claim and publish leaves a slot in state 1
 * forever; others wait for it a short while and then probe on, which may
 * give the key a second slot: readers sum equal keys, so counts stay right.
 */
#include "config.h"

#include "metrics.h"
#include "err.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Atomics in a file shared between processes must not hide a lock. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

#define METRICS_MAGIC    UINT64_C(0x3156534d54454d49) /* "IMETMSV1": layout version 1 */
#define SLOT_FREE        0u
#define SLOT_CLAIMED     1u
#define SLOT_READY       2u
#define METRICS_PATIENCE 2000 /* sched_yield()s spent on a slot being claimed */

struct metrics_slot {
	_Atomic uint32_t state;
	uint32_t kind;
	char key[METRICS_KEY_MAX];
	_Atomic uint64_t values[METRICS_VALUES];
};

struct metrics_file {
	_Atomic uint64_t magic;
	uint64_t nslots;
	uint64_t slot_size;
	uint64_t reserved[5];
	struct metrics_slot slots[METRICS_SLOTS];
};

static struct metrics_file *metrics_map;
static bool metrics_full_logged;

/* Upper bounds of the buckets: 5 ms to 5 min, then +Inf. */
static const double metrics_bounds[METRICS_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
static const char *const metrics_les[METRICS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "2.5",   "5",    "10",    "30",   "60",  "120",  "300", "+Inf"};

/* HELP lines of the families we expose; others get a generic one. */
static const struct {
	const char *name;
	const char *help;
} metrics_help[] = {
    {"ia_http_requests_total", "HTTP requests answered by this host, by route group and status."},
    {"ia_http_request_duration_seconds",
     "Time from accepting a request to its reply, by route group."},
    {"ia_jobs_total", "Job runs ended, by service, engine and status (cluster-wide)."},
    {"ia_job_duration_seconds", "Run time of ended job runs, by service and engine."},
    {"ia_queue_jobs", "Jobs waiting or running now, by status (cluster-wide)."},
    {"ia_queue_oldest_pending_age_seconds", "Age of the oldest pending job (0 when none)."},
    {"ia_credits_total", "Credits moved by the ledger, by reason (cluster-wide)."},
    {"ia_outbox_messages", "Mail messages in the outbox, by status (cluster-wide)."},
    {"ia_outbox_delivery_failures_total", "Failed mail delivery attempts (cluster-wide)."},
    {"ia_stability_requests_total", "Stability AI HTTP attempts, by outcome (cluster-wide)."},
    {"ia_stability_request_duration_seconds", "Time of Stability AI HTTP attempts."},
    {"ia_stripe_requests_total", "Stripe API calls made by this host, by outcome."},
    {"ia_stripe_request_duration_seconds", "Time of Stripe API calls made by this host."},
    {"ia_process_restarts_total", "Processes restarted after they died, by program and level."},
};

static uint64_t metrics_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

int metrics_open(const char *path)
{
	struct stat st;
	void *p;
	uint64_t want = 0;
	int fd, rc = IA_ERR_IO;

	if (metrics_map != NULL)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return IA_ERR_IO;
	/* Every opener grows a new file to the same size: racing is harmless. */
	if (fstat(fd, &st) != 0 || ((size_t)st.st_size < sizeof(struct metrics_file) &&
				    ftruncate(fd, (off_t)sizeof(struct metrics_file)) != 0))
		goto out;
	p = mmap(NULL, sizeof(struct metrics_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out;
	metrics_map = p;
	/* The first opener stamps the layout; a file of another layout is not ours. */
	if (atomic_compare_exchange_strong(&metrics_map->magic, &want, METRICS_MAGIC)) {
		metrics_map->nslots = METRICS_SLOTS;
		metrics_map->slot_size = sizeof(struct metrics_slot);
	} else if (want != METRICS_MAGIC) {
		munmap(p, sizeof(struct metrics_file));
		metrics_map = NULL;
		errno = EINVAL;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int metrics_init(const struct settings *s)
{
	char *path = xasprintf("%s/metrics.shm", s->state_dir);
	int rc = metrics_open(path);

	if (rc != 0)
		log_warn("metrics: cannot map %s (%s): this process counts nothing", path,
			 strerror(errno));
	free(path);
	return rc;
}

void metrics_close(void)
{
	if (metrics_map != NULL)
		munmap(metrics_map, sizeof(struct metrics_file));
	metrics_map = NULL;
}

/* Append s to out at *o, escaped as a label value; false when it does not fit. */
static bool metrics_put_escaped(char *out, size_t *o, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		char one[2] = {*s, '\0'};
		size_t len;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		else
			rep = one;
		len = strlen(rep);
		if (*o + len >= METRICS_KEY_MAX)
			return false;
		memcpy(out + *o, rep, len);
		*o += len;
	}
	return true;
}

static bool metrics_put(char *out, size_t *o, const char *s)
{
	size_t len = strlen(s);

	if (*o + len >= METRICS_KEY_MAX)
		return false;
	memcpy(out + *o, s, len);
	*o += len;
	return true;
}

int metrics_key(char out[METRICS_KEY_MAX], const char *name, const char *const *labels)
{
	size_t o = 0;
	bool ok = metrics_put(out, &o, name);

	for (size_t i = 0; ok && labels != NULL && labels[i] != NULL && labels[i + 1] != NULL;
	     i += 2) {
		ok = metrics_put(out, &o, i == 0 ? "{" : ",") && metrics_put(out, &o, labels[i]) &&
		     metrics_put(out, &o, "=\"") && metrics_put_escaped(out, &o, labels[i + 1]) &&
		     metrics_put(out, &o, "\"");
	}
	if (ok && labels != NULL && labels[0] != NULL)
		ok = metrics_put(out, &o, "}");
	if (!ok) {
		out[0] = '\0';
		return IA_ERR_TOOBIG;
	}
	out[o] = '\0';
	return 0;
}

/* The slot of key (claimed for kind when new), or NULL when the file is
 * not open, the key is empty or too long, or the table is full. */
static struct metrics_slot *metrics_slot(const char *key, enum metrics_kind kind)
{
	size_t len = strlen(key), start, i;

	if (metrics_map == NULL || len == 0 || len >= METRICS_KEY_MAX)
		return NULL;
	start = (size_t)(metrics_hash(key) % METRICS_SLOTS);
	for (i = 0; i < METRICS_SLOTS; i++) {
		struct metrics_slot *sl = &metrics_map->slots[(start + i) % METRICS_SLOTS];
		uint32_t st = atomic_load_explicit(&sl->state, memory_order_acquire);

		if (st == SLOT_FREE) {
			uint32_t expect = SLOT_FREE;

			if (atomic_compare_exchange_strong(&sl->state, &expect, SLOT_CLAIMED)) {
				memcpy(sl->key, key, len + 1);
				sl->kind = (uint32_t)kind;
				atomic_store_explicit(&sl->state, SLOT_READY, memory_order_release);
				return sl;
			}
			st = expect;
		}
		for (int wait = 0; st == SLOT_CLAIMED && wait < METRICS_PATIENCE; wait++) {
			sched_yield();
			st = atomic_load_explicit(&sl->state, memory_order_acquire);
		}
		if (st == SLOT_READY && sl->kind == (uint32_t)kind && strcmp(sl->key, key) == 0)
			return sl;
	}
	if (!metrics_full_logged)
		log_warn("metrics: the counter table is full; new series are dropped");
	metrics_full_logged = true;
	return NULL;
}

void metrics_count(const char *key, uint64_t n)
{
	struct metrics_slot *sl = metrics_slot(key, METRICS_COUNTER);

	if (sl != NULL)
		atomic_fetch_add_explicit(&sl->values[0], n, memory_order_relaxed);
}

int metrics_bucket(double seconds)
{
	int i;

	for (i = 0; i < METRICS_BUCKETS - 1; i++)
		if (seconds <= metrics_bounds[i])
			break;
	return i;
}

const char *metrics_bucket_le(int i)
{
	return i >= 0 && i < METRICS_BUCKETS ? metrics_les[i] : "+Inf";
}

void metrics_observe(const char *key, double seconds)
{
	struct metrics_slot *sl = metrics_slot(key, METRICS_HISTOGRAM);
	uint64_t us;

	if (sl == NULL)
		return;
	if (!(seconds >= 0)) /* negative (a clock step) or NaN */
		seconds = 0;
	us = seconds < 1e12 ? (uint64_t)(seconds * 1e6 + 0.5) : UINT64_C(1000000000000000000);
	atomic_fetch_add_explicit(&sl->values[metrics_bucket(seconds)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sl->values[METRICS_SUM_IDX], us, memory_order_relaxed);
}

double metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *metrics_outcome(long status)
{
	if (status <= 0)
		return "error";
	if (status == 429)
		return "429";
	if (status < 300)
		return "2xx";
	if (status < 400)
		return "3xx";
	if (status < 500)
		return "4xx";
	return "5xx";
}

void metrics_request(const char *group, int status, double seconds)
{
	char key[METRICS_KEY_MAX], code[16];
	const char *labels[5] = {"group", group, "status", code, NULL};

	snprintf(code, sizeof(code), "%d", status > 0 ? status : 500);
	if (metrics_key(key, "ia_http_requests_total", labels) == 0)
		metrics_count(key, 1);
	labels[2] = NULL;
	if (metrics_key(key, "ia_http_request_duration_seconds", labels) == 0)
		metrics_observe(key, seconds);
}

void metrics_restart(const char *program, const char *level)
{
	char key[METRICS_KEY_MAX];
	const char *labels[5] = {"program", program, "level", level, NULL};

	if (metrics_key(key, "ia_process_restarts_total", labels) == 0)
		metrics_count(key, 1);
}

void metrics_call(const char *api, long status, double seconds)
{
	char key[METRICS_KEY_MAX], name[64];
	const char *labels[3] = {"outcome", metrics_outcome(status), NULL};

	snprintf(name, sizeof(name), "ia_%s_requests_total", api);
	if (metrics_key(key, name, labels) == 0)
		metrics_count(key, 1);
	snprintf(name, sizeof(name), "ia_%s_request_duration_seconds", api);
	metrics_observe(name, seconds);
}

void metrics_set_init(struct metrics_set *set)
{
	memset(set, 0, sizeof(*set));
}

void metrics_set_cleanup(struct metrics_set *set)
{
	free(set->items);
	memset(set, 0, sizeof(*set));
}

void metrics_set_add(struct metrics_set *set, const char *key, enum metrics_kind kind,
		     const uint64_t *values, uint64_t v0)
{
	struct metrics_series *it;

	if (strlen(key) >= METRICS_KEY_MAX || key[0] == '\0')
		return;
	if (set->n == set->cap) {
		set->cap = set->cap ? 2 * set->cap : 64;
		set->items = xrealloc(set->items, set->cap * sizeof(*set->items));
	}
	it = &set->items[set->n++];
	memset(it, 0, sizeof(*it));
	memcpy(it->key, key, strlen(key) + 1);
	it->kind = kind;
	if (values != NULL)
		memcpy(it->values, values, sizeof(it->values));
	else
		it->values[0] = v0;
}

void metrics_snapshot(struct metrics_set *set)
{
	uint64_t v[METRICS_VALUES];

	if (metrics_map == NULL)
		return;
	for (size_t i = 0; i < METRICS_SLOTS; i++) {
		struct metrics_slot *sl = &metrics_map->slots[i];

		if (atomic_load_explicit(&sl->state, memory_order_acquire) != SLOT_READY)
			continue;
		for (int j = 0; j < METRICS_VALUES; j++)
			v[j] = atomic_load_explicit(&sl->values[j], memory_order_relaxed);
		metrics_set_add(set, sl->key, (enum metrics_kind)sl->kind, v, 0);
	}
}

/* Length of the family name at the start of a key. */
static size_t metrics_name_len(const char *key)
{
	return strcspn(key, "{");
}

static int metrics_cmp(const void *a, const void *b)
{
	const struct metrics_series *x = a, *y = b;
	size_t lx = metrics_name_len(x->key), ly = metrics_name_len(y->key);
	int c = strncmp(x->key, y->key, lx < ly ? lx : ly);

	if (c != 0)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* A growing text buffer. */
struct metrics_buf {
	char *p;
	size_t len, cap;
};

static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = 2 * b->cap + (size_t)n;
		b->p = xrealloc(b->p, b->cap);
	}
}

static const char *metrics_help_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(metrics_help) / sizeof(metrics_help[0]); i++)
		if (strlen(metrics_help[i].name) == len &&
		    strncmp(metrics_help[i].name, name, len) == 0)
			return metrics_help[i].help;
	return "Image Assistant metric.";
}

/* One histogram series: cumulative buckets, sum and count. */
static void metrics_render_histogram(struct metrics_buf *b, const struct metrics_series *s)
{
	size_t nl = metrics_name_len(s->key);
	const char *labels = s->key + nl; /* "" or "{...}" */
	size_t ll = labels[0] == '{' ? strlen(labels) - 2 : 0;
	uint64_t cum = 0, us = s->values[METRICS_SUM_IDX];

	for (int i = 0; i < METRICS_BUCKETS; i++) {
		cum += s->values[i];
		metrics_printf(b, "%.*s_bucket{%.*s%sle=\"%s\"} %" PRIu64 "\n", (int)nl, s->key,
			       (int)ll, ll ? labels + 1 : "", ll ? "," : "", metrics_les[i], cum);
	}
	metrics_printf(b, "%.*s_sum%s %" PRIu64 ".%06" PRIu64 "\n", (int)nl, s->key, labels,
		       us / 1000000, us % 1000000);
	metrics_printf(b, "%.*s_count%s %" PRIu64 "\n", (int)nl, s->key, labels, cum);
}

char *metrics_render(struct metrics_set *set, size_t *len)
{
	struct metrics_buf b = {xmalloc(4096), 0, 4096};
	size_t i, j, n = 0;

	b.p[0] = '\0';
	if (set->n > 0)
		qsort(set->items, set->n, sizeof(*set->items), metrics_cmp);
	/* Sum equal keys of the same kind (a key in two slots, or in two sources). */
	for (i = 0; i < set->n; i++) {
		struct metrics_series *s = &set->items[i];

		if (n > 0 && set->items[n - 1].kind == s->kind &&
		    strcmp(set->items[n - 1].key, s->key) == 0) {
			for (j = 0; j < METRICS_VALUES; j++)
				set->items[n - 1].values[j] += s->values[j];
			continue;
		}
		if (n != i)
			set->items[n] = *s;
		n++;
	}
	set->n = n;
	for (i = 0; i < set->n; i++) {
		const struct metrics_series *s = &set->items[i];
		size_t nl = metrics_name_len(s->key);

		if (i == 0 || metrics_name_len(set->items[i - 1].key) != nl ||
		    strncmp(set->items[i - 1].key, s->key, nl) != 0)
			metrics_printf(&b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)nl, s->key,
				       metrics_help_of(s->key, nl), (int)nl, s->key,
				       s->kind == METRICS_HISTOGRAM ? "histogram"
				       : s->kind == METRICS_GAUGE   ? "gauge"
								    : "counter");
		if (s->kind == METRICS_HISTOGRAM)
			metrics_render_histogram(&b, s);
		else if (s->kind == METRICS_GAUGE)
			metrics_printf(&b, "%s %" PRId64 "\n", s->key, (int64_t)s->values[0]);
		else
			metrics_printf(&b, "%s %" PRIu64 "\n", s->key, s->values[0]);
	}
	*len = b.len;
	return b.p;
}
