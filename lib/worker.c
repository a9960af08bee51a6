/*
 * worker.c - runs one claimed job on its engine (local libgd code, Stability
 * AI, or the local placeholder generator) and records the outcome.
 *
 * The work itself (decoding and normalising the upload, the engine,
 * writing the output) runs in a forked child; the parent keeps the
 * database connection, renews the job's short lease every few seconds
 * while the child runs, and records the outcome the child reports through
 * a pipe. So a killed worker's job is claimable again within one lease
 * (WORKER_LEASE seconds, or at once by jobs_reclaim_dead), a crash inside
 * a decoder costs one attempt instead of the process, a job that runs
 * past its time is stopped, and a job deleted while running is noticed
 * at the next renewal and stopped.
 */
#include "config.h"

#include "worker.h"
#include "batch.h"
#include "err.h"
#include "imggen.h"
#include "imgops.h"
#include "jobs.h"
#include "log.h"
#include "settings.h"
#include "stability.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define WORKER_MAX_PARAMS  32
#define WORKER_RENEW       5 /* seconds between lease renewals */
#define WORKER_UNDECODABLE "The uploaded file could not be decoded as an image."

/* The job's params JSON as key/value strings borrowed from *json. */
static size_t worker_params(const char *text, cJSON **json, struct img_param *p, char numbuf[][32])
{
	cJSON *item;
	size_t n = 0;

	*json = cJSON_Parse(text ? text : "{}");
	cJSON_ArrayForEach(item, *json)
	{
		if (n >= WORKER_MAX_PARAMS || item->string == NULL)
			break;
		p[n].key = item->string;
		if (cJSON_IsString(item)) {
			p[n].value = item->valuestring;
		} else if (cJSON_IsNumber(item)) {
			snprintf(numbuf[n], 32, "%.0f", item->valuedouble);
			p[n].value = numbuf[n];
		} else {
			continue;
		}
		n++;
	}
	return n;
}

/* Errors that another attempt cannot fix; the rest (IA_ERR_IO: a full
 * disk, a crash, a time-out) are retried with backoff. */
static int worker_is_permanent(int rc)
{
	return rc == IA_ERR_INVAL || rc == IA_ERR_UNSUPPORTED || rc == IA_ERR_TOOBIG ||
	       rc == IA_ERR_NOTFOUND || rc == IA_ERR_UNAVAILABLE;
}

/* What the child reports through the pipe; ai_len bytes of JSON follow. */
struct worker_report {
	int rc;
	int final; /* not to be retried */
	struct img_result res;
	char err[256];
	char source_key[STORE_KEY_MAX]; /* the normalised upload, "" if none */
	size_t ai_len;
};

/* Run a local-engine upload service into out_path. */
static int worker_local(const struct settings *s, const struct job_claimed *j, const char *out_path,
			enum img_format fmt, const struct img_param *p, size_t n,
			struct img_result *res, char *err, size_t errlen)
{
	char *src;
	int rc;

	if (j->source_key == NULL) {
		snprintf(err, errlen, "The job has no source image.");
		return IA_ERR_INVAL;
	}
	src = store_path(s, j->source_key);
	rc = img_run_service(j->service, src, out_path, fmt, p, n, res, err, errlen);
	free(src);
	return rc;
}

/* What one run needs; built by worker_run_one. */
struct worker_task {
	const struct settings *s;
	const struct job_claimed *j;
	const char *out_path;
	enum img_format fmt;
	const struct img_param *p;
	size_t n;
	int64_t lease_seconds;
	char *ai_response; /* heap JSON text for the job row, or NULL */
	bool final;        /* a failure must not be retried (already retried inside) */
};

static const char *worker_param(const struct worker_task *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->p[i].key, key) == 0)
			return t->p[i].value;
	return NULL;
}

/*
 * The Stability AI engine. Its client retries transient failures itself
 * (stability.h), so any failure here is final: the job fails and is
 * refunded at once rather than going through the queue's attempts again.
 * The whole call stays inside the lease, with a margin.
 */
