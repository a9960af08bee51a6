/*
 * test_imgmask.c - unit tests for lib/imgmask.c against imgmask.h on small
 * masks drawn from strings: keeping parts by size (min_size, SIZE_MAX, the
 * largest always, 8-connectivity across diagonals), filling enclosed holes
 * but not bays open to the border (background 4-connected), and the box
 * neighbourhood of a mask (exact distance, image edges, gap 0, empty).
 */
#include "config.h"

#include "imgmask.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows of '#' (1) and '.' (0) into a mask; returns its size. */
static size_t parse(const char *const *rows, int h, uint8_t *m)
{
	int w = (int)strlen(rows[0]);

	for (int y = 0; y < h; y++) {
		ck_assert_int_eq((int)strlen(rows[y]), w);
		for (int x = 0; x < w; x++)
			m[y * w + x] = rows[y][x] == '#';
	}
	return (size_t)w * h;
}

static void assert_mask(const uint8_t *got, const char *const *rows, int h)
{
	uint8_t want[256];
	int w = (int)strlen(rows[0]);

	parse(rows, h, want);
	for (int i = 0; i < w * h; i++)
		ck_assert_msg(got[i] == want[i], "pixel (%d, %d): %d, want %d", i % w, i / w,
			      got[i], want[i]);
}

/* Parts of 12, 5, 2 and 1 pixels. */
static const char *const parts[] = {
    "####......", "####...#..", "####..###.", ".......#..",
    "..........", "##......#.", "..........",
};

START_TEST(keep_parts_by_size)
{
	static const char *const big_and_mid[] = {
	    "####......", "####...#..", "####..###.", ".......#..",
	    "..........", "..........", "..........",
	};
	static const char *const big[] = {
	    "####......", "####......", "####......", "..........",
	    "..........", "..........", "..........",
	};
	uint8_t m[70];

	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, 0);
	assert_mask(m, parts, 7);
	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, 2);
	ck_assert_int_eq(m[5 * 10 + 8], 0);
	ck_assert_int_eq(m[5 * 10 + 0] + m[5 * 10 + 1] + m[1 * 10 + 7], 3);
	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, 5);
	assert_mask(m, big_and_mid, 7);
	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, 6);
	assert_mask(m, big, 7);
	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, SIZE_MAX);
	assert_mask(m, big, 7);
	/* the largest stays even when smaller than min_size */
	parse(parts, 7, m);
	imgmask_keep_parts(m, 10, 7, 100);
	assert_mask(m, big, 7);
}
END_TEST

/* Two 2 x 2 squares touching at a corner are one part of 8, beating 6. */
START_TEST(keep_parts_diagonal_is_connected)
{
	static const char *const in[] = {
	    "##.......", "##.......", "..##.....", "..##..###", "......###", ".........",
	};
	static const char *const out[] = {
	    "##.......", "##.......", "..##.....", "..##.....", ".........", ".........",
	};
	static const char *const chain[] = {
	    "#.......", ".#......", "..#.....", "...#....", "....#...", "........",
	};
	static const char *const none[] = {"....", "...."};
	uint8_t m[64];

	parse(in, 6, m);
	imgmask_keep_parts(m, 9, 6, SIZE_MAX);
	assert_mask(m, out, 6);
	/* a diagonal chain of single pixels is one part of 5 */
	parse(chain, 6, m);
	imgmask_keep_parts(m, 8, 6, 2);
	assert_mask(m, chain, 6);
	parse(none, 2, m);
	imgmask_keep_parts(m, 4, 2, SIZE_MAX);
	assert_mask(m, none, 2);
}
END_TEST

START_TEST(fill_holes_enclosed_only)
{
	static const char *const in[] = {
	    "..........", ".#####....", ".#...#.###", ".#.#.#.#..",
	    ".#...#.#.#", ".#####.###", "..........",
	};
	static const char *const out[] = {
	    "..........", ".#####....", ".#####.###", ".#####.#..",
	    ".#####.#.#", ".#####.###", "..........",
	};
	uint8_t m[70];

	parse(in, 7, m);
	imgmask_fill_holes(m, 10, 7);
	assert_mask(m, out, 7);
}
END_TEST

/* A hole whose only way out is diagonal is enclosed (background 4-connected). */
START_TEST(fill_holes_background_is_4_connected)
{
	static const char *const in[] = {
	    "........", "..####..", ".#...#..", ".#...#..", ".#...#..", ".#####..", "........",
	};
	static const char *const out[] = {
	    "........", "..####..", ".#####..", ".#####..", ".#####..", ".#####..", "........",
	};
	static const char *const bay[] = {
	    "#...#",
	    "#...#",
	    "#...#",
	    "#####",
	};
	uint8_t m[56];

	parse(in, 7, m);
	imgmask_fill_holes(m, 8, 7);
	assert_mask(m, out, 7);
	/* a bay open to the top edge is not a hole */
	parse(bay, 4, m);
	imgmask_fill_holes(m, 5, 4);
	assert_mask(m, bay, 4);
}
END_TEST

/* A single pixel at (5, 5): near is exactly its box of side 2 gap + 1. */
START_TEST(near_is_box_distance)
{
	uint8_t fg[121] = {0}, near[121];

	fg[5 * 11 + 5] = 1;
	for (int gap = 0; gap <= 6; gap++) {
		imgmask_near(fg, 11, 11, gap, near);
		for (int y = 0; y < 11; y++)
			for (int x = 0; x < 11; x++) {
				int dx = abs(x - 5), dy = abs(y - 5);
				int want = (dx > dy ? dx : dy) <= gap;

				ck_assert_msg(near[y * 11 + x] == want, "gap %d (%d, %d): %d", gap,
					      x, y, near[y * 11 + x]);
			}
	}
}
END_TEST

START_TEST(near_at_edges_gap0_and_empty)
{
	static const char *const in[] = {
	    "#.......", "........", "........", "........", ".......#",
	};
	static const char *const gap2[] = {
	    "###.....", "###.....", "###..###", ".....###", ".....###",
	};
	uint8_t fg[40], near[40], empty[40] = {0};

	parse(in, 5, fg);
	imgmask_near(fg, 8, 5, 2, near);
	assert_mask(near, gap2, 5);
	imgmask_near(fg, 8, 5, 0, near);
	assert_mask(near, in, 5);
	memset(near, 7, sizeof(near));
	imgmask_near(empty, 8, 5, 3, near);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(near[i], 0);
	/* a gap larger than the image covers all of it */
	imgmask_near(fg, 8, 5, 20, near);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(near[i], 1);
}
END_TEST

static Suite *imgmask_suite(void)
{
	Suite *s = suite_create("imgmask");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, keep_parts_by_size);
	tcase_add_test(tc, keep_parts_diagonal_is_connected);
	tcase_add_test(tc, fill_holes_enclosed_only);
	tcase_add_test(tc, fill_holes_background_is_4_connected);
	tcase_add_test(tc, near_is_box_distance);
	tcase_add_test(tc, near_at_edges_gap0_and_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imgmask_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
