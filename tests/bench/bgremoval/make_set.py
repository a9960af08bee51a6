#!/usr/bin/python3
"""Ground-truth set for background removal (issue 12, item 1).

Composites foregrounds that carry a real alpha channel onto real photographs and
onto synthetic studio backdrops, and writes the exact alpha next to each image.

    make_set.py [--out /tmp/ia-bgset] [--seed 12] [--per-category 7] [--size 800x600]

Writes OUT/img/NAME.png (RGB composite), OUT/alpha/NAME.png (8-bit ground-truth
alpha; shadows are background, alpha 0) and OUT/manifest.csv
(name,category,half,backdrop,foreground,width,height). Halves alternate within
each category: even index -> "tune", odd -> "held-out".

Everything is derived from a fixed seed and from files installed by Debian
packages (see README.md), so the same command gives the same set on a fresh machine.
"""
import argparse, csv, glob, math, os, sys
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ICON_DIR = "/usr/share/icons/Adwaita/512x512"          # adwaita-icon-theme
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"   # python3-skimage
GNOME_BG = "/usr/share/backgrounds/gnome"              # gnome-backgrounds
FONT_DIR = "/usr/share/fonts/truetype/dejavu"          # fonts-dejavu-core

PHOTOS = [  # (path, licence) -- photographs/textures, all CC0 or public domain
    (SKIMAGE_DATA + "/astronaut.png", "public domain (NASA)"),
    (SKIMAGE_DATA + "/coffee.png", "CC0 (Rachel Michetti)"),
    (SKIMAGE_DATA + "/chelsea.png", "CC0 (Stefan van der Walt)"),
    (SKIMAGE_DATA + "/rocket.jpg", "public domain (SpaceX)"),
    (SKIMAGE_DATA + "/brick.png", "CC0 (cc0textures)"),
    (SKIMAGE_DATA + "/grass.png", "CC0 (cc0textures)"),
    (SKIMAGE_DATA + "/gravel.png", "CC0 (cc0textures)"),
    (GNOME_BG + "/wood-l.webp", "CC-BY-SA-3.0 (gnome-backgrounds)"),
    (GNOME_BG + "/wood-d.webp", "CC-BY-SA-3.0 (gnome-backgrounds)"),
]

CATEGORIES = ["studio_flat", "studio_gradient", "studio_vignette", "studio_shadow",
              "busy", "close_colour", "border", "thin", "holes", "corners"]

STUDIO_COLOURS = [(236, 224, 200), (200, 200, 200), (245, 245, 242), (170, 172, 176),
                  (222, 205, 180), (190, 210, 225), (230, 215, 220), (120, 124, 130),
                  (60, 62, 66), (210, 225, 200)]

W = H = 0
_cache = {}


def load_rgba(path):
    if path not in _cache:
        _cache[path] = Image.open(path).convert("RGBA")
    return _cache[path]


def icons():
    files = sorted(glob.glob(ICON_DIR + "/*/*.png"))
    files = [f for f in files if "/emblems/" not in f]
    if not files:
        sys.exit("no icons in %s: apt-get install adwaita-icon-theme" % ICON_DIR)
    return files


# ---------------------------------------------------------------- backdrops
def noise(rng, img, sigma):
    return img + rng.normal(0, sigma, img.shape)


def pick_colour(rng):
    c = np.array(STUDIO_COLOURS[rng.integers(len(STUDIO_COLOURS))], float)
    return np.clip(c + rng.normal(0, 6, 3), 0, 255)


def flat(rng, c=None):
    c = pick_colour(rng) if c is None else c
    return np.ones((H, W, 3)) * c


