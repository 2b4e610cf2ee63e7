"""mindeye_client against a live server with sim01 (started by python-client.test.ts).

Environment: MINDEYE_API_URL, MINDEYE_API_KEY, MINDEYE_SESSIONS (a `mindeye sim export-trials` folder),
MINDEYE_ERROR_CODES (the server's closed list as JSON, {code: status}), MINDEYE_RECON_MODEL (a model
that reconstructs, with MINDEYE_RECON_VOXELS voxels: the harness serves a small stand-in bundle).
"""

import http.server
import json
import os
import tempfile
import threading
import time
import unittest

import nibabel as nib
import numpy as np

import mindeye_client as me

MODEL = "sim01"
SESSIONS = os.environ.get("MINDEYE_SESSIONS", "")


def session_file(i=0):
    with open(os.path.join(SESSIONS, "truth.json")) as f:
        truth = json.load(f)
    return os.path.join(SESSIONS, truth["sessions"][i]["file"]), truth


class LiveServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = me.Client()
        cls.path, cls.truth = session_file(0)
        cls.mask = cls.client.mask(MODEL)
        cls.from_path = cls.client.upload(cls.path, model=MODEL)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def masked(self, order="C"):
        volume = np.asanyarray(nib.load(self.path).dataobj)
        if order == "F":  # the classic mistake: voxels in MATLAB's order
            return volume.transpose(2, 1, 0, 3)[self.mask.T].T.astype(np.float32) / 300
        return volume[self.mask].T.astype(np.float32) / 300

    def embed(self, upload, scale, trials=range(12)):
        betas = {"upload_id": upload["id"], "trials": list(trials)}
        return self.client.embed(MODEL, betas, preprocessing={"scale": scale, "zscore": "none"})["outputs"]["retrieval"]


class Errors(LiveServer):
    def test_every_code_of_the_server_has_its_class_and_status(self):
        server = json.loads(os.environ["MINDEYE_ERROR_CODES"])
        self.assertEqual({code: status for code, (status, _) in me.errors.ERROR_CODES.items()}, server)

    def test_problems_are_raised_as_typed_errors(self):
        with self.assertRaises(me.UnprocessableError) as raised:
            self.client.embed(MODEL, np.zeros((2, int(self.mask.sum()) - 1)))
        self.assertEqual(raised.exception.code, "voxel_count_mismatch")
        self.assertEqual(raised.exception.problem["expected_voxels"], int(self.mask.sum()))
        self.assertTrue(raised.exception.request_id.startswith("req_"))
        with self.assertRaises(me.NotFoundError) as raised:
            self.client.model("no-such-model")
        self.assertEqual(raised.exception.code, "model_not_found")
        with self.assertRaises(me.AuthenticationError), me.Client(api_key="mk_not-a-key") as stranger:
            stranger.models()
        with self.assertRaises(me.NotFoundError):
            self.client.job("job_doesnotexist")
        with self.assertRaises(me.BadRequestError):
            self.client.retrieve("sim01-stimuli", model=MODEL, k=0, betas=self.from_path)


class Uploads(LiveServer):
    def test_a_path_a_nibabel_image_and_a_masked_array_give_the_same_embeddings(self):
        image = nib.load(self.path)
        from_image = self.client.upload(image, model=MODEL)
        from_nifti2 = self.client.upload(nib.Nifti2Image(np.asanyarray(image.dataobj), image.affine), model=MODEL)
        from_array = self.client.upload(self.masked(), model=MODEL)
        for upload in (self.from_path, from_image, from_nifti2, from_array):
            self.assertEqual(upload["status"], "ready")
            self.assertEqual(upload["trials"], 450)
        self.assertEqual(self.from_path["voxels"], int(self.mask.sum()))
        reference = self.embed(self.from_path, "auto")  # int16 on disk: the server divides by 300
        # An unscaled int16 image stays unscaled, so "auto" still divides it by 300 as NSD stores it.
        np.testing.assert_allclose(self.embed(from_image, "auto"), reference, atol=1e-5)
        np.testing.assert_allclose(self.embed(from_nifti2, "auto"), reference, atol=1e-5)
        np.testing.assert_allclose(self.embed(from_array, 1), reference, atol=1e-4)
        # Control: voxels in the wrong order are accepted (same count) but embed to something else.
        wrong = self.client.upload(self.masked("F"), model=MODEL)
        self.assertGreater(np.abs(self.embed(wrong, 1) - reference).max(), 0.1)

    def test_upload_reports_progress_up_to_the_file_size(self):
        seen = []
        self.client.upload(self.path, progress=lambda sent, total: seen.append((sent, total)))
        size = os.path.getsize(self.path)
        self.assertEqual(seen[-1], (size, size))
        self.assertEqual([s for s, _ in seen], sorted(s for s, _ in seen))

    def test_anything_else_is_refused_before_any_request(self):
        with self.assertRaises(TypeError):
            self.client.upload(42)