static int worker_stability(struct worker_task *t, struct img_result *res, char *err, size_t errlen)
{
	struct stability_call c = {0};
	struct stability_outcome o;
	char *src = NULL;
	int rc;

	c.service = t->j->service;
	c.prompt = t->j->prompt;
	c.negative_prompt = worker_param(t, "negative_prompt");
	c.aspect_ratio = t->j->aspect_ratio;
	c.seed = worker_param(t, "seed");
	c.format = t->fmt;
	c.budget = t->lease_seconds > 60 ? (long)(t->lease_seconds - 30)
					 : (long)(t->lease_seconds / 2 + 1);
	if (t->j->source_key != NULL) {
		src = store_path(t->s, t->j->source_key);
		c.source_path = src;
	}
	rc = stability_run(t->s, &c, t->out_path, &o, err, errlen);
	if (rc == 0)
		*res = o.img;
	t->ai_response = o.ai_response;
	o.ai_response = NULL;
	t->final = true;
	stability_outcome_cleanup(&o);
	free(src);
	return rc;
}

/* The development placeholder of generate (LOCAL_GENERATOR=1). */
static int worker_placeholder(struct worker_task *t, struct img_result *res, char *err,
			      size_t errlen)
{
	int rc =
	    imggen_generate(t->j->prompt ? t->j->prompt : "", t->j->aspect_ratio,
			    worker_param(t, "seed"), t->fmt, t->out_path, res, &t->ai_response);

	if (rc != 0)
		snprintf(err, errlen, "The local placeholder generator failed (%s).",
			 ia_strerror(rc));
	return rc;
}

/*
 * Dispatch on engine; fills res or err. generate goes to Stability AI when
 * its engine is stability and a key is configured, else to the local
 * placeholder when LOCAL_GENERATOR=1, else fails; the upload services go
 * to Stability AI when their engine is stability (failing without a key).
 */
static int worker_execute(struct worker_task *t, struct img_result *res, char *err, size_t errlen)
{
	const struct settings *s = t->s;
	bool have_key = s->stability_ai_key != NULL && s->stability_ai_key[0] != '\0';
	bool remote = strcmp(t->j->engine, "stability") == 0;

	if (strcmp(t->j->service, "generate") == 0) {
		if (remote && have_key)
			return worker_stability(t, res, err, errlen);
		if (s->local_generator)
			return worker_placeholder(t, res, err, errlen);
		snprintf(err, errlen,
			 "Image generation is not available: no Stability AI key is configured.");
		return IA_ERR_UNAVAILABLE;
	}
	if (remote)
		return worker_stability(t, res, err, errlen);
	return worker_local(s, t->j, t->out_path, t->fmt, t->p, t->n, res, err, errlen);
}

/*
 * The key the normalised upload will get (GIF becomes PNG), chosen by the
 * parent so that it can remove the file whatever happens to the child.
 * Only the header is read. "" when the raw file cannot be probed: the
 * child then reports why.
 */
static void worker_normal_key(const struct settings *s, const struct job_claimed *j,
			      char key[STORE_KEY_MAX])
{
	struct img_info info;
	char *raw = store_path(s, j->source_key);

	key[0] = '\0';
	if (img_probe_file(raw, &info) == 0)
		store_new_key(
		    "sources",
		    img_format_ext(info.format == IMG_FMT_GIF ? IMG_FMT_PNG : info.format), key);
	free(raw);
}

/*
 * Decode the upload exactly as it was sent and store it normalised (EXIF
 * orientation applied, metadata stripped, GIF as PNG) under r->source_key
 * (chosen by worker_normal_key). The raw file stays until the job is done.
 */
static int worker_normalize(const struct worker_task *t, struct worker_report *r)
{
	struct img_result res;
	char *raw = store_path(t->s, t->j->source_key), *path = NULL;
	int rc;

	if (r->source_key[0] == '\0') {
		rc = access(raw, F_OK) == 0 ? IA_ERR_INVAL : IA_ERR_NOTFOUND;
	} else {
		path = store_path(t->s, r->source_key);
		rc = store_prepare(t->s, r->source_key);
		if (rc == 0)
			rc = img_normalize_upload(raw, path, &res);
		if (rc != 0)
			unlink(path);
	}
	if (rc != 0) {
		log_warn("job %lld: cannot normalise %s: %s", (long long)t->j->id, t->j->source_key,
			 ia_strerror(rc));
		snprintf(r->err, sizeof(r->err), "%s",
			 rc == IA_ERR_IO         ? "The uploaded image could not be prepared."
			 : rc == IA_ERR_NOTFOUND ? "The uploaded file is missing."
						 : WORKER_UNDECODABLE);
	}
	free(path);
	free(raw);
	return rc;
}

