/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/: the
 * entry point's prototype (-Wmissing-prototypes), a C string made from
 * the input, and an in-memory file (memfd) reachable by path for code that
 * only opens paths (imgio_probe_file, imgio_decode_file, the settings file).
 */
#ifndef IA_FUZZ_H
#define IA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy of data (malloc; the caller frees). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * Replace the contents of this process's memfd with data and return its
 * path ("/proc/self/fd/N", static storage). Aborts when the memfd cannot
 * be created or written: that is the harness failing, not the target.
 */
const char *fuzz_memfile(const uint8_t *data, size_t size);

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF). */
int fuzz_utf8_valid(const char *s, size_t len);

/* A private directory under $TMPDIR (or /tmp), made once; static path. */
const char *fuzz_tmpdir(void);

#endif
