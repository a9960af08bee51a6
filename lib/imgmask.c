/*
 * imgmask.c - clean-up of binary masks (imgmask.h): connected components
 * by an explicit stack (no recursion, any image size), and a box dilation
 * by running distances, O(pixels) whatever the radius; box sums of float
 * planes by running sums.
 */
#include "config.h"

#include "imgmask.h"
#include "imgflow.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Keep the 8-connected foreground components of at least min_size pixels
 * and the largest one (min_size SIZE_MAX: only the largest).
 */
void imgmask_keep_parts(uint8_t *fg, int w, int h, size_t min_size)
{
	size_t n = (size_t)w * h, best_size = 0;
	int32_t *lab = xcalloc(n, sizeof(*lab)), best = 0, next = 0;
	struct imgflow_stack st = {NULL, 0, 0}, keep = {NULL, 0, 0}; /* keep.v[label - 1] */

	for (size_t s = 0; s < n; s++) {
		size_t size = 0;

		if (!fg[s] || lab[s])
			continue;
		lab[s] = ++next;
		imgflow_stack_push(&st, (int32_t)s);
		while (st.len > 0) {
			int32_t i = st.v[--st.len];
			int x = i % w, y = i / w;

			size++;
			for (int d = 0; d < 8; d++) {
				int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
				int32_t j = ny * w + nx;

				if (nx < 0 || ny < 0 || nx >= w || ny >= h || !fg[j] || lab[j])
					continue;
				lab[j] = next;
				imgflow_stack_push(&st, j);
			}
		}
		imgflow_stack_push(&keep, size >= min_size);
		if (size > best_size) {
			best_size = size;
			best = next;
		}
	}
	for (size_t i = 0; i < n; i++)
		fg[i] = lab[i] != 0 && (lab[i] == best || keep.v[lab[i] - 1]);
	free(keep.v);
	free(lab);
	free(st.v);
}

/* Background regions not 4-connected to the image border become foreground. */
void imgmask_fill_holes(uint8_t *fg, int w, int h)
{
	size_t n = (size_t)w * h;
	uint8_t *seen = xcalloc(n, 1);
	struct imgflow_stack st = {NULL, 0, 0};

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int32_t i = y * w + x;

			if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && !fg[i]) {
				seen[i] = 1;
				imgflow_stack_push(&st, i);
			}
		}
	while (st.len > 0) {
		int32_t i = st.v[--st.len];
		int x = i % w, y = i / w;

		for (int d = 0; d < 8; d += 2) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
			int32_t j = ny * w + nx;

			if (nx < 0 || ny < 0 || nx >= w || ny >= h || fg[j] || seen[j])
				continue;
			seen[j] = 1;
			imgflow_stack_push(&st, j);
		}
	}
	for (size_t i = 0; i < n; i++)
		fg[i] = !seen[i];
	free(seen);
	free(st.v);
}

void imgmask_near(const uint8_t *fg, int w, int h, int gap, uint8_t *near)
{
	int *last = xmalloc((size_t)w * sizeof(*last));

	/* rows: the nearest foreground on the left and on the right */
	for (int y = 0; y < h; y++) {
		const uint8_t *row = fg + (size_t)y * w;
		uint8_t *out = near + (size_t)y * w;
		int prev = -1 - gap;

		for (int x = 0; x < w; x++) {
			prev = row[x] ? x : prev;
			out[x] = x - prev <= gap;
		}
		prev = w + gap;
		for (int x = w - 1; x >= 0; x--) {
			prev = row[x] ? x : prev;
			out[x] |= prev - x <= gap;
		}
	}
	/* columns of that (bit 1): the box of side 2 gap + 1 */
	for (int x = 0; x < w; x++)
		last[x] = -1 - gap;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *o = near + (size_t)y * w + x;

			last[x] = *o & 1 ? y : last[x];
			*o |= (uint8_t)((y - last[x] <= gap) << 1);
		}
	for (int x = 0; x < w; x++)
		last[x] = h + gap;
	for (int y = h - 1; y >= 0; y--)
		for (int x = 0; x < w; x++) {
			uint8_t *o = near + (size_t)y * w + x;

			last[x] = *o & 1 ? y : last[x];
			*o |= (uint8_t)((last[x] - y <= gap) << 1);
		}
	for (size_t i = 0; i < (size_t)w * h; i++)
		near[i] = (near[i] & 2) != 0;
	free(last);
}