def gradient(rng, c=None):
    c0 = pick_colour(rng) if c is None else c
    c1 = np.clip(c0 + rng.choice([-1, 1]) * rng.uniform(25, 60) + rng.normal(0, 8, 3), 0, 255)
    th = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:H, 0:W]
    t = (xx - W / 2) * math.cos(th) + (yy - H / 2) * math.sin(th)
    t = (t - t.min()) / (t.max() - t.min())
    if rng.random() < 0.5:      # studio sweep: smooth, not linear
        t = t * t * (3 - 2 * t)
    return c0 * (1 - t[..., None]) + c1 * t[..., None]


def vignette(rng, c=None):
    base = gradient(rng, c) if rng.random() < 0.4 else flat(rng, c)
    yy, xx = np.mgrid[0:H, 0:W]
    cx, cy = W * rng.uniform(0.35, 0.65), H * rng.uniform(0.35, 0.65)
    r2 = ((xx - cx) / (W / 2)) ** 2 + ((yy - cy) / (H / 2)) ** 2
    k = rng.uniform(0.25, 0.5)
    return base * np.clip(1 - k * r2 / 2, 0.2, 1)[..., None]


def studio(rng, c=None):
    kind = ["flat", "gradient", "vignette"][rng.integers(3)]
    return kind, {"flat": flat, "gradient": gradient, "vignette": vignette}[kind](rng, c)


def photo(rng):
    path, _ = PHOTOS[rng.integers(len(PHOTOS))]
    im = load_rgba(path).convert("RGB")
    iw, ih = im.size
    s = max(W / iw, H / ih) * rng.uniform(1.0, 1.6)   # crop at random scale
    cw, ch = W / s, H / s
    x0, y0 = rng.uniform(0, iw - cw), rng.uniform(0, ih - ch)
    im = im.resize((W, H), Image.LANCZOS, box=(x0, y0, x0 + cw, y0 + ch))
    return os.path.basename(path), np.asarray(im, float)


# ---------------------------------------------------------------- foregrounds
def icon_layer(rng, files, size_frac, place="inside"):
    """Random Adwaita icon cropped to its alpha box, scaled, placed on a WxH layer."""
    path = files[rng.integers(len(files))]
    im = load_rgba(path)
    im = im.crop(im.getchannel("A").getbbox())
    s = size_frac * min(W, H) / max(im.size)
    w, h = max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))
    im = im.resize((w, h), Image.LANCZOS)
    if place == "inside":
        m = 20
        x = int(rng.integers(m, max(m + 1, W - w - m)))
        y = int(rng.integers(m, max(m + 1, H - h - m)))
    else:  # overflow one or two image edges
        edges = [("bottom",), ("left",), ("right",), ("top",), ("bottom", "left"), ("bottom", "right")]
        e = edges[rng.integers(len(edges))]
        x = int(rng.integers(20, max(21, W - w - 20)))
        y = int(rng.integers(20, max(21, H - h - 20)))
        cut = lambda n: int(n * rng.uniform(0.12, 0.3))
        if "bottom" in e: y = H - h + cut(h)
        if "top" in e: y = -cut(h)
        if "left" in e: x = -cut(w)
        if "right" in e: x = W - w + cut(w)
    lay = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    lay.alpha_composite(im, (max(x, 0), max(y, 0)), (max(-x, 0), max(-y, 0)))
    a = np.asarray(lay, float)
    return os.path.relpath(path, ICON_DIR), a[..., :3], a[..., 3] / 255.0


def supersampled_mask(draw_fn, ss=4):
    """Anti-aliased coverage mask: draw at ss x resolution, box-filter down."""
    big = Image.new("L", (W * ss, H * ss), 0)
    draw_fn(ImageDraw.Draw(big), ss)
    return np.asarray(big.resize((W, H), Image.BOX), float) / 255.0


def shaded_colour(rng, alpha, colour=None):
    c = np.array(colour if colour is not None else rng.uniform(20, 235, 3), float)
    yy, xx = np.mgrid[0:H, 0:W]
    th = rng.uniform(0, 2 * math.pi)
    shade = ((xx * math.cos(th) + yy * math.sin(th)) / max(W, H)) * rng.uniform(20, 50)
    return np.clip(c + shade[..., None], 0, 255)


