"""A run file opened the way a user opens it in `silx view` (silx 1.1's DataViewer, Qt offscreen): selecting the file
shows its default plot, and selecting /entry/data (click 2, after expanding the entry) shows one frame. Checks that
the default plot is S_eq against T in K, that the frame view is an image of one frame, and that showing it reads one
frame, not the stack (the process's RSS grows by less than 4 frames' worth and 96 MiB for the widgets; a check that
tells only a stack much larger than that, as the demo's 3.6 GiB, from one frame). Saves both views as PNG.
Usage: QT_QPA_PLATFORM=offscreen silx_view.py RUN.h5 OUT_DIR. Exit 1 when a check fails."""
import os
import resource
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from silx.gui import qt  # noqa: E402
from silx.gui.data.DataViewerFrame import DataViewerFrame  # noqa: E402
from silx.gui.plot import PlotWidget  # noqa: E402
import silx.io  # noqa: E402

problems = []


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def settle(app, seconds=1.0):
    """Runs the Qt loop for a while: silx replots on a later turn of the loop than setData."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def show(viewer, app, obj, png):
    start, before = time.monotonic(), rss_bytes()
    viewer.setData(obj)
    settle(app)
    elapsed, grown = time.monotonic() - start, rss_bytes() - before
    viewer.grab().save(png)
    view = viewer.displayedView()
    return type(view).__name__, elapsed, grown


def visible_plot(viewer):
    """The silx PlotWidget the displayed view draws in (curve or image), or None."""
    plots = [p for p in viewer.findChildren(PlotWidget) if p.isVisible()]
    return plots[0] if plots else None


def main(path, out_dir):
    app = qt.QApplication([])
    viewer = DataViewerFrame()
    viewer.resize(1000, 700)
    viewer.show()
    os.makedirs(out_dir, exist_ok=True)
    with silx.io.open(path) as f:
        frames = f["entry/data/data"]
        frame_bytes = frames.dtype.itemsize * frames.shape[-1] * frames.shape[-2]
        print(f"{path}: {frames.shape[0]} frames of {frames.shape[-2]}x{frames.shape[-1]} "
              f"({frame_bytes * frames.shape[0] / 2**30:.2f} GiB uncompressed)")

        png = os.path.join(out_dir, "silx-default.png")
        name, elapsed, grown = show(viewer, app, f, png)
        plot = visible_plot(viewer)
        curves = plot.getAllCurves() if plot else []
        x_label = plot.getXAxis().getLabel() if plot else ""
        y_label = plot.getYAxis().getLabel() if plot else ""
        points = len(curves[0].getXData()) if curves else 0
        print(f"click 1 (the file): {name} in {elapsed:.2f} s, RSS +{grown / 2**20:.1f} MiB; {len(curves)} curve(s), "
              f"{points} points; x '{x_label}', y '{y_label}'; {png}")
        if points < 2:
            problems.append(f"the file's default view has {len(curves)} curve(s) of {points} points, not S_eq(T)")
        if "K" not in x_label or "T" not in x_label:
            problems.append(f"the default plot's x axis '{x_label}' is not a temperature in K")
        if "S_eq" not in y_label:
            problems.append(f"the default plot's y axis '{y_label}' is not S_eq")

        png = os.path.join(out_dir, "silx-frame.png")
        name, elapsed, grown = show(viewer, app, f["entry/data"], png)
        plot = visible_plot(viewer)
        image = plot.getActiveImage() if plot else None
        shape = image.getData(copy=False).shape if image is not None else ()
        print(f"click 2 (/entry/data): {name} in {elapsed:.2f} s, RSS +{grown / 2**20:.1f} MiB; image {shape}; {png}")
        if "Stack" in name:  # silx's view of a 3-D signal without @interpretation: it reads the whole stack
            problems.append(f"/entry/data shows as {name}: the frames are not marked as images")
        if shape != tuple(frames.shape[-2:]):
            problems.append(f"/entry/data shows {'an image of ' + str(shape) if shape else 'no image'}, not one frame")
        if grown > 4 * frame_bytes + 96 * 2**20:
            problems.append(f"showing one frame grew RSS by {grown / 2**20:.0f} MiB: the stack was read")
    viewer.close()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
