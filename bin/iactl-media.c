/*
 * iactl-media.c - `iactl media orphans [--clean] [--json]`: what under
 * MEDIA_ROOT nothing owns (stale temp files of killed workers, files no
 * image row names) and rows whose files are missing (lib/orphans.h).
 */
#include "config.h"

#include "iactl.h"
#include "orphans.h"
#include "settings.h"

#include <stdio.h>

#include <cjson/cJSON.h>

static void iactl_media_print(void *ud, const char *kind, const char *key)
{
	cJSON *list = ud;
	cJSON *o;

	if (list == NULL) {
		printf("%-8s %s\n", kind, key);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddItemToArray(list, o);
}

int iactl_media_orphans(struct db *db, const struct iactl_args *a)
{
	struct orphans_report rep;
	struct settings s;
	cJSON *list = a->json ? cJSON_CreateArray() : NULL, *o;
	int rc;

	if (iactl_settings(&s) != IACTL_OK) {
		cJSON_Delete(list);
		return IACTL_FAIL;
	}
	rc = orphans_scan(db, &s, ORPHANS_MIN_AGE, a->clean, iactl_media_print, list, &rep);
	settings_cleanup(&s);
	if (rc != 0) {
		cJSON_Delete(list);
		return iactl_fail("media orphans", rc);
	}
	if (list != NULL) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "findings", list);
		cJSON_AddItemToObject(o, "tmp_files", iactl_json_int(rep.tmp_files));
		cJSON_AddItemToObject(o, "orphan_files", iactl_json_int(rep.orphan_files));
		cJSON_AddItemToObject(o, "missing_files", iactl_json_int(rep.missing_files));
		cJSON_AddItemToObject(o, "removed", iactl_json_int(rep.removed));
		return iactl_json_print(o);
	}
	printf("%lld stale temp file(s), %lld orphan file(s), %lld missing file(s)%s",
	       (long long)rep.tmp_files, (long long)rep.orphan_files, (long long)rep.missing_files,
	       a->clean ? "" : "\n");
	if (a->clean)
		printf("; %lld removed\n", (long long)rep.removed);
	return IACTL_OK;
}