def star_points(cx, cy, r, n, inner, rot):
    pts = []
    for k in range(2 * n):
        rr = r if k % 2 == 0 else r * inner
        t = rot + k * math.pi / n
        pts.append((cx + rr * math.cos(t), cy + rr * math.sin(t)))
    return pts


def polygon_subject(rng):
    kind = ["star", "square", "triangle", "L", "arrow"][rng.integers(5)]
    cx, cy = W * rng.uniform(0.35, 0.65), H * rng.uniform(0.35, 0.65)
    r = min(W, H) * rng.uniform(0.22, 0.34)
    rot = rng.uniform(0, 2 * math.pi)
    if kind == "star":
        pts = star_points(cx, cy, r, int(rng.integers(4, 8)), rng.uniform(0.35, 0.55), rot)
    elif kind == "square":
        pts = [(cx + r * math.cos(rot + k * math.pi / 2), cy + r * math.sin(rot + k * math.pi / 2)) for k in range(4)]
    elif kind == "triangle":
        pts = [(cx + r * math.cos(rot + k * 2 * math.pi / 3), cy + r * math.sin(rot + k * 2 * math.pi / 3)) for k in range(3)]
    else:
        if kind == "L":
            base = [(-1, -1), (-0.3, -1), (-0.3, 0.5), (1, 0.5), (1, 1), (-1, 1)]
        else:
            base = [(-1, -0.25), (0.2, -0.25), (0.2, -0.7), (1, 0), (0.2, 0.7), (0.2, 0.25), (-1, 0.25)]
        c, s = math.cos(rot), math.sin(rot)
        pts = [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in base]
    a = supersampled_mask(lambda d, ss: d.polygon([(x * ss, y * ss) for x, y in pts], fill=255))
    return "polygon:" + kind, a


def text_mask(rng, text, font_file, size, ss=4):
    font = ImageFont.truetype(os.path.join(FONT_DIR, font_file), size * ss)
    def draw(d, s):
        bb = d.multiline_textbbox((0, 0), text, font=font, align="center")
        tw, th = bb[2] - bb[0], bb[3] - bb[1]
        x = rng.uniform(0.05, 0.95) * (W * s - tw) - bb[0]
        y = rng.uniform(0.1, 0.9) * (H * s - th) - bb[1]
        d.multiline_text((x, y), text, font=font, fill=255, align="center")
    return supersampled_mask(draw, ss)


WORDS = ["Image Assistant", "hairline\nstrokes", "thin type", "Fig. 12", "serif & sans",
         "stem", "minimal", "caption text", "lightweight"]


# ---------------------------------------------------------------- categories
def shadow_under(rng, alpha):
    """Soft drop shadow + contact shadow; returns a 0..1 darkening map (background)."""
    A = Image.fromarray((alpha * 255).astype(np.uint8))
    dx, dy = int(rng.integers(-25, 26)), int(rng.integers(8, 30))
    drop = Image.new("L", (W, H), 0)
    drop.paste(A, (dx, dy))
    drop = drop.filter(ImageFilter.GaussianBlur(rng.uniform(8, 18)))
    ys, xs = np.nonzero(alpha > 0.5)
    x0, x1, yb = xs.min(), xs.max(), ys.max()
    cw = (x1 - x0) * rng.uniform(0.7, 1.0)
    ch = H * rng.uniform(0.03, 0.07)
    cx = (x0 + x1) / 2
    contact = Image.new("L", (W, H), 0)
    ImageDraw.Draw(contact).ellipse((cx - cw / 2, yb - ch / 2, cx + cw / 2, yb + ch / 2), fill=255)
    contact = contact.filter(ImageFilter.GaussianBlur(rng.uniform(6, 14)))
    s = np.maximum(np.asarray(drop, float) / 255 * rng.uniform(0.3, 0.5),
                   np.asarray(contact, float) / 255 * rng.uniform(0.35, 0.6))
    return s