class Jobs(LiveServer):
    def test_a_whole_session_runs_as_a_job_and_agrees_with_synchronous_calls(self):
        events = []
        result = self.client.embed(
            MODEL, self.from_path, preprocessing={"zscore": "none"}, progress=events.append
        )
        retrieval = result["outputs"]["retrieval"]
        self.assertEqual(retrieval.shape, (450, 17, 32))
        self.assertEqual(events[-1]["status"], "succeeded")
        self.assertEqual(result["job"]["status"], "succeeded")
        np.testing.assert_allclose(retrieval[:12], self.embed(self.from_path, "auto"), atol=1e-5)

        job = result["job"]
        self.assertIn(job["id"], [j["id"] for j in self.client.jobs(limit=2)])
        with tempfile.TemporaryDirectory() as scratch:
            dest = os.path.join(scratch, "retrieval.npy")
            self.client.download(job["outputs"]["files"]["retrieval"], dest)
            np.testing.assert_array_equal(np.load(dest), retrieval)
        with self.assertRaises(me.ConflictError) as raised:
            self.client.cancel(job)
        self.assertEqual(raised.exception.code, "job_not_cancelable")

    def test_retrieval_of_a_sessions_test_trials_finds_the_seen_images(self):
        # Test images are shown in several sessions (NSD's design); this session shows each one once.
        shown = [image for session in self.truth["sessions"] for image in set(session["stimulus"])]
        stimuli = self.truth["sessions"][0]["stimulus"]
        seen = [image for image in stimuli if shown.count(image) > 1][:40]
        repeats = [[stimuli.index(image)] for image in seen]
        found = self.client.retrieve(
            "sim01-stimuli", model=MODEL, betas=self.from_path, k=3,
            preprocessing={"average": repeats}, filter={"split": "test"},
        )
        self.assertEqual(len(found["results"]), len(seen))
        top1 = np.mean([hits[0]["payload"]["stimulus_id"] == image for image, hits in zip(seen, found["results"])])
        self.assertGreater(top1, 0.5)  # chance is 1/300
        # Each hit's image is a signed URL of the stimulus's PNG, fetched without the API key.
        png = self.client.download(found["results"][0][0]["payload"]["image"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")


class Receiver:
    """A webhook receiver on 127.0.0.1 keeping each (raw body, headers)."""

    def __enter__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((body, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        return self

    def wait_for(self, event_type, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for body, headers in self.received:
                if json.loads(body)["type"] == event_type:
                    return body, headers
            time.sleep(0.1)
        raise AssertionError(f"no {event_type} webhook arrived within {seconds} s")

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


RECON_MODEL = os.environ.get("MINDEYE_RECON_MODEL", "")
RECON_VOXELS = int(os.environ.get("MINDEYE_RECON_VOXELS", "0"))


class Reconstructions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = me.Client()
        rows = np.arange(3 * RECON_VOXELS, dtype=np.float32).reshape(3, RECON_VOXELS)
        cls.betas = np.sin(rows * 0.7 + np.arange(3)[:, None] * 1.3).astype(np.float32)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_reconstruct_waits_and_returns_the_pngs_scores_and_progress(self):
        events = []
        result = self.client.reconstruct(
            RECON_MODEL, self.betas[:2], samples=3, seed=7, previews=True, progress=events.append
        )
        self.assertEqual(result["job"]["status"], "succeeded")
        recs = result["reconstructions"]
        self.assertEqual([r["input"] for r in recs], [0, 1])
        for rec in recs:
            self.assertEqual(sorted(rec), ["best", "blurry", "candidates", "input", "seed"])
            self.assertEqual(rec["seed"], 7)
            self.assertEqual(len(rec["candidates"]), 3)
            best = self.client.download(rec["best"])
            self.assertEqual(best[:8], b"\x89PNG\r\n\x1a\n")
            self.assertEqual(rec["best"]["clip_score"], max(c["clip_score"] for c in rec["candidates"]))
        scores = json.loads(self.client.download(result["files"]["scores.json"]))
        self.assertEqual([s["clip_scores"] for s in scores], [[c["clip_score"] for c in r["candidates"]] for r in recs])
        # Progress names the input, stage and step. Which frames a client sees depends on timing (the tiny
        # stand-in finishes a prior between polls), so each seen frame is checked; the route's tests pin
        # the full sequence and the previews.
        details = [e["progress_detail"] for e in events if e.get("progress_detail")]
        self.assertTrue(details, "no progress_detail in the progress events")
        for d in details:
            self.assertIn(d["stage"], ("embed", "prior", "lowlevel", "decoder", "decode", "select"))
            self.assertIn(d["input"], (0, 1))
            self.assertTrue(1 <= d["step"] <= d["steps"], d)
        for preview in [d["preview"] for d in details if "preview" in d]:
            self.assertEqual(self.client.download(preview)[:4], b"\x89PNG")
        # The same seed gives the same bytes; another seed other ones.
        again = self.client.reconstruct(RECON_MODEL, self.betas[:1], samples=3, seed=7, outputs=["best"])
        other = self.client.reconstruct(RECON_MODEL, self.betas[:1], samples=3, seed=8, outputs=["best"])
        best0 = self.client.download(recs[0]["best"])
        self.assertEqual(self.client.download(again["reconstructions"][0]["best"]), best0)
        self.assertNotEqual(self.client.download(other["reconstructions"][0]["best"]), best0)

    def test_bad_options_and_betas_are_raised_as_typed_errors_before_a_job_exists(self):
        with self.assertRaises(me.BadRequestError) as raised:
            self.client.reconstruct(RECON_MODEL, self.betas[:1], samples=17)
        self.assertIn("samples", raised.exception.detail)
        with self.assertRaises(me.UnprocessableError) as raised:
            self.client.reconstruct(RECON_MODEL, self.betas[:1, :-1])
        self.assertEqual(raised.exception.code, "voxel_count_mismatch")

    def test_a_deadline_expires_the_job_and_keeps_what_was_done(self):
        many = np.repeat(self.betas, 40, axis=0)
        with self.assertRaises(me.DeadlineExceededError) as raised:
            self.client.reconstruct(RECON_MODEL, many, samples=16, outputs=["best"], deadline_seconds=2)
        job = raised.exception.job
        self.assertEqual(job["status"], "expired")
        self.assertEqual(raised.exception.code, "deadline_exceeded")
        self.assertLess(len((job.get("outputs") or {}).get("reconstructions", [])), len(many))

    def test_not_waiting_returns_the_queued_job_and_its_webhook_verifies(self):
        with Receiver() as receiver:
            queued = self.client.reconstruct(
                RECON_MODEL, self.betas[2:], samples=2, wait=False, idempotency_key="py-recon-1",
                webhook={"url": receiver.url, "events": ["job.succeeded"]},
            )
            self.assertIn(queued["status"], ("queued", "running"))
            replayed = self.client.reconstruct(
                RECON_MODEL, self.betas[2:], samples=2, wait=False, idempotency_key="py-recon-1",
                webhook={"url": receiver.url, "events": ["job.succeeded"]},
            )
            self.assertEqual(replayed["id"], queued["id"])
            body, headers = receiver.wait_for("job.succeeded")
        secret = self.client.webhook_secret()["secret"]
        event = me.verify_webhook(secret, body, headers)
        self.assertEqual(event["data"]["id"], queued["id"])
        with self.assertRaises(me.WebhookVerificationError):
            me.verify_webhook(secret, body.replace(b"succeeded", b"failed"), headers)


class Webhooks(LiveServer):
    def test_a_delivered_event_verifies_and_a_tampered_one_does_not(self):
        with Receiver() as receiver:
            url = receiver.url
            response = self.client._request(
                "POST", "/v1/embeddings",
                {"model": MODEL, "betas": {"upload_id": self.from_path["id"], "trials": [0, 1]},
                 "webhook": {"url": url, "events": ["job.succeeded"]}},
                headers={"prefer": "respond-async"},
            )
            job = self.client.wait(response.json())
            body, headers = receiver.wait_for("job.succeeded")
        secret = self.client.webhook_secret()["secret"]
        event = me.verify_webhook(secret, body, headers)
        self.assertEqual((event["type"], event["data"]["id"]), ("job.succeeded", job["id"]))
        with self.assertRaises(me.WebhookVerificationError):
            me.verify_webhook(secret, body.replace(b"succeeded", b"failed"), headers)
        with self.assertRaises(me.WebhookVerificationError):
            me.verify_webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", body, headers)
        with self.assertRaises(me.WebhookVerificationError):
            me.verify_webhook(secret, body, headers, now=time.time() + 3600)


if __name__ == "__main__":
    unittest.main()
