/*
 * jobrun.c - runs one claimed job on its engine (local libgd code, Stability
 * AI, or the local placeholder generator) and records the outcome.
 *
 * The work itself (decoding and normalising the upload, the engine,
 * writing the output) runs in a forked child; the parent keeps the
 * database connection, renews the job's short lease every few seconds
 * while the child runs, and records the outcome the child reports through
 * a pipe. So a killed runner's job is claimable again within one lease
 * (JOBRUN_LEASE seconds, or at once by jobs_reclaim_dead), a crash inside
 * a decoder costs one attempt instead of the process, a job that runs
 * past its time is stopped, and a job deleted while running is noticed
 * at the next renewal and stopped.
 *
 * Engines: "local" and "stability" as the service's row says; "auto"
 * (remove-background only) runs the local engine and, when the engine is
 * not sure of its cut (confidence below BG_MIN_CONFIDENCE) and a Stability
 * key is configured, Stability AI instead, for the same charge.
 *
 * Files: each run gets a temp directory of its own under store_tmp_dir
 * (ia-job-XXXXXX). The child fetches the source into it (or reads the
 * media file itself on local disk), the engines write there, and only a
 * successful run publishes its result (and the normalised upload) with
 * store_put_file. The directory goes when the run ends, whoever ends it.
 *
 * Previews: with every result the child writes a small WebP of it
 * (imgpreview.h) and publishes it beside the result
 * ("images/ab/<hex>.preview.webp"), recorded as the row's thumbnail_key.
 * A preview that cannot be made or stored is logged and the image simply
 * has none: it never fails or delays the job beyond its own time.
 */
#include "config.h"

#include "jobrun.h"
#include "batch.h"
#include "err.h"
#include "imggen.h"
#include "imgops.h"
#include "imgpreview.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "metricsdb.h"
#include "settings.h"
#include "stability.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <math.h>
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

#define JOBRUN_MAX_PARAMS  32
#define JOBRUN_RENEW       5 /* seconds between lease renewals */
#define JOBRUN_UNDECODABLE "The uploaded file could not be decoded as an image."
/* Seconds a run must have left for engine auto to try Stability AI. */
#define JOBRUN_AUTO_MIN_BUDGET 5

/* The job's params JSON as key/value strings borrowed from *json. */
static size_t jobrun_params(const char *text, cJSON **json, struct img_param *p, char numbuf[][32])
{
	cJSON *item;
	size_t n = 0;

	*json = cJSON_Parse(text ? text : "{}");
	cJSON_ArrayForEach(item, *json)
	{
		if (n >= JOBRUN_MAX_PARAMS || item->string == NULL)
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
static int jobrun_is_permanent(int rc)
{
	return rc == IA_ERR_INVAL || rc == IA_ERR_UNSUPPORTED || rc == IA_ERR_TOOBIG ||
	       rc == IA_ERR_NOTFOUND || rc == IA_ERR_UNAVAILABLE;
}

/* What the child reports through the pipe; ai_len bytes of JSON follow. */
struct jobrun_report {
	int rc;
	int final; /* not to be retried */
	struct img_result res;
	char err[256];
	char source_key[STORE_KEY_MAX]; /* the normalised upload, "" if none */
	int thumb;                      /* the preview was stored under the task's thumb_key */
	size_t ai_len;
	/* The Stability AI attempts made (for metrics, counted by the parent). */
	int stab_n;
	long stab_status[STABILITY_TRIES];
	double stab_seconds[STABILITY_TRIES];
};

/* What one run needs; built by jobrun_run_one. */
struct jobrun_task {
	const struct settings *s;
	const struct job_claimed *j;
	const char *dir;       /* this run's temp directory */
	const char *out_path;  /* dir/out.<ext>: what the engine writes */
	const char *key;       /* the media key the result gets */
	const char *thumb_key; /* the media key its preview gets */
	const char *src_path;  /* the source as a local file (child only), or NULL */
	enum img_format fmt;
	const struct img_param *p;
	size_t n;
	int64_t lease_seconds;
	int64_t started;   /* when the child started (the lease clock runs from there) */
	char *ai_response; /* heap JSON text for the job row, or NULL */
	bool final;        /* a failure must not be retried (already retried inside) */
	struct stability_outcome stab; /* attempts of the Stability call, if any (child only) */
};

/* Run a local-engine upload service on the source into out_path. */
static int jobrun_local(const struct jobrun_task *t, struct img_result *res, char *err,
			size_t errlen)
{
	if (t->src_path == NULL) {
		snprintf(err, errlen, "The job has no source image.");
		return IA_ERR_INVAL;
	}
	return imgops_run_service(t->j->service, t->src_path, t->out_path, t->fmt, t->p, t->n, res,
				  err, errlen);
}

static const char *jobrun_param(const struct jobrun_task *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->p[i].key, key) == 0)
			return t->p[i].value;
	return NULL;
}

