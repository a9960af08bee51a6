"""API.md "Images", issue 13 point 1: while a job is pending, the status reply
(202) carries `position`, the number of jobs ia-batch will claim before it;
a processing job has none. The batch processor serves users in turn (the
user served longest ago first, each user's jobs oldest first), so the
position follows that order, and it counts down as the jobs ahead leave
the queue: claimed, finished or cancelled.

Claims are made here as jobs_claim makes them (status, lease, worker and
claim_seq, the claim's time in microseconds) while the stack's batch
watcher is paused, so every step is deterministic; tests/unit/test_queue.c
checks the positions against the real claim."""
import time
import unittest

from iatest import ApiTestCase, db_query, image_bytes, paused_batch, request, upload, wait_image

PNG = image_bytes("PNG", (16, 12))


def status(image_id, token):
    return request("GET", "/api/v1/image/status/%d/" % image_id, token=token)


class QueuePositionTest(ApiTestCase):
    def setUp(self):
        # positions count every pending job: start from an empty queue
        deadline = time.time() + 60
        while db_query("select count(*) from images where status = 'pending'")[0][0]:
            self.assertLess(time.time(), deadline, "the queue does not drain")
            time.sleep(0.1)

    def submit(self, access, n=1):
        ids = []
        for _ in range(n):
            r = upload("greyscale", PNG, "in.png", token=access)
            self.assertJsonResponse(r, 202)
            ids.append(r.json["image_id"])
        return ids

    def position(self, image_id, access):
        body = self.assertJsonResponse(status(image_id, access), 202)
        self.assertEqual(body["status"], "pending")
        self.assertEqual(sorted(body), ["detail", "position", "status"])
        return body["position"]

    def positions(self, jobs):
        """{id: position} of (id, access) pairs."""
        return {i: self.position(i, a) for i, a in jobs}

    def claim(self, image_id):
        """What jobs_claim writes when a worker takes image_id."""
        db_query("update images set status = 'processing', attempts = attempts + 1, "
                 "worker = 'iatest', lease_until = strftime('%s','now') + 3600, "
                 "claim_seq = ? where id = ?", (int(time.time() * 1e6), image_id))

    def finish(self, image_id):
        db_query("update images set status = 'done', worker = NULL, lease_until = NULL "
                 "where id = ?", (image_id,))

    def test_own_jobs_count_down(self):
        _, _, access, _ = self.new_user()
        with paused_batch():
            a = self.submit(access, 4)
            self.assertEqual(self.positions([(i, access) for i in a]),
                             {a[0]: 0, a[1]: 1, a[2]: 2, a[3]: 3})
            # the first is claimed: processing, no position; the others move up
            self.claim(a[0])
            body = self.assertJsonResponse(status(a[0], access), 202)
            self.assertEqual(body, {"detail": "Image is still being processed.",
                                    "status": "processing"})
            self.assertEqual(self.positions([(i, access) for i in a[1:]]),
                             {a[1]: 0, a[2]: 1, a[3]: 2})
            self.finish(a[0])
            self.assertEqual(self.position(a[3], access), 2)
            # a cancelled job ahead leaves the queue too
            self.assertStatus(request("DELETE", "/api/v1/images/%d/" % a[1], token=access), 204)
            self.assertEqual(self.positions([(i, access) for i in a[2:]]), {a[2]: 0, a[3]: 1})
        for i in a[2:]:
            self.assertEqual(wait_image(i, access).status, 200)

    def test_users_take_turns(self):
        _, _, alice, _ = self.new_user()
        _, _, bob, _ = self.new_user()
        with paused_batch():
            a = self.submit(alice, 3)
            b = self.submit(bob)[0]
            jobs = [(i, alice) for i in a] + [(b, bob)]
            # nobody served yet: the oldest job first, then users alternate
            self.assertEqual(self.positions(jobs), {a[0]: 0, b: 1, a[1]: 2, a[2]: 3})
            self.claim(a[0])
            self.finish(a[0])
            # Bob now waits for nobody; Alice's next job waits for Bob's
            self.assertEqual(self.positions(jobs[1:]), {b: 0, a[1]: 1, a[2]: 2})
            self.claim(b)
            self.addCleanup(self.finish, b)
            self.assertEqual(self.positions(jobs[1:3]), {a[1]: 0, a[2]: 1})
            # a newcomer, never served, goes first; then the turns alternate
            _, _, carol, _ = self.new_user()
            c = self.submit(carol, 2)
            self.assertEqual(self.positions(jobs[1:3] + [(i, carol) for i in c]),
                             {a[1]: 1, a[2]: 3, c[0]: 0, c[1]: 2})
        for i, token in jobs[1:3] + [(i, carol) for i in c]:
            self.assertEqual(wait_image(i, token).status, 200)

    def test_position_counts_down_while_the_batch_runs(self):
        _, _, access, _ = self.new_user()
        with paused_batch():
            a = self.submit(access, 6)
            seen = [self.position(a[-1], access)]
            self.assertEqual(seen, [5])
        deadline = time.time() + 60
        while time.time() < deadline:
            r = status(a[-1], access)
            if r.status == 200:
                break
            if r.json.get("status") == "pending":
                seen.append(r.json["position"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(seen, sorted(seen, reverse=True), seen)

    def test_another_users_image_is_404(self):
        _, _, alice, _ = self.new_user()
        _, _, bob, _ = self.new_user()
        with paused_batch():
            a = self.submit(alice)[0]
            self.assertJsonResponse(status(a, bob), 404, {"detail": "Image not found."})
            self.assertEqual(self.position(a, alice), 0)
        self.assertEqual(wait_image(a, alice).status, 200)


if __name__ == "__main__":
    unittest.main()
