/*
 * ia-batch-run.c - `ia-batch --run SLUG IN OUT [key=value ...]`: parse the
 * command line into service parameters and hand them to imgops_run_service.
 */
#include "config.h"

#include "ia-batch-run.h"
#include "imgops.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define BATCH_RUN_MAX_PARAMS 32

static int batch_run_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --run SLUG IN OUT [key=value ...]\n"
		"  SLUG: greyscale resize thumbnail cropping enhancement outline\n"
		"        remove-background avatar\n"
		"  format=png|jpeg|webp (default: OUT's extension, else png)\n",
		prog);
	return 2;
}

/* Split key=value arguments in place into params; false on a bad one. */
static bool batch_run_params(int argc, char **argv, struct img_param *p, size_t *n)
{
	int i;

	*n = 0;
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL || eq == argv[i] || *n == BATCH_RUN_MAX_PARAMS)
			return false;
		*eq = '\0';
		p[*n].key = argv[i];
		p[*n].value = eq + 1;
		(*n)++;
	}
	return true;
}

/*
 * format= wins, else OUT's extension, else PNG. A bad format= value yields
 * PNG here and is reported by the service's own validation.
 */
static enum img_format batch_run_format(const struct img_param *p, size_t n, const char *out)
{
	enum img_format fmt = IMG_FMT_PNG;
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(p[i].key, "format") == 0)
			return imgops_params_format(p, n, &fmt) == 0 ? fmt : IMG_FMT_PNG;
	}
	fmt = imgio_format_from_extension(out);
	return fmt == IMG_FMT_JPEG || fmt == IMG_FMT_WEBP ? fmt : IMG_FMT_PNG;
}

int batch_run_cli(int argc, char **argv)
{
	struct img_param params[BATCH_RUN_MAX_PARAMS];
	struct img_result res;
	enum img_format fmt;
	char err[256] = "";
	size_t n = 0;
	int rc;

	if (argc < 5 || strcmp(argv[1], "--run") != 0 ||
	    !batch_run_params(argc - 5, argv + 5, params, &n))
		return batch_run_usage(argc > 0 ? argv[0] : "ia-batch");
	fmt = batch_run_format(params, n, argv[4]);
	rc = imgops_run_service(argv[2], argv[3], argv[4], fmt, params, n, &res, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s (%s)\n", argv[0], argv[2], err, ia_strerror(rc));
		return rc == IA_ERR_NOTFOUND ? 2 : 1;
	}
	printf("%s %ux%u %llu bytes %s\n", argv[4], (unsigned)res.width, (unsigned)res.height,
	       (unsigned long long)res.bytes, imgio_format_name(res.format));
	return 0;
}
