/*
 * metrics.h - the host's counters for GET /metrics and their Prometheus
 * text format.
 *
 * Every process of a host (the FastCGI workers of every program, ia-batch
 * and its job children) adds to one shared file, $IA_STATE_DIR/metrics.shm,
 * mapped MAP_SHARED: a fixed table of slots, each a series key
 * (`name{label="value",...}`) and its values, changed only by C11 atomic
 * additions. So counts add up exactly across processes, survive a worker's
 * exit or restart (they live in the file, not in the process), and cost no
 * system call and no database write on the request path. A process that
 * cannot open the file counts nothing and carries on.
 *
 * The same module renders a set of series (from the file, and from the
 * database: lib/metricsdb.h) in the text exposition format 0.0.4, one
 * block per metric family with its HELP and TYPE lines.
 */
#ifndef IA_METRICS_H
#define IA_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct settings;

/* Longest series key with its NUL: `name{labels}`. */
#define METRICS_KEY_MAX 184
/* Slots of the host file; a full table drops new series (logged once). */
#define METRICS_SLOTS 2048
/* Histogram buckets (upper bounds in seconds, then +Inf): one fixed set. */
#define METRICS_BUCKETS 16
/* Values of a series: the buckets (not cumulative), then the sum in
 * microseconds. A counter or gauge uses values[0]. */
#define METRICS_VALUES  (METRICS_BUCKETS + 1)
#define METRICS_SUM_IDX METRICS_BUCKETS

enum metrics_kind { METRICS_COUNTER = 1, METRICS_GAUGE = 2, METRICS_HISTOGRAM = 3 };

/*
 * Map the counter file at path, creating it (0600) when missing; later
 * calls with the process's file already open do nothing. Returns 0, or
 * IA_ERR_IO (recording then does nothing). Children inherit the mapping.
 */
int metrics_open(const char *path);
/* metrics_open on $IA_STATE_DIR/metrics.shm; failures are logged once. */
int metrics_init(const struct settings *s);
/* Unmap (tests). */
void metrics_close(void);

/*
 * Write the key `name{k1="v1",k2="v2"}` into out (METRICS_KEY_MAX bytes)
 * from labels, NULL-terminated pairs of name and value (labels itself may
 * be NULL: no braces). Values are escaped as the text format wants (\\,
 * \", \n). IA_ERR_TOOBIG when the key does not fit (out is then empty).
 */
int metrics_key(char out[METRICS_KEY_MAX], const char *name, const char *const *labels);

/*
 * Shorthands for the series every program records: one request answered by
 * route group (status and latency); a call to an outside API (Stripe,
 * Stability AI) by outcome ("2xx", "4xx", "429", "5xx" or "error", see
 * metrics_outcome) and latency; a restart of program at level "program"
 * (by the supervisor) or "worker" (a FastCGI worker, by its program).
 */
void metrics_request(const char *group, int status, double seconds);
void metrics_restart(const char *program, const char *level);
/* ia_<api>_requests_total{outcome} and ia_<api>_request_duration_seconds
 * in the host file; status 0 = no answer. */
void metrics_call(const char *api, long status, double seconds);
/* The outcome label of an HTTP status (0: no answer, a transport error). */
const char *metrics_outcome(long status);

/* Add n to the counter key in the host file. */
void metrics_count(const char *key, uint64_t n);
/* Observe a duration (seconds) in the histogram key in the host file. */
void metrics_observe(const char *key, double seconds);
/* Seconds on a monotonic clock, for timing what metrics_observe records. */
double metrics_clock(void);
/* The bucket an observation of seconds falls into (0..METRICS_BUCKETS-1). */
int metrics_bucket(double seconds);
/* The upper bound of bucket i as the text format writes it ("0.005", "+Inf"). */
const char *metrics_bucket_le(int i);

/* One series of a set. */
struct metrics_series {
	char key[METRICS_KEY_MAX];
	enum metrics_kind kind;
	uint64_t values[METRICS_VALUES]; /* gauges: values[0] as int64_t */
};

/* A growable list of series; caller-owned (metrics_set_init/_cleanup). */
struct metrics_set {
	struct metrics_series *items;
	size_t n, cap;
};

void metrics_set_init(struct metrics_set *set);
void metrics_set_cleanup(struct metrics_set *set);
/* Append a series (values copied; METRICS_VALUES of them, or one for a
 * counter or gauge when values is NULL and v0 is used). */
void metrics_set_add(struct metrics_set *set, const char *key, enum metrics_kind kind,
		     const uint64_t *values, uint64_t v0);
/* Append every series of the host file (nothing when it is not open). */
void metrics_snapshot(struct metrics_set *set);

/*
 * The text exposition format of set (heap, NUL-terminated, caller frees;
 * *len its length): series sorted, equal keys summed, each family once
 * with # HELP and # TYPE, histograms as cumulative _bucket{le}, _sum and
 * _count. set is sorted in place.
 */
char *metrics_render(struct metrics_set *set, size_t *len);

#endif