/* z of (b - a) x (c - a): > 0 when a, b, c turn counter-clockwise. */
static long hull_turn(const int *a, const int *b, const int *c)
{
	return (long)(b[0] - a[0]) * (c[1] - a[1]) - (long)(b[1] - a[1]) * (c[0] - a[0]);
}

/*
 * Convex hull of pts (n points, already sorted by y then x) by the
 * monotone chain; writes the corners to hull, returns their count.
 */
static int hull_chain(const int (*pts)[2], int n, int (*hull)[2])
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		while (k >= 2 && hull_turn(hull[k - 2], hull[k - 1], pts[i]) <= 0)
			k--;
		memcpy(hull[k++], pts[i], sizeof(hull[0]));
	}
	for (int i = n - 2, lower = k + 1; i >= 0; i--) {
		while (k >= lower && hull_turn(hull[k - 2], hull[k - 1], pts[i]) <= 0)
			k--;
		memcpy(hull[k++], pts[i], sizeof(hull[0]));
	}
	return k > 1 ? k - 1 : k;
}

/* Fill row y of inside between the hull's crossings of it. */
static void hull_fill_row(const int (*hull)[2], int k, int w, int y, uint8_t *row)
{
	double lo = HUGE_VAL, hi = -HUGE_VAL;

	for (int i = 0; i < k; i++) {
		const int *a = hull[i], *b = hull[(i + 1) % k];

		if ((a[1] > y && b[1] > y) || (a[1] < y && b[1] < y))
			continue;
		if (a[1] == b[1]) {
			lo = fmin(lo, fmin(a[0], b[0]));
			hi = fmax(hi, fmax(a[0], b[0]));
			continue;
		}
		double x = a[0] + (double)(y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);

		lo = fmin(lo, x);
		hi = fmax(hi, x);
	}
	for (int x = (int)ceil(lo - 1e-9); x <= (int)floor(hi + 1e-9) && x < w; x++)
		if (x >= 0)
			row[x] = 1;
}

void imgmask_hull(const uint8_t *m, int w, int h, uint8_t *inside)
{
	int(*pts)[2] = xmalloc((size_t)2 * h * sizeof(*pts)), (*hull)[2], n = 0, k;

	memset(inside, 0, (size_t)w * h);
	for (int y = 0; y < h; y++) { /* the outermost pixels of each row suffice */
		int x0 = -1, x1 = -1;

		for (int x = 0; x < w; x++)
			if (m[(size_t)y * w + x]) {
				x0 = x0 < 0 ? x : x0;
				x1 = x;
			}
		if (x0 < 0)
			continue;
		pts[n][0] = x0;
		pts[n++][1] = y;
		if (x1 != x0) {
			pts[n][0] = x1;
			pts[n++][1] = y;
		}
	}
	if (n == 0) {
		free(pts);
		return;
	}
	hull = xmalloc((size_t)(n + 1) * sizeof(*hull));
	k = hull_chain((const int(*)[2])pts, n, hull);
	for (int y = hull[0][1]; y < h; y++)
		hull_fill_row((const int(*)[2])hull, k, w, y, inside + (size_t)y * w);
	free(hull);
	free(pts);
}

void imgmask_box_sum(float *plane, int w, int h, int r)
{
	size_t longest = (size_t)(w > h ? w : h);
	double *line = xmalloc((longest + 1) * sizeof(*line));

	for (int y = 0; y < h; y++) {
		float *row = plane + (size_t)y * w;

		line[0] = 0;
		for (int x = 0; x < w; x++)
			line[x + 1] = line[x] + row[x];
		for (int x = 0; x < w; x++) {
			int a = x - r < 0 ? 0 : x - r, b = x + r + 1 > w ? w : x + r + 1;

			row[x] = (float)(line[b] - line[a]);
		}
	}
	for (int x = 0; x < w; x++) {
		line[0] = 0;
		for (int y = 0; y < h; y++)
			line[y + 1] = line[y] + plane[(size_t)y * w + x];
		for (int y = 0; y < h; y++) {
			int a = y - r < 0 ? 0 : y - r, b = y + r + 1 > h ? h : y + r + 1;

			plane[(size_t)y * w + x] = (float)(line[b] - line[a]);
		}
	}
	free(line);
}
