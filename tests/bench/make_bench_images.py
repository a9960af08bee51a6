#!/usr/bin/python3
"""make_bench_images.py - the reproducible inputs of bench_images.sh.

Writes into DIR (argv[1]):
  photo.jpg  4000x3000 JPEG q90, photo-like: smooth colour gradients, soft
             shapes, edges and Gaussian grain (so JPEG and PNG sizes behave
             like a camera picture, not like a flat synthetic image)
  rgba.png   1920x1080 RGBA PNG, the same kind of content with a feathered
             alpha channel
Only Pillow (Debian python3-pil) is used; Pillow's noise generator is
deterministic for a fresh process, so reruns make identical files.
"""
import sys

from PIL import Image, ImageChops, ImageDraw, ImageFilter


def photo(w, h):
    r = Image.linear_gradient("L").resize((w, h))
    g = Image.radial_gradient("L").resize((w, h))
    b = r.transpose(Image.Transpose.ROTATE_180).rotate(0)
    base = Image.merge("RGB", (r, g, ImageChops.invert(b)))
    shapes = Image.new("RGB", (w, h), (0, 0, 0))
    d = ImageDraw.Draw(shapes)
    for i in range(40):
        x = (i * 997) % w
        y = (i * 571) % h
        s = 80 + (i * 37) % 400
        col = ((i * 53) % 256, (i * 101) % 256, (i * 29) % 256)
        if i % 3 == 0:
            d.ellipse([x, y, x + s, y + s * 2 // 3], fill=col)
        elif i % 3 == 1:
            d.rectangle([x, y, x + s, y + s // 2], fill=col)
        else:
            d.line([(x, y), (x + s * 2, y + s)], fill=col, width=6)
    shapes = shapes.filter(ImageFilter.GaussianBlur(2))
    im = Image.blend(base, shapes, 0.55)
    noise = Image.effect_noise((w, h), 18).convert("RGB")
    im = ImageChops.add(im, noise, scale=1.0, offset=-128)
    return im


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    photo(4000, 3000).save(out + "/photo.jpg", quality=90)
    im = photo(1920, 1080).convert("RGBA")
    alpha = Image.radial_gradient("L").resize((1920, 1080))
    im.putalpha(ImageChops.invert(alpha))
    im.save(out + "/rgba.png")


if __name__ == "__main__":
    main()
