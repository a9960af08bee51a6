/*
 * confidence_wrap.c - a test double for tests/api/test_engine_auto.py.
 * Linked into tests/api/ia-batch-confidence (ia-batch itself, otherwise
 * unchanged) with -Wl,--wrap=imgseg_remove_background: the real engine
 * cuts the image, then the confidence it reports is replaced by the value
 * of IA_TEST_BG_CONFIDENCE when that is set, so a test decides on which
 * side of BG_MIN_CONFIDENCE a job lands whatever the engine of the day
 * reports. Never installed, never started by the stack.
 */
#include "config.h"

#include "imgseg.h"

#include <stdlib.h>

gdImagePtr __real_imgseg_remove_background(gdImagePtr src, double *confidence);
gdImagePtr __wrap_imgseg_remove_background(gdImagePtr src, double *confidence);

/* imgseg_remove_background with the confidence IA_TEST_BG_CONFIDENCE names. */
gdImagePtr __wrap_imgseg_remove_background(gdImagePtr src, double *confidence)
{
	const char *forced = getenv("IA_TEST_BG_CONFIDENCE");
	gdImagePtr out = __real_imgseg_remove_background(src, confidence);

	if (out != NULL && confidence != NULL && forced != NULL && *forced != '\0')
		*confidence = strtod(forced, NULL);
	return out;
}