/*
 * The temp files a job's child with this pid writes (imgops' and imgio's
 * "<path>.<pid>.tmp"): the output, and the normalised upload when
 * normal_key is not empty (else names[1] is empty).
 */
static void worker_tmp_names(const struct worker_task *t, const char *normal_key, pid_t pid,
			     char names[2][4096])
{
	char *path;

	snprintf(names[0], sizeof(names[0]), "%s.%ld.tmp", t->out_path, (long)pid);
	names[1][0] = '\0';
	if (normal_key[0] != '\0') {
		path = store_path(t->s, normal_key);
		snprintf(names[1], sizeof(names[1]), "%s.%ld.tmp", path, (long)pid);
		free(path);
	}
}

/* Remove the files worker_tmp_names named; async-signal-safe. */
static void worker_unlink_names(char names[2][4096])
{
	unlink(names[0]);
	if (names[1][0] != '\0')
		unlink(names[1]);
}

/*
 * The child's own temp file names, for its SIGTERM handler: when the
 * parent is killed (kill -9), nobody else knows them, and they would stay
 * until the hourly sweep.
 */
static char worker_child_tmp[2][4096];

static void worker_child_on_term(int sig)
{
	(void)sig;
	worker_unlink_names(worker_child_tmp);
	_exit(1);
}

/* Note the child's temp file names and remove them if the parent dies. */
static void worker_child_guard(const struct worker_task *t, const char *normal_key)
{
	struct sigaction sa;

	worker_tmp_names(t, normal_key, getpid(), worker_child_tmp);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_child_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * The child: do the work, report it on fd, exit. Never touches the db.
 * normal_key is where the normalised upload goes (when the source is raw).
 * When the parent dies, the kernel sends SIGTERM (PR_SET_PDEATHSIG): the
 * child removes its temp files and exits, so no work outlives a kill -9.
 */
static void worker_child(struct worker_task *t, const char *normal_key, pid_t parent, int fd)
{
	struct worker_report r;
	struct job_claimed j = *t->j; /* shallow: only source_key may change */

	signal(SIGINT, SIG_DFL);
	worker_child_guard(t, normal_key);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* it died before prctl */
		_exit(1);
	memset(&r, 0, sizeof(r));
	if (j.source_raw && j.source_key != NULL) {
		snprintf(r.source_key, sizeof(r.source_key), "%s", normal_key);
		r.rc = worker_normalize(t, &r);
		j.source_key = r.source_key;
		t->j = &j;
	}
	if (r.rc == 0)
		r.rc = worker_execute(t, &r.res, r.err, sizeof(r.err));
	r.final = t->final;
	r.ai_len = t->ai_response != NULL ? strlen(t->ai_response) : 0;
	if (ia_write_all(fd, &r, sizeof(r)) != 0 || ia_write_all(fd, t->ai_response, r.ai_len) != 0)
		_exit(1);
	_exit(0);
}

/* How the wait for the child ended. */
enum worker_end { WORKER_REPORTED, WORKER_CRASHED, WORKER_TIMED_OUT, WORKER_CANCELLED };

/*
 * The parent: read the child's report from fd while renewing the lease
 * (and the batch heartbeat); stop the child when the job is gone or runs
 * past w->max_seconds. Fills *r and *ai (heap, may stay NULL) when the
 * child reported.
 */
static enum worker_end worker_wait(struct db *db, const struct worker_self *w,
				   const struct job_claimed *j, pid_t pid, int fd,
				   struct worker_report *r, char **ai)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int64_t start = ia_now(), renewed = start, now;
	enum worker_end end = WORKER_REPORTED;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int status = 0;
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, 1000) > 0) {
			if (len == cap) {
				cap = cap ? 2 * cap : sizeof(*r) + 4096;
				buf = xrealloc(buf, cap);
			}
			n = read(fd, buf + len, cap - len);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break;
			if (n > 0)
				len += (size_t)n;
		}
		now = ia_now();
		if (end == WORKER_REPORTED && now - renewed >= WORKER_RENEW) {
			renewed = now;
			worker_beat(db, w, false);
			if (jobs_renew(db, j->id, w->id, WORKER_LEASE) == IA_ERR_BUSY) {
				end = WORKER_CANCELLED;
				kill(pid, SIGKILL);
			}
		}
		if (end == WORKER_REPORTED && now - start > w->max_seconds) {
			end = WORKER_TIMED_OUT;
			kill(pid, SIGKILL);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (end == WORKER_REPORTED) {
		if (len >= sizeof(*r) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			memcpy(r, buf, sizeof(*r));
			if (len == sizeof(*r) + r->ai_len && r->ai_len > 0)
				*ai = xstrndup(buf + sizeof(*r), r->ai_len);
			else if (len != sizeof(*r) + r->ai_len)
				end = WORKER_CRASHED;
			r->err[sizeof(r->err) - 1] = '\0';
			r->source_key[sizeof(r->source_key) - 1] = '\0';
		} else {
			end = WORKER_CRASHED;
		}
	}
	free(buf);
	return end;
}