/* Seconds a Stability call may still take: the run's time limit, less a
 * margin and what the run has used already (the local engine under auto). */
static long jobrun_budget(const struct jobrun_task *t)
{
	int64_t total = t->lease_seconds > 60 ? t->lease_seconds - 30 : t->lease_seconds / 2 + 1;

	return (long)(total - (ia_now() - t->started));
}

/*
 * The Stability AI engine. Its client retries transient failures itself
 * (stability.h), so any failure here is final: the job fails and is
 * refunded at once rather than going through the queue's attempts again.
 * The whole call stays inside the lease, with a margin.
 */
static int jobrun_stability(struct jobrun_task *t, struct img_result *res, char *err, size_t errlen)
{
	struct stability_call c = {0};
	struct stability_outcome o;
	long budget = jobrun_budget(t);
	int rc;

	c.service = t->j->service;
	c.prompt = t->j->prompt;
	c.negative_prompt = jobrun_param(t, "negative_prompt");
	c.aspect_ratio = t->j->aspect_ratio;
	c.seed = jobrun_param(t, "seed");
	c.format = t->fmt;
	c.budget = budget > 0 ? budget : 1; /* 0 would mean no bound */
	c.source_path = t->src_path;
	rc = stability_run(t->s, &c, t->out_path, &o, err, errlen);
	if (rc == 0)
		*res = o.img;
	t->stab = o;
	t->stab.ai_response = NULL; /* moved to t->ai_response below */
	t->ai_response = o.ai_response;
	o.ai_response = NULL;
	t->final = true;
	stability_outcome_cleanup(&o);
	return rc;
}

/* The development placeholder of generate (LOCAL_GENERATOR=1). */
static int jobrun_placeholder(struct jobrun_task *t, struct img_result *res, char *err,
			      size_t errlen)
{
	int rc =
	    imggen_generate(t->j->prompt ? t->j->prompt : "", t->j->aspect_ratio,
			    jobrun_param(t, "seed"), t->fmt, t->out_path, res, &t->ai_response);

	/* the job's error is for its user: the reason (rc) is logged with it */
	if (rc != 0)
		snprintf(err, errlen, "The placeholder image could not be made. Try again.");
	return rc;
}

static bool jobrun_have_key(const struct settings *s)
{
	return s->stability_ai_key != NULL && s->stability_ai_key[0] != '\0';
}

/*
 * The ai_response of a remove-background job run under the engine auto
 * (heap JSON text, caller frees): base, the record of the Stability call
 * that made the result, or NULL when the local engine's result is
 * delivered ({"provider": "local"}); either way with "engine": "auto" and
 * the local engine's confidence rounded to 2 decimals, so users and admins
 * see why it went where it went. failed (may be NULL) is the record of a
 * Stability call that failed before the local result was delivered; it is
 * kept under "stability".
 */
