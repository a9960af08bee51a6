/*
 * test_imgflow.c - unit tests for lib/imgflow.c: the grid max-flow. Small
 * cuts with a known answer (a chain, a 3 x 3 grid using diagonal arcs);
 * on random small grids the cut found costs exactly the brute-force
 * minimum over every labelling, and stays minimal after the terminal
 * capacities change by imgflow_add_terminal and the run goes on from the
 * old flow (also when a change flips a pixel from source to sink); the
 * growable stack; the contrast n-links (exact weights on a uniform image
 * and across a colour edge).
 */
#include "config.h"

#include "imgflow.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * A 4 x 1 chain s -> a - b - c - d -> t with edge capacities 5, 1, 5: the
 * cheapest cut is the middle edge.
 */
START_TEST(maxflow_chain)
{
	struct imgflow f;

	imgflow_init(&f, 4, 1);
	imgflow_set_terminal(&f, 0, 0, 10, 0);
	imgflow_set_terminal(&f, 3, 0, 0, 10);
	imgflow_set_edge(&f, 0, 0, 0, 5);
	imgflow_set_edge(&f, 1, 0, 0, 1);
	imgflow_set_edge(&f, 2, 0, 0, 5);
	imgflow_run(&f);
	ck_assert_int_eq(imgflow_is_source(&f, 0, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 1, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 2, 0), 0);
	ck_assert_int_eq(imgflow_is_source(&f, 3, 0), 0);
	/* reuse: make the middle edge expensive, the cut moves to the end */
	imgflow_clear(&f);
	imgflow_set_terminal(&f, 0, 0, 10, 0);
	imgflow_set_terminal(&f, 3, 0, 0, 10);
	imgflow_set_edge(&f, 0, 0, 0, 5);
	imgflow_set_edge(&f, 1, 0, 0, 9);
	imgflow_set_edge(&f, 2, 0, 0, 3);
	imgflow_run(&f);
	ck_assert_int_eq(imgflow_is_source(&f, 2, 0), 1);
	ck_assert_int_eq(imgflow_is_source(&f, 3, 0), 0);
	imgflow_cleanup(&f);
}
END_TEST

/*
 * A 3 x 3 grid, source on the left column and sink on the right; the
 * vertical middle column is only weakly linked to the right: cut there.
 * Also checks the flow uses diagonal arcs (set with directions 1 and 3).
 */
START_TEST(maxflow_grid)
{
	struct imgflow f;

	imgflow_init(&f, 3, 3);
	for (int y = 0; y < 3; y++) {
		imgflow_set_terminal(&f, 0, y, 100, 0);
		imgflow_set_terminal(&f, 2, y, 0, 100);
		imgflow_set_edge(&f, 0, y, 0, 50);
		imgflow_set_edge(&f, 1, y, 0, 1);
		if (y < 2) {
			imgflow_set_edge(&f, 0, y, 1, 50);
			imgflow_set_edge(&f, 1, y, 1, 0.5f);
			imgflow_set_edge(&f, 2, y, 3, 0.5f);
			imgflow_set_edge(&f, 1, y, 3, 50);
		}
	}
	imgflow_run(&f);
	for (int y = 0; y < 3; y++) {
		ck_assert_int_eq(imgflow_is_source(&f, 0, y), 1);
		ck_assert_int_eq(imgflow_is_source(&f, 1, y), 1);
		ck_assert_int_eq(imgflow_is_source(&f, 2, y), 0);
	}
	imgflow_cleanup(&f);
}
END_TEST

/* Past its first capacity (1024) the stack grows and keeps every value in order. */
START_TEST(flow_stack_grows_in_order)
{
	struct imgflow_stack st = {NULL, 0, 0};

	for (int32_t i = 0; i < 5000; i++)
		imgflow_stack_push(&st, i * 7 - 3);
	ck_assert_uint_eq(st.len, 5000);
	ck_assert_uint_ge(st.cap, st.len);
	for (int32_t i = 0; i < 5000; i++)
		ck_assert_int_eq(st.v[i], i * 7 - 3);
	st.len = 0; /* popped empty, it is reused without shrinking */
	imgflow_stack_push(&st, 42);
	ck_assert_int_eq(st.v[0], 42);
	free(st.v);
}
END_TEST

/* A random graph on a GW x GH grid, every arc and terminal kept for costing. */
enum { GW = 4, GH = 3, GN = GW * GH };

struct rgraph {
	float src[GN], snk[GN], edge[GN][4];
};

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static float rnd_cap(uint32_t *s, float max)
{
	return (float)(rnd(s) % 1000) / 1000.0f * max;
}

static void rgraph_make(struct rgraph *g, uint32_t *seed)
{
	for (int i = 0; i < GN; i++) {
		g->src[i] = rnd_cap(seed, 10);
		g->snk[i] = rnd_cap(seed, 10);
		for (int d = 0; d < 4; d++)
			g->edge[i][d] = rnd_cap(seed, 6);
	}
}

static void rgraph_load(const struct rgraph *g, struct imgflow *f)
{
	imgflow_clear(f);
	for (int i = 0; i < GN; i++) {
		imgflow_set_terminal(f, i % GW, i / GW, g->src[i], g->snk[i]);
		for (int d = 0; d < 4; d++)
			imgflow_set_edge(f, i % GW, i / GW, d, g->edge[i][d]);
	}
}

/* Cost of the cut that puts the pixels of bit mask `source` on the source side. */
static double rgraph_cost(const struct rgraph *g, unsigned source)
{
	double c = 0;

	for (int i = 0; i < GN; i++) {
		int si = (source >> i) & 1, x = i % GW, y = i / GW;

		c += si ? g->snk[i] : g->src[i];
		for (int d = 0; d < 4; d++) {
			int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];

			if (nx < 0 || nx >= GW || ny >= GH)
				continue;
			if (si != (int)((source >> (ny * GW + nx)) & 1))
				c += g->edge[i][d]; /* undirected: cut either way */
		}
	}
	return c;
}