def make(cat, rng, files):
    """Returns (composite float HxWx3, alpha, backdrop name, foreground name)."""
    shadow = None
    if cat in ("studio_flat", "studio_gradient", "studio_vignette", "studio_shadow"):
        fgname, F, A = icon_layer(rng, files, rng.uniform(0.45, 0.75))
        if cat == "studio_shadow":
            bgname, B = studio(rng)
            shadow = shadow_under(rng, A)
        else:
            bgname = cat.split("_")[1]
            B = {"flat": flat, "gradient": gradient, "vignette": vignette}[bgname](rng)
    elif cat == "busy":
        fgname, F, A = icon_layer(rng, files, rng.uniform(0.4, 0.7))
        bgname, B = photo(rng)
    elif cat == "close_colour":
        fgname, F, A = icon_layer(rng, files, rng.uniform(0.45, 0.7))
        c = pick_colour(rng)
        bgname, B = studio(rng, c)
        # recolour the subject to within ~12-30 levels of the backdrop, keeping its shading
        lum = F @ np.array([0.299, 0.587, 0.114])
        m = (A > 0.5)
        lum = lum - (lum[m].mean() if m.any() else 0)
        d = rng.uniform(12, 30) * rng.choice([-1, 1])
        direction = rng.normal(0, 1, 3); direction = direction / np.linalg.norm(direction)
        F = np.clip(c + d * np.sign(d) * direction + 0.25 * lum[..., None], 0, 255)
        fgname = "tinted:" + fgname
    elif cat == "border":
        fgname, F, A = icon_layer(rng, files, rng.uniform(0.6, 0.9), place="overflow")
        if rng.random() < 0.7:
            bgname, B = studio(rng)
            if rng.random() < 0.5:
                shadow = shadow_under(rng, A)
        else:
            bgname, B = photo(rng)
    elif cat == "thin":
        bgname, B = studio(rng)
        if rng.random() < 0.5:   # text strokes in a light face
            font = ["DejaVuSans-ExtraLight.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"][rng.integers(3)]
            word = WORDS[rng.integers(len(WORDS))]
            A = text_mask(rng, word, font, int(rng.integers(70, 130)))
            F = shaded_colour(rng, A)
            fgname = "text:%s:%s" % (font, word.replace("\n", " "))
        else:                    # a flower: icon head on a 1.5-3.5 px curved stem with a leaf
            fgname, F, A = icon_layer(rng, files, rng.uniform(0.2, 0.3))
            ys, xs = np.nonzero(A > 0.5)
            hx, hy = xs.mean(), ys.max()
            bx = hx + rng.uniform(-120, 120)
            wid = rng.uniform(1.5, 3.5)
            curve = [(hx + (bx - hx) * t + 40 * math.sin(t * math.pi) * rng.choice([-1, 1]),
                      hy - 5 + (H - 10 - hy) * t) for t in np.linspace(0, 1, 60)]
            lx, ly = curve[30]
            def draw(d, ss, curve=curve, wid=wid, lx=lx, ly=ly):
                d.line([(x * ss, y * ss) for x, y in curve], fill=255, width=max(1, round(wid * ss)), joint="curve")
                d.ellipse(((lx) * ss, (ly - 6) * ss, (lx + 45) * ss, (ly + 6) * ss), fill=255)
            S = supersampled_mask(draw)
            green = np.array([50, 120, 40], float) + rng.normal(0, 15, 3)
            F = (F * A[..., None] + green * (S * (1 - A))[..., None]) / np.maximum(A + S * (1 - A), 1e-6)[..., None]
            A = A + S * (1 - A)
            fgname = "flower:" + fgname
    elif cat == "holes":
        kind = rng.integers(3)
        bgname, B = studio(rng) if rng.random() < 0.75 else photo(rng)
        if kind == 0:            # mug handle: annulus attached to an icon
            fgname, F, A = icon_layer(rng, files, rng.uniform(0.4, 0.55))
            ys, xs = np.nonzero(A > 0.5)
            x1, cy, hh = xs.max(), ys.mean(), ys.max() - ys.min()
            R = hh * rng.uniform(0.28, 0.38); t = R * rng.uniform(0.22, 0.35)
            cxh = min(x1 + R * 0.55, W - R - 5)
            ring = supersampled_mask(lambda d, ss: (d.ellipse(((cxh - R) * ss, (cy - R) * ss, (cxh + R) * ss, (cy + R) * ss), fill=255),
                                                    d.ellipse(((cxh - R + t) * ss, (cy - R + t) * ss, (cxh + R - t) * ss, (cy + R - t) * ss), fill=0)))
            m = A > 0.5
            col = F[m].mean(0) if m.any() else np.array([128.0, 128, 128])
            F = (F * A[..., None] + col * (ring * (1 - A))[..., None]) / np.maximum(A + ring * (1 - A), 1e-6)[..., None]
            A = A + ring * (1 - A)
            fgname = "mug:" + fgname
        elif kind == 1:          # icon with punched round/slot holes
            fgname, F, A = icon_layer(rng, files, rng.uniform(0.5, 0.75))
            ys, xs = np.nonzero(A > 0.9)
            holes = []
            for _ in range(int(rng.integers(1, 4))):
                i = rng.integers(len(xs)); r = rng.uniform(12, 40)
                holes.append((xs[i], ys[i], r))
            P = supersampled_mask(lambda d, ss: [d.ellipse(((x - r) * ss, (y - r) * ss, (x + r) * ss, (y + r) * ss), fill=255) for x, y, r in holes])
            A = A * (1 - P)
            fgname = "punched:" + fgname
        else:                    # bold glyphs with counters
            word = ["O8B", "AOB", "QDA", "808", "gap"][rng.integers(5)]
            A = text_mask(rng, word, "DejaVuSans-Bold.ttf", int(rng.integers(150, 220)))
            F = shaded_colour(rng, A)
            fgname = "glyphs:" + word
    elif cat == "corners":
        bgname, B = studio(rng) if rng.random() < 0.8 else photo(rng)
        fgname, A = polygon_subject(rng)
        F = shaded_colour(rng, A)
    else:
        raise ValueError(cat)
    B = B.astype(float)
    if shadow is not None:
        B = B * (1 - shadow[..., None])
    img = F * A[..., None] + B * (1 - A[..., None])
    img = noise(rng, img, rng.uniform(1.0, 3.0))
    return img, A, bgname, fgname


def main():
    global W, H
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ia-bgset")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--per-category", type=int, default=7)
    ap.add_argument("--size", default="800x600")
    args = ap.parse_args()
    W, H = map(int, args.size.split("x"))
    os.makedirs(args.out + "/img", exist_ok=True)
    os.makedirs(args.out + "/alpha", exist_ok=True)
    files = icons()
    rows = []
    for ci, cat in enumerate(CATEGORIES):
        for i in range(args.per_category):
            rng = np.random.default_rng([args.seed, ci, i])
            img, A, bgname, fgname = make(cat, rng, files)
            name = "%s_%02d" % (cat, i)
            Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB").save("%s/img/%s.png" % (args.out, name))
            Image.fromarray(np.clip(np.rint(A * 255), 0, 255).astype(np.uint8), "L").save("%s/alpha/%s.png" % (args.out, name))
            rows.append(dict(name=name, category=cat, half="tune" if i % 2 == 0 else "held-out",
                             backdrop=bgname, foreground=fgname, width=W, height=H))
    with open(args.out + "/manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader(); w.writerows(rows)
    print("wrote %d images to %s" % (len(rows), args.out))


if __name__ == "__main__":
    main()