static char *jobrun_auto_record(const char *base, double confidence, const char *failed)
{
	cJSON *o = base != NULL ? cJSON_Parse(base) : NULL;
	char *text;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "provider", base != NULL ? "stability" : "local");
	}
	cJSON_AddStringToObject(o, "engine", "auto");
	cJSON_AddNumberToObject(o, "confidence", round(confidence * 100.0) / 100.0);
	if (failed != NULL) {
		cJSON *f = cJSON_Parse(failed);

		if (f != NULL)
			cJSON_AddItemToObject(o, "stability", f);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		abort();
	return text;
}

/*
 * The engine auto of remove-background (issue 12, item 3). The local
 * engine writes dir/local.<ext>; when its confidence is below
 * BG_MIN_CONFIDENCE and a Stability key is configured (and the run has
 * time left), Stability AI makes the result instead: the same charge,
 * nothing more taken or refunded. Otherwise, and when that call fails
 * (the user paid for a removal and the local one exists), the local
 * result is delivered. ai_response says which (jobrun_auto_record).
 */
static int jobrun_auto(struct jobrun_task *t, struct img_result *res, char *err, size_t errlen)
{
	const char *out_path = t->out_path;
	char *local_path = xasprintf("%s/local.%s", t->dir, imgio_format_ext(t->fmt));
	char *stab = NULL; /* the record of the Stability call, when one was made */
	struct img_result local;
	int rc;

	t->out_path = local_path;
	rc = jobrun_local(t, &local, err, errlen);
	t->out_path = out_path;
	if (rc != 0)
		goto out;
	if (local.confidence >= 0.0 && local.confidence < t->s->bg_min_confidence &&
	    jobrun_have_key(t->s) && jobrun_budget(t) >= JOBRUN_AUTO_MIN_BUDGET) {
		log_info("job %lld: remove-background confidence %.2f below %.2f: Stability AI",
			 (long long)t->j->id, local.confidence, t->s->bg_min_confidence);
		rc = jobrun_stability(t, res, err, errlen);
		stab = t->ai_response;
		t->ai_response = NULL;
		if (rc == 0) {
			t->ai_response = jobrun_auto_record(stab, local.confidence, NULL);
			goto out;
		}
		log_warn("job %lld: Stability AI failed (%s): the local result is delivered",
			 (long long)t->j->id, ia_strerror(rc));
		t->final = false;
		err[0] = '\0';
	}
	if (rename(local_path, out_path) != 0) {
		snprintf(err, errlen, "The result could not be saved.");
		rc = IA_ERR_IO;
		goto out;
	}
	rc = 0;
	*res = local;
	t->ai_response = jobrun_auto_record(NULL, local.confidence, stab);
out:
	(void)unlink(local_path); /* gone when renamed; else not the result */
	free(local_path);
	free(stab);
	return rc;
}

/*
 * Dispatch on engine; fills res or err. generate goes to Stability AI when
 * its engine is stability and a key is configured, else to the local
 * placeholder when LOCAL_GENERATOR=1, else fails; the upload services go
 * to Stability AI when their engine is stability (failing without a key),
 * remove-background under auto to jobrun_auto, the rest to the local engine
 * (auto, which only remove-background may have, counts as local).
 */
static int jobrun_execute(struct jobrun_task *t, struct img_result *res, char *err, size_t errlen)
{
	const struct settings *s = t->s;
	bool have_key = jobrun_have_key(s);
	bool remote = strcmp(t->j->engine, "stability") == 0;

	if (strcmp(t->j->service, "generate") == 0) {
		if (remote && have_key)
			return jobrun_stability(t, res, err, errlen);
		if (s->local_generator)
			return jobrun_placeholder(t, res, err, errlen);
		/* the job's error is for its user: the setting's name goes to the log */
		log_warn("job %lld: generate needs STABILITY_AI_KEY or LOCAL_GENERATOR=1",
			 (long long)t->j->id);
		snprintf(err, errlen, "Image generation is not available right now.");
		return IA_ERR_UNAVAILABLE;
	}
	if (remote)
		return jobrun_stability(t, res, err, errlen);
	if (strcmp(t->j->engine, "auto") == 0 && strcmp(t->j->service, "remove-background") == 0)
		return jobrun_auto(t, res, err, errlen);
	return jobrun_local(t, res, err, errlen);
}