static double rgraph_min(const struct rgraph *g)
{
	double best = INFINITY;

	for (unsigned m = 0; m < 1u << GN; m++) {
		double c = rgraph_cost(g, m);

		best = c < best ? c : best;
	}
	return best;
}

static unsigned flow_labels(const struct imgflow *f)
{
	unsigned m = 0;

	for (int i = 0; i < GN; i++)
		m |= (unsigned)imgflow_is_source(f, i % GW, i / GW) << i;
	return m;
}

/* On 300 random grids the cut found is a minimum cut. */
START_TEST(maxflow_random_is_minimal)
{
	uint32_t seed = 7;
	struct imgflow f;
	struct rgraph g;

	imgflow_init(&f, GW, GH);
	for (int t = 0; t < 300; t++) {
		rgraph_make(&g, &seed);
		rgraph_load(&g, &f);
		imgflow_run(&f);
		ck_assert_double_eq_tol(rgraph_cost(&g, flow_labels(&f)), rgraph_min(&g), 1e-3);
	}
	imgflow_cleanup(&f);
}
END_TEST

/*
 * Run, then move every terminal capacity (by up to +-8, so pixels change
 * sides) with imgflow_add_terminal and run again from the old flow, three
 * times per graph: each cut is a minimum cut of the changed graph.
 */
START_TEST(maxflow_changed_terminals_continue)
{
	uint32_t seed = 11;
	struct imgflow f;
	struct rgraph g;
	int moved = 0;

	imgflow_init(&f, GW, GH);
	for (int t = 0; t < 200; t++) {
		unsigned before;

		rgraph_make(&g, &seed);
		rgraph_load(&g, &f);
		imgflow_run(&f);
		before = flow_labels(&f);
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < GN; i++) {
				float delta = rnd_cap(&seed, 16) - 8;

				/* keep both capacities >= 0 for the brute force */
				if (delta >= 0)
					g.src[i] += delta;
				else
					g.snk[i] -= delta;
				imgflow_add_terminal(&f, i % GW, i / GW, delta);
			}
			imgflow_run(&f);
			ck_assert_double_eq_tol(rgraph_cost(&g, flow_labels(&f)), rgraph_min(&g),
						1e-3);
		}
		moved += flow_labels(&f) != before;
	}
	ck_assert_int_gt(moved, 100); /* the changes did move the cuts */
	imgflow_cleanup(&f);
}
END_TEST

/*
 * A uniform image: every link is gamma, gamma / sqrt 2 on the diagonals
 * (directions 1 and 3), 0 towards a neighbour outside the image.
 */
START_TEST(flow_nlinks_uniform)
{
	enum { NW = 5, NH = 4 };
	float rgb[NW * NH * 3], nl[NW * NH * 4];

	for (int i = 0; i < NW * NH * 3; i++)
		rgb[i] = (float)(40 + i % 3 * 50);
	imgflow_nlinks(rgb, NW, NH, 10.0, nl);
	for (int y = 0; y < NH; y++)
		for (int x = 0; x < NW; x++)
			for (int d = 0; d < 4; d++) {
				int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
				int inside = nx >= 0 && nx < NW && ny < NH;
				float want = inside ? (d & 1 ? 10.0f / sqrtf(2) : 10.0f) : 0;

				ck_assert_float_eq_tol(nl[4 * (y * NW + x) + d], want, 1e-5f);
			}
}
END_TEST

/*
 * Two colours left and right of x = 3.5 in an 8 x 8 image: of the 210
 * neighbour pairs 22 cross the edge, so beta |dz|^2 = 210 / 44 there and
 * a link across weighs gamma exp(-210 / 44), one along it gamma.
 */
START_TEST(flow_nlinks_colour_edge)
{
	float rgb[8 * 8 * 3], nl[8 * 8 * 4];
	const float across = (float)(10.0 * exp(-210.0 / 44));

	for (int i = 0; i < 64; i++)
		for (int c = 0; c < 3; c++)
			rgb[3 * i + c] = i % 8 < 4 ? 30.0f + c : 200.0f - 20 * c;
	imgflow_nlinks(rgb, 8, 8, 10.0, nl);
	for (int y = 0; y < 7; y++) {
		const float *l = nl + 4 * (y * 8 + 3), *r = nl + 4 * (y * 8 + 4);

		ck_assert_float_eq_tol(l[0], across, 1e-5f);            /* E, across */
		ck_assert_float_eq_tol(l[1], across / sqrtf(2), 1e-5f); /* SE, across */
		ck_assert_float_eq_tol(r[3], across / sqrtf(2), 1e-5f); /* SW, across */
		ck_assert_float_eq_tol(l[2], 10.0f, 1e-5f);             /* S, along */
		ck_assert_float_eq_tol(l[3], 10.0f / sqrtf(2), 1e-5f);  /* SW, same side */
		ck_assert_float_lt(l[0], 0.01f * l[2]);
	}
}
END_TEST

static Suite *imgflow_suite(void)
{
	Suite *s = suite_create("imgflow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, maxflow_chain);
	tcase_add_test(tc, maxflow_grid);
	tcase_add_test(tc, maxflow_random_is_minimal);
	tcase_add_test(tc, maxflow_changed_terminals_continue);
	tcase_add_test(tc, flow_stack_grows_in_order);
	tcase_add_test(tc, flow_nlinks_uniform);
	tcase_add_test(tc, flow_nlinks_colour_edge);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgflow_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
