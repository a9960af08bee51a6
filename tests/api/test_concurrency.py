"""Many uploads of one user at once: the balance is charged atomically, so
exactly as many jobs are accepted as the credits pay for, the ledger adds
up, and refused uploads leave no file behind."""
import threading
import unittest

from iatest import ApiTestCase, db_query, iactl, image_bytes, media_files, upload, wait_image

PNG = image_bytes("PNG", (32, 24))


class ConcurrentUploadTest(ApiTestCase):
    def test_50_parallel_uploads_with_20_credits(self):
        email, _, access, _ = self.new_user()
        iactl("credits", "revoke", email, "80")
        user_id = self.user_info(access)["id"]
        self.assertEqual(self.user_info(access)["credits"], 20)
        sources_before = {f for f in media_files() if f.startswith(("sources/", "tmp/"))}

        results = [None] * 50
        start = threading.Barrier(50)

        def worker(i):
            start.wait()
            try:
                results[i] = upload("greyscale", PNG, token=access)
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        statuses = [getattr(r, "status", repr(r)) for r in results]
        self.assertEqual(statuses.count(202), 20, statuses)
        self.assertEqual(statuses.count(402), 30, statuses)
        for r in results:
            if r.status == 402:
                self.assertJsonResponse(r, 402, {"detail": "Insufficient credits."})
        accepted = sorted(r.json["image_id"] for r in results if r.status == 202)
        self.assertEqual(len(set(accepted)), 20)

        self.assertEqual(self.user_info(access)["credits"], 0)
        rows = db_query("select delta, reason, image_id, balance_after from credit_ledger "
                        "where user_id = ? order by id", (user_id,))
        self.assertEqual(sum(r[0] for r in rows), 0)
        charges = [r for r in rows if r[1] == "charge"]
        self.assertEqual(len(charges), 20)
        self.assertEqual(sorted(r[2] for r in charges), accepted)
        self.assertEqual(sorted(r[3] for r in charges), list(range(20)))
        self.assertEqual([r[1] for r in rows if r[1] not in ("charge",)],
                         ["signup_bonus", "admin_revoke"])
        self.assertEqual(db_query("select count(*) from images where user_id = ?", (user_id,))[0][0], 20)

        for i in accepted:
            self.assertEqual(wait_image(i, access).json["status"], "done")

        # exactly the accepted jobs' sources were stored; nothing left in tmp/.
        # Checked once the jobs are done: ia-batch normalises each upload into
        # a new source file and switches source_key when the job finishes, so
        # a running job briefly has two.
        keys = {r[0] for r in db_query("select source_key from images where user_id = ?", (user_id,))}
        new = {f for f in media_files() if f.startswith(("sources/", "tmp/"))} - sources_before
        self.assertEqual(new, keys)
        self.assertEqual(self.user_info(access)["credits"], 0)
        self.assertHealthy()


if __name__ == "__main__":
    unittest.main()