/*
 * The key the normalised upload will get (GIF becomes PNG): the raw key's
 * type, which submit chose from the file's magic bytes. Chosen by the
 * parent so that it can remove the object whatever happens to the child.
 */
static void jobrun_normal_key(const struct job_claimed *j, char key[STORE_KEY_MAX])
{
	const char *ext = strrchr(j->source_key, '.');

	ext = ext != NULL ? ext + 1 : "png";
	store_new_key("sources", strcmp(ext, "gif") == 0 ? "png" : ext, key);
}

/* The child's error text for a source that could not be read or prepared. */
static void jobrun_source_error(const struct jobrun_task *t, struct jobrun_report *r, int rc,
				const char *what)
{
	log_warn("job %lld: cannot %s %s: %s", (long long)t->j->id, what, t->j->source_key,
		 ia_strerror(rc));
	snprintf(r->err, sizeof(r->err), "%s",
		 rc == IA_ERR_NOTFOUND ? "The uploaded file is missing."
		 : rc == IA_ERR_IO || rc == IA_ERR_UPSTREAM
		     ? "The uploaded image could not be prepared."
		     : JOBRUN_UNDECODABLE);
}

/*
 * Make the job's source a local file (t->src_path): fetched from the
 * storage, and when it is the raw upload, decoded exactly as it was sent
 * and normalised (EXIF orientation applied, metadata stripped, GIF as PNG)
 * into dir/normal.<ext>, which store_put_file publishes after the engine.
 */
static int jobrun_source(struct jobrun_task *t, struct jobrun_report *r, struct store_local *raw,
			 char **normal_path)
{
	struct img_result res;
	const char *ext;
	int rc;

	if (t->j->source_key == NULL)
		return 0;
	rc = store_fetch(t->s, t->j->source_key, t->dir, raw);
	if (rc != 0) {
		jobrun_source_error(t, r, rc, "fetch");
		return rc;
	}
	t->src_path = raw->path;
	if (!t->j->source_raw)
		return 0;
	ext = strrchr(r->source_key, '.');
	*normal_path = xasprintf("%s/normal%s", t->dir, ext != NULL ? ext : "");
	rc = imgops_normalize_upload(raw->path, *normal_path, &res);
	if (rc != 0) {
		jobrun_source_error(t, r, rc, "normalise");
		return rc;
	}
	t->src_path = *normal_path;
	return 0;
}

/* Publish the result (and the normalised upload); IA_ERR_* on failure. */
static int jobrun_publish(const struct jobrun_task *t, struct jobrun_report *r,
			  const char *normal_path)
{
	int rc = store_put_file(t->s, t->key, t->out_path, imgio_format_mime(r->res.format));

	if (rc == 0 && normal_path != NULL)
		rc =
		    store_put_file(t->s, r->source_key, normal_path, imgio_key_mime(r->source_key));
	if (rc != 0) {
		log_error("job %lld: cannot store the result (%s backend): %s", (long long)t->j->id,
			  store_backend_name(t->s), ia_strerror(rc));
		snprintf(r->err, sizeof(r->err), "The result could not be saved.");
		rc = rc == IA_ERR_INVAL ? IA_ERR_IO : rc; /* always worth another attempt */
	}
	return rc;
}

/*
 * Make the result's preview into dir/preview.webp (heap path), before the
 * result is published: the local backend moves out_path away. NULL, logged,
 * when it cannot be made; the job goes on without one.
 */
