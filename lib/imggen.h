/*
 * imggen.h - the LOCAL PLACEHOLDER generator, for development only
 * (LOCAL_GENERATOR=1): instead of calling Stability AI it paints a
 * deterministic abstract picture (gradient, rings and grain, plus the words
 * "LOCAL PLACEHOLDER") from the prompt and seed, at the size Stability's
 * core model gives the aspect ratio. Its jobs say so in ai_response:
 * {"provider": "local", "placeholder": true, "seed": N}.
 */
#ifndef IA_IMGGEN_H
#define IA_IMGGEN_H

#include <stdint.h>

#include "imgops.h"

/*
 * The output size of aspect_ratio ("16:9" -> 1344 x 768, ...; NULL means
 * "16:9"). IA_ERR_INVAL for a ratio API.md does not list.
 */
int imggen_size(const char *aspect_ratio, uint32_t *w, uint32_t *h);

/*
 * Paint the placeholder for prompt (not NULL) and seed (decimal text in
 * 0..4294967294, or NULL: derived from the prompt) and encode it as fmt
 * (png, jpeg or webp) at out_path via a temp file and rename. The same
 * prompt, seed and ratio always give the same pixels. On success fills
 * *out and sets *ai_response to heap JSON text (caller frees). IA_ERR_INVAL
 * for a bad ratio, seed or format; IA_ERR_IO when the file cannot be
 * written.
 */
int imggen_generate(const char *prompt, const char *aspect_ratio, const char *seed,
		    enum img_format fmt, const char *out_path, struct img_result *out,
		    char **ai_response);

#endif
