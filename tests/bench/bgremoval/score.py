#!/usr/bin/python3
"""Score background-removal engines against the ground truth from make_set.py.

    score.py [--set /tmp/ia-bgset] [--build build] [--engines ours,grabcut] [--json OUT.json]
    score.py --tables OUT.json        (the tables again, from an earlier run's results)

Engines, run on every image in the same run:
  ours     BUILD/bin/ia-batch --run remove-background IN OUT; the alpha of OUT is scored.
           Time = wall time of the whole process; peak RSS from /usr/bin/time.
  grabcut  OpenCV GrabCut (python3-opencv), rectangle inset 5 px from the border,
           5 iterations, alpha = 1 for (probable) foreground. Time = imread + grabCut
           in this process (no interpreter start-up), peak RSS not measured.
Metrics: IoU of alpha>=0.5, MAE of alpha (0..1), boundary F-score (boundary pixels of
the binarised masks matched within 2 px), ms per megapixel, failures (non-zero exit,
timeout, missing output, wrong size, no alpha). A failure scores IoU 0, MAE 1, F 0.
Cuts that ran but missed the subject (IoU < BAD_IOU) are counted in a column of their own.
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time
import numpy as np
import cv2
from PIL import Image

TOL = 2


def boundary(mask):
    m = mask.astype(np.uint8)
    er = cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return (m - er) > 0


def boundary_f(pred, gt):
    bp, bg = boundary(pred), boundary(gt)
    if not bp.any() and not bg.any():
        return 1.0
    if not bp.any() or not bg.any():
        return 0.0
    dist_to_gt = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_pred = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    p = (dist_to_gt[bp] <= TOL).mean()
    r = (dist_to_pred[bg] <= TOL).mean()
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def metrics(alpha, gt):
    pb, gb = alpha >= 0.5, gt >= 0.5
    union = (pb | gb).sum()
    iou = 1.0 if union == 0 else (pb & gb).sum() / union
    return dict(iou=float(iou), mae=float(np.abs(alpha - gt).mean()), bf=float(boundary_f(pb, gb)))


def run_ours(build, path, tmp):
    out = os.path.join(tmp, "out.png")
    if os.path.exists(out):
        os.unlink(out)
    rss = os.path.join(tmp, "rss")
    t0 = time.perf_counter()
    # /usr/bin/time reports ia-batch's own peak RSS (a child forked from this big
    # interpreter would count the interpreter's pages it shared before exec)
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss,
                          os.path.join(build, "bin", "ia-batch"), "--run", "remove-background", path, out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill(); p.communicate()
        return None, time.perf_counter() - t0, None, "timeout"
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        return None, dt, None, "exit %d: %s" % (p.returncode, err.decode(errors="replace").strip()[-200:])
    if not os.path.exists(out):
        return None, dt, None, "no output"
    im = Image.open(out)
    if "A" not in im.getbands():
        return None, dt, None, "output has no alpha (%s)" % im.mode
    with open(rss) as f:
        kb = int(f.read().split()[-1])
    return np.asarray(im.getchannel("A"), float) / 255.0, dt, kb, None


def run_grabcut(path, inset=5, iters=5):
    t0 = time.perf_counter()
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(img, mask, (inset, inset, w - 2 * inset, h - 2 * inset), bgd, fgd, iters, cv2.GC_INIT_WITH_RECT)
    except cv2.error as e:
        return None, time.perf_counter() - t0, None, "cv2: %s" % str(e)[-200:]
    alpha = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(float)
    return alpha, time.perf_counter() - t0, None, None


def summarise(rows, engines, key_fn, keys):
    out = []
    for k in keys:
        for e in engines:
            rs = [r for r in rows if r["engine"] == e and key_fn(r) == k]
            if not rs:
                continue
            mp = sum(r["mp"] for r in rs)
            out.append(dict(group=k, engine=e, n=len(rs),
                            iou=np.mean([r["iou"] for r in rs]), mae=np.mean([r["mae"] for r in rs]),
                            bf=np.mean([r["bf"] for r in rs]),
                            ms_mp=1000 * sum(r["sec"] for r in rs) / mp,
                            fail=sum(1 for r in rs if r["error"]),
                            bad=sum(1 for r in rs if not r["error"] and r["iou"] < BAD_IOU)))
    return out


BAD_IOU = 0.5  # a cut that ran but got the subject wrong: counted apart from failures


def table(title, summary):
    lines = ["", "### " + title, "",
             "| group | engine | n | IoU | MAE | boundary F | ms/MP | failures | IoU < %.1f |" % BAD_IOU,
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        lines.append("| %s | %s | %d | %.3f | %.3f | %.3f | %.0f | %d | %d |" % (
            s["group"], s["engine"], s["n"], s["iou"], s["mae"], s["bf"], s["ms_mp"], s["fail"],
            s["bad"]))
    return "\n".join(lines)


def print_tables(rows, engines, cats):
    """Each half by category, then the totals."""
    for half in ["tune", "held-out"]:
        sub = [r for r in rows if r["half"] == half]
        s = summarise(sub, engines, lambda r: r["category"], cats) + \
            summarise(sub, engines, lambda r: "**all**", ["**all**"])
        print(table("Half: %s (%d images)" % (half, len(sub) // len(engines)), s))
    print_totals(rows, engines, cats)


def print_totals(rows, engines, cats):
    """Both halves: by category, the four studio categories together, by half, overall."""
    studio = lambda r: "studio (flat, gradient, vignette, shadow)" if r["category"].startswith("studio_") else None
    s = summarise(rows, engines, lambda r: r["category"], cats) + \
        summarise(rows, engines, studio, ["studio (flat, gradient, vignette, shadow)"]) + \
        summarise(rows, engines, lambda r: r["half"], ["tune", "held-out"]) + \
        summarise(rows, engines, lambda r: "**all**", ["**all**"])
    print(table("Both halves (%d images)" % (len(rows) // len(engines)), s))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="/tmp/ia-bgset")
    ap.add_argument("--build", default="build")
    ap.add_argument("--engines", default="ours,grabcut")
    ap.add_argument("--json", default=None, help="write per-image results here")
    ap.add_argument("--tables", default=None, metavar="RESULTS.json",
                    help="only print the tables of an earlier run's per-image results")
    args = ap.parse_args()
    engines = args.engines.split(",")
    if args.tables:
        with open(args.tables) as f:
            rows = json.load(f)
        engines = [e for e in engines if any(r["engine"] == e for r in rows)]
        print_tables(rows, engines, list(dict.fromkeys(r["category"] for r in rows)))
        return
    with open(os.path.join(args.set, "manifest.csv")) as f:
        manifest = list(csv.DictReader(f))
    rows = []
    peak_rss_kb = 0
    with tempfile.TemporaryDirectory(prefix="ia-bgscore-") as tmp:
        for i, m in enumerate(manifest):
            path = os.path.join(args.set, "img", m["name"] + ".png")
            gt = np.asarray(Image.open(os.path.join(args.set, "alpha", m["name"] + ".png")), float) / 255.0
            mp = gt.size / 1e6
            for e in engines:
                if e == "ours":
                    alpha, sec, kb, err = run_ours(args.build, path, tmp)
                    peak_rss_kb = max(peak_rss_kb, kb or 0)
                elif e == "grabcut":
                    alpha, sec, _, err = run_grabcut(path)
                else:
                    sys.exit("unknown engine " + e)
                if alpha is not None and alpha.shape != gt.shape:
                    alpha, err = None, "size %s != %s" % (alpha.shape, gt.shape)
                r = dict(name=m["name"], category=m["category"], half=m["half"], engine=e,
                         mp=mp, sec=sec, error=err)
                r.update(metrics(alpha, gt) if alpha is not None else dict(iou=0.0, mae=1.0, bf=0.0))
                rows.append(r)
                print("%-22s %-8s IoU %.3f MAE %.3f BF %.3f %6.0f ms%s" % (
                    m["name"], e, r["iou"], r["mae"], r["bf"], sec * 1000, "  FAIL " + err if err else ""),
                    file=sys.stderr, flush=True)
    print_tables(rows, engines, list(dict.fromkeys(m["category"] for m in manifest)))
    if peak_rss_kb:
        print("\nPeak RSS of the largest `ours` process: %.0f MB" % (peak_rss_kb / 1024))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