static char *jobrun_preview_make(const struct jobrun_task *t)
{
	struct img_result res;
	char *path = xasprintf("%s/preview.webp", t->dir);
	int rc = imgpreview_file(t->out_path, path, IMG_PREVIEW_MAX_SIDE, &res);

	if (rc != 0) {
		log_warn("job %lld: no preview of the result: %s", (long long)t->j->id,
			 ia_strerror(rc));
		free(path);
		return NULL;
	}
	return path;
}

/* Store the preview at path (consumed; NULL: none) as t->thumb_key: 1 when stored. */
static int jobrun_preview_publish(const struct jobrun_task *t, const char *path)
{
	int rc;

	if (path == NULL)
		return 0;
	rc = store_put_file(t->s, t->thumb_key, path, "image/webp");
	if (rc != 0) {
		log_warn("job %lld: cannot store the preview (%s backend): %s", (long long)t->j->id,
			 store_backend_name(t->s), ia_strerror(rc));
		return 0;
	}
	return 1;
}

/*
 * The child's temp directory, for its SIGTERM handler: when the parent is
 * killed (kill -9), nobody else knows it, and it would stay until the
 * hourly sweep.
 */
static char jobrun_child_dir[4096];

static void jobrun_child_on_term(int sig)
{
	(void)sig;
	store_tmp_rmdir(jobrun_child_dir);
	_exit(1);
}