/* Remove the temp files a stopped child was writing. */
static void worker_unlink_tmp(const struct worker_task *t, const char *normal_key, pid_t pid)
{
	char names[2][4096];

	worker_tmp_names(t, normal_key, pid, names);
	worker_unlink_names(names);
}

/*
 * Run t in a child process; fills *r (and *ai) for every outcome. A raw
 * source is normalised under normal_key.
 */
static enum worker_end worker_fork(struct db *db, const struct worker_self *w,
				   struct worker_task *t, const char *normal_key,
				   struct worker_report *r, char **ai)
{
	enum worker_end end;
	pid_t pid, parent = getpid();
	int fds[2];

	memset(r, 0, sizeof(*r));
	if (pipe(fds) != 0) {
		log_error("job %lld: pipe: %s", (long long)t->j->id, strerror(errno));
		return WORKER_CRASHED;
	}
	pid = fork();
	if (pid < 0) {
		log_error("job %lld: fork: %s", (long long)t->j->id, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return WORKER_CRASHED;
	}
	if (pid == 0) {
		close(fds[0]);
		worker_child(t, normal_key, parent, fds[1]);
	}
	close(fds[1]);
	end = worker_wait(db, w, t->j, pid, fds[0], r, ai);
	close(fds[0]);
	if (end != WORKER_REPORTED)
		worker_unlink_tmp(t, normal_key, pid);
	return end;
}

/* Seconds before the next attempt of a job after its attempt-th failure. */
static int64_t worker_backoff(const struct settings *s, int64_t attempt)
{
	int64_t d = s->job_retry_base > 0 ? s->job_retry_base : 1;

	while (--attempt > 0 && d < 3600)
		d *= 2;
	return d < 3600 ? d : 3600;
}

/* Record what happened to job j; removes the files that no row will name. */
static void worker_record(struct db *db, const struct settings *s, const struct worker_self *w,
			  const struct job_claimed *j, enum worker_end end, struct worker_report *r,
			  const char *ai, const char *key, const char *out_path)
{
	struct job_output out = {0};
	const char *src = r->source_key[0] ? r->source_key : NULL; /* normalised upload */
	bool permanent;
	int rc;

	if (end == WORKER_CANCELLED) {
		unlink(out_path);
		store_remove(s, src);
		log_info("job %lld (%s) was deleted while running: stopped", (long long)j->id,
			 j->service);
		return;
	}
	if (end == WORKER_CRASHED || end == WORKER_TIMED_OUT) {
		r->rc = IA_ERR_IO; /* transient: retried, then failed with a refund */
		r->final = 0;
		snprintf(r->err, sizeof(r->err), "%s",
			 end == WORKER_TIMED_OUT ? "Processing took too long."
						 : "Processing failed unexpectedly.");
	}
	if (r->rc == 0) {
		out.image_key = key;
		out.source_key = src;
		out.ai_response = ai;
		out.width = r->res.width;
		out.height = r->res.height;
		out.bytes = (int64_t)r->res.bytes;
		out.content_type = img_format_mime(r->res.format);
		rc = jobs_finish(db, j->id, w->id, &out);
		if (rc != 0) {
			unlink(out_path);
			store_remove(s, src);
		} else if (src != NULL) {
			store_remove(s, j->source_key); /* the raw upload, now replaced */
		}
		log_info("job %lld (%s) %s", (long long)j->id, j->service,
			 rc == 0 ? "done" : "lost its lease (deleted or reclaimed)");
		return;
	}
	unlink(out_path);
	store_remove(s, src);
	permanent = r->final || worker_is_permanent(r->rc);
	rc = jobs_fail_later(db, j->id, w->id, r->err[0] ? r->err : "Processing failed.",
			     permanent ? -1 : worker_backoff(s, j->attempts), ai);
	if (rc == IA_ERR_BUSY) { /* e.g. the delete also removed the upload it was reading */
		log_info("job %lld (%s) lost its lease (deleted or reclaimed): %s dropped",
			 (long long)j->id, j->service, r->err[0] ? r->err : "failure");
		return;
	}
	log_warn("job %lld (%s) attempt %lld failed%s: %s (%s)", (long long)j->id, j->service,
		 (long long)j->attempts, permanent ? " for good" : "",
		 r->err[0] ? r->err : "no reason", ia_strerror(r->rc));
}

void worker_beat(struct db *db, const struct worker_self *w, bool force)
{
	static int64_t last;
	int64_t now = ia_now();

	if (!force && now - last < BATCH_BEAT_SECONDS)
		return;
	last = now;
	if (batch_beat(db, w->id, w->host, (int64_t)getpid(), w->mode) != 0)
		log_warn("cannot record the batch heartbeat");
}

int worker_run_one(struct db *db, const struct settings *s, const struct worker_self *w)
{
	struct job_claimed j;
	struct img_param params[WORKER_MAX_PARAMS];
	char numbuf[WORKER_MAX_PARAMS][32];
	char key[STORE_KEY_MAX], normal_key[STORE_KEY_MAX] = "";
	struct worker_report r;
	struct worker_task t = {0};
	enum img_format fmt = IMG_FMT_PNG;
	enum worker_end end;
	cJSON *json = NULL;
	char *out_path = NULL, *ai = NULL;
	size_t n;
	int rc;

	jobs_reclaim_dead(db, w->host, NULL);
	rc = jobs_claim(db, w->id, WORKER_LEASE, &j);
	if (rc != 0)
		return rc;
	n = worker_params(j.params, &json, params, numbuf);
	if (img_params_format(params, n, &fmt) != 0)
		fmt = IMG_FMT_PNG;
	store_new_key("images", img_format_ext(fmt), key);
	out_path = store_path(s, key);
	t.s = s;
	t.j = &j;
	t.out_path = out_path;
	t.fmt = fmt;
	t.p = params;
	t.n = n;
	t.lease_seconds = w->max_seconds;
	if (store_prepare(s, key) != 0) {
		memset(&r, 0, sizeof(r));
		r.rc = IA_ERR_IO;
		snprintf(r.err, sizeof(r.err), "The result could not be saved.");
		log_error("job %lld: cannot create the directory of %s: %s", (long long)j.id,
			  out_path, strerror(errno));
		end = WORKER_REPORTED;
	} else {
		if (j.source_raw && j.source_key != NULL)
			worker_normal_key(s, &j, normal_key);
		end = worker_fork(db, w, &t, normal_key, &r, &ai);
		if (end != WORKER_REPORTED) /* the child may have written it */
			snprintf(r.source_key, sizeof(r.source_key), "%s", normal_key);
	}
	worker_record(db, s, w, &j, end, &r, ai, key, out_path);
	free(ai);
	cJSON_Delete(json);
	free(out_path);
	jobs_claimed_cleanup(&j);
	return 0;
}
