#!/usr/bin/python3
"""pil_ops.py - the Pillow side of bench_images.sh: OP IN OUT LEVEL.

OP: thumbnail (fit 1280x720, Lanczos; Pillow's thumbnail uses JPEG draft
mode, its own reduced-DCT decode), greyscale (convert("L")), resize
(exactly 800x600, Lanczos). Output PNG at zlib level LEVEL.
"""
import sys

from PIL import Image


def main():
    op, src, dst, level = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    im = Image.open(src)
    if op == "thumbnail":
        im.thumbnail((1280, 720), Image.Resampling.LANCZOS)
    elif op == "greyscale":
        im = im.convert("L")
    elif op == "resize":
        im = im.resize((800, 600), Image.Resampling.LANCZOS)
    else:
        sys.exit("unknown op " + op)
    im.save(dst, compress_level=level)


if __name__ == "__main__":
    main()