/* Note the child's temp directory and remove it if the parent dies. */
static void jobrun_child_guard(const struct jobrun_task *t)
{
	struct sigaction sa;

	snprintf(jobrun_child_dir, sizeof(jobrun_child_dir), "%s", t->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = jobrun_child_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * The child: do the work, report it on fd, exit. Never touches the db.
 * normal_key is where the normalised upload goes (when the source is raw).
 * When the parent dies, the kernel sends SIGTERM (PR_SET_PDEATHSIG): the
 * child removes its temp directory and exits, so no work outlives a kill -9.
 */
static void jobrun_child(struct jobrun_task *t, const char *normal_key, pid_t parent, int fd)
{
	struct jobrun_report r;
	struct store_local raw = {0};
	char *normal_path = NULL, *preview = NULL;

	signal(SIGINT, SIG_DFL);
	jobrun_child_guard(t);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* it died before prctl */
		_exit(1);
	memset(&r, 0, sizeof(r));
	t->started = ia_now();
	snprintf(r.source_key, sizeof(r.source_key), "%s", normal_key);
	r.rc = jobrun_source(t, &r, &raw, &normal_path);
	if (r.rc == 0)
		r.rc = jobrun_execute(t, &r.res, r.err, sizeof(r.err));
	if (r.rc == 0)
		preview = jobrun_preview_make(t);
	if (r.rc == 0)
		r.rc = jobrun_publish(t, &r, normal_path);
	if (r.rc == 0)
		r.thumb = jobrun_preview_publish(t, preview);
	r.final = t->final;
	r.stab_n = t->stab.attempts;
	memcpy(r.stab_status, t->stab.attempt_status, sizeof(r.stab_status));
	memcpy(r.stab_seconds, t->stab.attempt_seconds, sizeof(r.stab_seconds));
	r.ai_len = t->ai_response != NULL ? strlen(t->ai_response) : 0;
	if (ia_write_all(fd, &r, sizeof(r)) != 0 || ia_write_all(fd, t->ai_response, r.ai_len) != 0)
		_exit(1);
	_exit(0);
}

/* How the wait for the child ended. */
enum jobrun_end { JOBRUN_REPORTED, JOBRUN_CRASHED, JOBRUN_TIMED_OUT, JOBRUN_CANCELLED };

/*
 * The parent: read the child's report from fd while renewing the lease
 * (and the batch heartbeat); stop the child when the job is gone or runs
 * past w->max_seconds. Fills *r and *ai (heap, may stay NULL) when the
 * child reported.
 */
static enum jobrun_end jobrun_wait(struct db *db, const struct jobrun_self *w,
				   const struct job_claimed *j, pid_t pid, int fd,
				   struct jobrun_report *r, char **ai)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int64_t start = ia_now(), renewed = start, now;
	enum jobrun_end end = JOBRUN_REPORTED;
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
		if (end == JOBRUN_REPORTED && now - renewed >= JOBRUN_RENEW) {
			renewed = now;
			jobrun_beat(db, w, false);
			if (jobs_renew(db, j->id, w->id, JOBRUN_LEASE) == IA_ERR_BUSY) {
				end = JOBRUN_CANCELLED;
				kill(pid, SIGKILL);
			}
		}
		if (end == JOBRUN_REPORTED && now - start > w->max_seconds) {
			end = JOBRUN_TIMED_OUT;
			kill(pid, SIGKILL);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (end == JOBRUN_REPORTED) {
		if (len >= sizeof(*r) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			memcpy(r, buf, sizeof(*r));
			if (len == sizeof(*r) + r->ai_len && r->ai_len > 0)
				*ai = xstrndup(buf + sizeof(*r), r->ai_len);
			else if (len != sizeof(*r) + r->ai_len)
				end = JOBRUN_CRASHED;
			r->err[sizeof(r->err) - 1] = '\0';
			r->source_key[sizeof(r->source_key) - 1] = '\0';
		} else {
			end = JOBRUN_CRASHED;
		}
	}
	free(buf);
	return end;
}

/*
 * Run t in a child process; fills *r (and *ai) for every outcome. A raw
 * source is normalised under normal_key.
 */
static enum jobrun_end jobrun_fork(struct db *db, const struct jobrun_self *w,
				   struct jobrun_task *t, const char *normal_key,
				   struct jobrun_report *r, char **ai)
{
	enum jobrun_end end;
	pid_t pid, parent = getpid();
	int fds[2];

	memset(r, 0, sizeof(*r));
	if (pipe(fds) != 0) {
		log_error("job %lld: pipe: %s", (long long)t->j->id, strerror(errno));
		return JOBRUN_CRASHED;
	}
	pid = fork();
	if (pid < 0) {
		log_error("job %lld: fork: %s", (long long)t->j->id, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return JOBRUN_CRASHED;
	}
	if (pid == 0) {
		close(fds[0]);
		jobrun_child(t, normal_key, parent, fds[1]);
	}
	close(fds[1]);
	end = jobrun_wait(db, w, t->j, pid, fds[0], r, ai);
	close(fds[0]);
	return end;
}

/* Seconds before the next attempt of a job after its attempt-th failure. */
static int64_t jobrun_backoff(const struct settings *s, int64_t attempt)
{
	int64_t d = s->job_retry_base > 0 ? s->job_retry_base : 1;

	while (--attempt > 0 && d < 3600)
		d *= 2;
	return d < 3600 ? d : 3600;
}

/*
 * Record what happened to job j; removes the files that no row will name
 * (key: the result's, thumb_key: its preview's, stored or not). Returns the
 * outcome for ia_jobs_total: done, retried, failed, cancelled or lost (the
 * lease went to another runner, or the row was deleted).
 */
static const char *jobrun_record(struct db *db, const struct settings *s,
				 const struct jobrun_self *w, const struct job_claimed *j,
				 enum jobrun_end end, struct jobrun_report *r, const char *ai,
				 const char *key, const char *thumb_key)
{
	struct job_output out = {0};
	const char *src = r->source_key[0] ? r->source_key : NULL; /* normalised upload */
	bool permanent;
	int rc;

	if (end == JOBRUN_CANCELLED) {
		store_remove(s, key);
		store_remove(s, thumb_key);
		store_remove(s, src);
		log_info("job %lld (%s) was deleted while running: stopped", (long long)j->id,
			 j->service);
		return "cancelled";
	}
	if (end == JOBRUN_CRASHED || end == JOBRUN_TIMED_OUT) {
		r->rc = IA_ERR_IO; /* transient: retried, then failed with a refund */
		r->final = 0;
		snprintf(r->err, sizeof(r->err), "%s",
			 end == JOBRUN_TIMED_OUT ? "Processing took too long."
						 : "Processing failed unexpectedly.");
	}
	if (r->rc == 0) {
		out.image_key = key;
		out.source_key = src;
		out.thumbnail_key = r->thumb ? thumb_key : NULL;
		out.ai_response = ai;
		out.width = r->res.width;
		out.height = r->res.height;
		out.bytes = (int64_t)r->res.bytes;
		out.content_type = imgio_format_mime(r->res.format);
		rc = jobs_finish(db, j->id, w->id, &out);
		if (rc != 0) {
			store_remove(s, key);
			store_remove(s, thumb_key);
			store_remove(s, src);
		} else if (src != NULL) {
			store_remove(s, j->source_key); /* the raw upload, now replaced */
		}
		log_info("job %lld (%s) %s", (long long)j->id, j->service,
			 rc == 0 ? "done" : "lost its lease (deleted or reclaimed)");
		return rc == 0 ? "done" : "lost";
	}
	store_remove(s, key); /* published before a later step failed, perhaps */
	store_remove(s, thumb_key);
	store_remove(s, src);
	permanent = r->final || jobrun_is_permanent(r->rc);
	rc = jobs_fail_later(db, j->id, w->id, r->err[0] ? r->err : "Processing failed.",
			     permanent ? -1 : jobrun_backoff(s, j->attempts), ai);
	if (rc == IA_ERR_BUSY) { /* e.g. the delete also removed the upload it was reading */
		log_info("job %lld (%s) lost its lease (deleted or reclaimed): %s dropped",
			 (long long)j->id, j->service, r->err[0] ? r->err : "failure");
		return "lost";
	}
	log_warn("job %lld (%s) attempt %lld failed%s: %s (%s)", (long long)j->id, j->service,
		 (long long)j->attempts, permanent ? " for good" : "",
		 r->err[0] ? r->err : "no reason", ia_strerror(r->rc));
	if (rc != 0)
		return "lost";
	return permanent || j->attempts >= JOBS_MAX_ATTEMPTS ? "failed" : "retried";
}

/*
 * Count the run of job j that ended with outcome after seconds, in the
 * database (metricsdb.h: batch hosts serve no /metrics of their own). Not
 * in the job's own transaction: a crash between the two loses one count,
 * never doubles one.
 */
static void jobrun_count(struct db *db, const struct job_claimed *j, const char *outcome,
			 double seconds)
{
	char key[METRICS_KEY_MAX];
	const char *labels[] = {"service", j->service, "engine", j->engine ? j->engine : "local",
				"status",  outcome,    NULL};

	if (metrics_key(key, "ia_jobs_total", labels) == 0 && metricsdb_count(db, key, 1) != 0)
		log_warn("job %lld: cannot count it in metric_counters", (long long)j->id);
	labels[4] = NULL;
	if (metrics_key(key, "ia_job_duration_seconds", labels) == 0)
		(void)metricsdb_observe(db, key, seconds);
}

/* Count the Stability AI attempts a child reported, in the database (the
 * child has no connection; batch hosts serve no /metrics). */
static void jobrun_count_stability(struct db *db, const struct jobrun_report *r)
{
	char key[METRICS_KEY_MAX];

	for (int i = 0; i < r->stab_n && i < STABILITY_TRIES; i++) {
		const char *labels[] = {"outcome", metrics_outcome(r->stab_status[i]), NULL};

		if (metrics_key(key, "ia_stability_requests_total", labels) == 0)
			(void)metricsdb_count(db, key, 1);
		(void)metricsdb_observe(db, "ia_stability_request_duration_seconds",
					r->stab_seconds[i]);
	}
}

void jobrun_beat(struct db *db, const struct jobrun_self *w, bool force)
{
	static int64_t last;
	int64_t now = ia_now();

	if (!force && now - last < BATCH_BEAT_SECONDS)
		return;
	last = now;
	if (batch_beat(db, w->id, w->host, (int64_t)getpid(), w->mode) != 0)
		log_warn("cannot record the batch heartbeat");
}

/* The key of the preview beside the result's: "images/ab/<hex>.png" gives
 * "images/ab/<hex>.preview.webp" (also when the result is a WebP). */
static void jobrun_thumb_key(const char *key, char out[STORE_KEY_MAX])
{
	const char *dot = strrchr(key, '.');
	int stem = dot != NULL ? (int)(dot - key) : (int)strlen(key);

	snprintf(out, STORE_KEY_MAX, "%.*s.preview.webp", stem, key);
}

/* This run's temp directory and the engine's output path in it (heap). */
static int jobrun_tmp(const struct settings *s, const struct job_claimed *j, enum img_format fmt,
		      char **dir, char **out_path)
{
	*dir = store_tmp_mkdtemp(s, "ia-job-");
	if (*dir == NULL) {
		log_error("job %lld: cannot create a temp directory under %s/tmp: %s",
			  (long long)j->id, s->media_root, strerror(errno));
		return IA_ERR_IO;
	}
	*out_path = xasprintf("%s/out.%s", *dir, imgio_format_ext(fmt));
	return 0;
}

int jobrun_run_one(struct db *db, const struct settings *s, const struct jobrun_self *w)
{
	struct job_claimed j;
	struct img_param params[JOBRUN_MAX_PARAMS];
	char numbuf[JOBRUN_MAX_PARAMS][32];
	char key[STORE_KEY_MAX], thumb_key[STORE_KEY_MAX], normal_key[STORE_KEY_MAX] = "";
	struct jobrun_report r;
	struct jobrun_task t = {0};
	enum img_format fmt = IMG_FMT_PNG;
	enum jobrun_end end;
	cJSON *json = NULL;
	char *dir = NULL, *out_path = NULL, *ai = NULL;
	const char *outcome;
	double started;
	size_t n;
	int rc;

	jobs_reclaim_dead(db, w->host, NULL);
	rc = jobs_claim(db, w->id, JOBRUN_LEASE, &j);
	if (rc != 0)
		return rc;
	started = metrics_clock();
	n = jobrun_params(j.params, &json, params, numbuf);
	if (imgops_params_format(params, n, &fmt) != 0)
		fmt = IMG_FMT_PNG;
	store_new_key("images", imgio_format_ext(fmt), key);
	jobrun_thumb_key(key, thumb_key);
	if (jobrun_tmp(s, &j, fmt, &dir, &out_path) != 0) {
		memset(&r, 0, sizeof(r));
		r.rc = IA_ERR_IO;
		snprintf(r.err, sizeof(r.err), "The result could not be saved.");
		end = JOBRUN_REPORTED;
	} else {
		t.s = s;
		t.j = &j;
		t.dir = dir;
		t.out_path = out_path;
		t.key = key;
		t.thumb_key = thumb_key;
		t.fmt = fmt;
		t.p = params;
		t.n = n;
		t.lease_seconds = w->max_seconds;
		if (j.source_raw && j.source_key != NULL)
			jobrun_normal_key(&j, normal_key);
		end = jobrun_fork(db, w, &t, normal_key, &r, &ai);
		if (end != JOBRUN_REPORTED) /* the child may have published it */
			snprintf(r.source_key, sizeof(r.source_key), "%s", normal_key);
		store_tmp_rmdir(dir);
	}
	jobrun_count_stability(db, &r);
	outcome = jobrun_record(db, s, w, &j, end, &r, ai, key, thumb_key);
	jobrun_count(db, &j, outcome, metrics_clock() - started);
	free(ai);
	cJSON_Delete(json);
	free(out_path);
	free(dir);
	jobs_claimed_cleanup(&j);
	return 0;
}
