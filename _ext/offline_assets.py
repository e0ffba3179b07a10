"""Sphinx extension: serve MathJax and the ipywidgets manager from the book itself.

By default the built pages load MathJax and the widget manager from CDNs, so a
reader offline (or a test machine with no network) sees raw TeX and no widgets.
`make vendor` unpacks both from npm into ``vendor/``; this extension then points
the pages at those copies and copies ``vendor/`` next to the HTML. Without
``vendor/`` (no npm) the CDN defaults stay, and the build says so.

The files are not put under ``_static``: Jupyter Book adds every .js file found
there to every page, which would load MathJax twice and RequireJS everywhere.

It also fails the build, naming the notebook and the cell, when a notebook's
stored outputs contain an error (the book must never show a traceback), and warns
about a notebook that has code but no stored outputs (run `make execute`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX = "mathjax/tex-mml-chtml.js"
REQUIREJS = "widgets/require.min.js"
AMD_PATHS = "widgets/paths.js"
EMBED_AMD = "widgets/embed-amd.js"


def _vendor_dir(app: Sphinx) -> Path:
    return Path(app.srcdir) / "vendor"


def _use_vendored(app: Sphinx, config: Config) -> None:
    vendor = _vendor_dir(app)
    # Paths are relative to _static; build-finished copies vendor/ to <html>/vendor.
    if (vendor / MATHJAX).is_file():
        config.mathjax_path = f"../vendor/{MATHJAX}"
    else:
        logger.info("vendor/%s missing: pages load MathJax from a CDN (run `make vendor`)", MATHJAX)
    if all((vendor / f).is_file() for f in (REQUIREJS, AMD_PATHS, EMBED_AMD)):
        config.nb_ipywidgets_js = {
            f"../vendor/{REQUIREJS}": {},
            f"../vendor/{AMD_PATHS}": {},
            f"../vendor/{EMBED_AMD}": {},
        }
    else:
        logger.info("vendor/widgets missing: pages load the widget manager from a CDN")


def _check_stored_outputs(app: Sphinx, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".ipynb":
        return
    try:
        nb = json.loads(source[0])
    except json.JSONDecodeError:
        return  # not our business: myst-nb reports malformed notebooks itself
    code_index = 0
    with_output = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code_index += 1
        with_output += bool(cell.get("outputs"))
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise ExtensionError(
                    f"{path.relative_to(app.srcdir)}: the stored output of code cell {code_index} "
                    f"is an error ({output.get('ename')}: {output.get('evalue')}); fix the cell "
                    f"and run `make execute NOTEBOOKS={path.relative_to(app.srcdir)}`"
                )
    if code_index and not with_output:
        logger.warning(
            "%s has %d code cells and no stored outputs; run `make execute NOTEBOOKS=%s`",
            path.relative_to(app.srcdir),
            code_index,
            path.relative_to(app.srcdir),
            location=docname,
        )


def _copy_vendor(app: Sphinx, exception: Exception | None) -> None:
    vendor = _vendor_dir(app)
    if exception is None and app.builder.format == "html" and vendor.is_dir():
        shutil.copytree(vendor, Path(app.outdir) / "vendor", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _use_vendored, priority=900)
    app.connect("source-read", _check_stored_outputs)
    app.connect("build-finished", _copy_vendor)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
