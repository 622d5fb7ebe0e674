"""Crop a full-page screenshot of the report to its timelines, for the README's picture.

``make docs-report-image`` shoots ``out/report.html`` whole in headless Chromium, then runs
this: the first row of the page with a run of the timelines' bar colour (struct page init,
#4878d0) is the first timeline's first bar; the picture starts just above the section's
heading and is HEIGHT pixels tall.
"""

from __future__ import annotations

import sys

import matplotlib.image
import numpy as np

BAR = np.array([0x48, 0x78, 0xD0]) / 255
ABOVE = 178  # heading, legend, caption and buttons above the first bar
HEIGHT = 1500


def main(full: str, out: str) -> None:
    page = matplotlib.image.imread(full)[:, :, :3]
    hits = (np.abs(page - BAR).max(axis=2) < 0.02).sum(axis=1)
    first = int(np.nonzero(hits >= 100)[0][0])
    top = max(first - ABOVE, 0)
    matplotlib.image.imsave(out, page[top : top + HEIGHT])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
