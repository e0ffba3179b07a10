"""Open the built book in a real browser, offline, and check what a reader sees.

Usage: python .ci/browser_check.py _build/html

Serves the HTML on 127.0.0.1, opens every chapter page in headless Debian
Chromium with every request that leaves 127.0.0.1 blocked (the network cut),
and asserts that:
  - math is typeset (MathJax output elements exist wherever the page has math),
  - every image loads (complete, with a non-zero natural width),
  - pages that carry widget state show rendered widgets,
  - no page needed the network (blocked requests are listed and fail the check),
  - Chinese text is drawn with a CJK font, not as empty boxes ("tofu"): two different
    hanzi from the page, drawn on a canvas in the page's font, must differ from each
    other and from U+E000, a private-use code point no font draws (.ci/run installs
    Debian's fonts-noto-cjk when no font covers Chinese).

Without chromium it says so and exits 0, except under CI (CI=true), where a
missing browser is a failure: CI must not skip this check.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # The network cut: no host but the local server resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

PAGE_STATE_JS = """
() => {
  const hasMath = document.querySelector('.math, span.math, div.math') !== null;
  const imgs = [...document.querySelectorAll('article img, main img')];
  return {
    hasMath,
    typeset: document.querySelectorAll('mjx-container').length,
    rawMath: [...document.querySelectorAll('.math')].filter(
        e => !e.querySelector('mjx-container') && /\\\\\\(|\\\\\\[|\\$\\$/.test(e.textContent)).length,
    images: imgs.length,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    widgetState: document.querySelector(
        'script[type="application/vnd.jupyter.widget-state+json"]') !== null,
    widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    widgets: document.querySelectorAll('.jupyter-widgets, .widget-container, .lm-Widget').length,
    colab: document.querySelector('a[href*="colab.research.google.com"]') !== null,
  };
}
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep the output readable
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


CJK_JS = """
() => {
  const han = /[\\u4e00-\\u9fff]/g;
  const owner = [...document.querySelectorAll('article p, article td, article h1, article em, main p')]
      .find(e => (e.textContent.match(han) || []).length >= 2);
  if (!owner) return null;
  const chars = [...new Set(owner.textContent.match(han))];
  if (chars.length < 2) return null;
  const family = getComputedStyle(owner).fontFamily;
  const draw = ch => {
    const c = document.createElement('canvas');
    c.width = c.height = 64;
    const ctx = c.getContext('2d');
    ctx.font = `48px ${family}`;
    ctx.fillText(ch, 4, 52);
    return c.toDataURL();
  };
  const [a, b] = chars;
  const tofu = draw('\\ue000');
  return {chars: a + b, glyphs: draw(a) !== draw(b) && draw(a) !== tofu && draw(b) !== tofu};
}
"""


def check_page(browser, url: str) -> tuple[dict, list[str]]:
    """Load one page in a fresh tab; return its state and the requests it could not make."""
    page = browser.new_page()
    failed: list[str] = []

    def route(r):
        if r.request.url.startswith("http://127.0.0.1"):
            r.continue_()
        else:
            failed.append(f"blocked {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load", timeout=60_000)
    state = page.evaluate(PAGE_STATE_JS)
    if state["hasMath"]:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000
        )
        page.evaluate("() => MathJax.startup.promise")
    if state["widgetViews"]:
        try:
            page.wait_for_selector(
                ".jupyter-widgets, .widget-container, .lm-Widget", timeout=30_000
            )
        except Exception:  # reported by the caller as "no widgets rendered"
            pass
    page.wait_for_load_state("networkidle", timeout=30_000)
    state = page.evaluate(PAGE_STATE_JS)
    state["cjk"] = page.evaluate(CJK_JS)
    page.close()
    return state, failed


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "_build/html").resolve()
    if not (root / "index.html").is_file():
        print(f"browser check: {root}/index.html not found; run `make book` first", file=sys.stderr)
        return 1
    chromium = find_chromium()
    if chromium is None:
        msg = "browser check: chromium not found (Debian: apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            print(msg + "; CI must run this check, failing", file=sys.stderr)
            return 1
        print(msg + "; SKIPPED")
        return 0
    from playwright.sync_api import sync_playwright

    pages = sorted((root / "chapters").rglob("*.html")) + sorted(root.glob("glossary.html"))
    server, base = serve(root)
    failures: list[str] = []
    totals = {"pages": 0, "math": 0, "images": 0, "widgets": 0, "colab": 0, "cjk": 0}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for html in pages:
            rel = html.relative_to(root).as_posix()
            state, failed = check_page(browser, f"{base}/{rel}")
            totals["pages"] += 1
            totals["math"] += state["typeset"]
            totals["images"] += state["images"]
            totals["widgets"] += state["widgets"]
            totals["colab"] += int(state["colab"])
            problems = []
            if state["hasMath"] and (state["typeset"] == 0 or state["rawMath"]):
                problems.append(f"math not typeset ({state['rawMath']} raw TeX blocks)")
            if state["brokenImages"]:
                problems.append(f"images not loaded: {state['brokenImages'][:3]}")
            if state["widgetViews"] and state["widgets"] == 0:
                problems.append(f"{state['widgetViews']} widget views but no widgets rendered")
            if failed:
                problems.append(f"requests failed: {sorted(set(failed))[:3]}")
            if state["cjk"] is not None:
                totals["cjk"] += 1
                if not state["cjk"]["glyphs"]:
                    problems.append(
                        f"Chinese drawn as empty boxes ({state['cjk']['chars']}): no CJK font; "
                        "install one (Debian: apt-get install fonts-noto-cjk)"
                    )
            status = "ok" if not problems else "FAIL: " + "; ".join(problems)
            print(
                f"{rel}: math={state['typeset']} images={state['images']} "
                f"widgets={state['widgets']} {status}"
            )
            if problems:
                failures.append(rel)
        browser.close()
    server.shutdown()
    print(
        f"browser check: {totals['pages']} pages, {totals['math']} typeset formulas, "
        f"{totals['images']} images, {totals['widgets']} widget elements, "
        f"{totals['colab']} pages with a Colab button, {totals['cjk']} pages with Chinese drawn "
        "in a CJK font, network cut"
    )
    if failures:
        print(f"browser check FAILED on {len(failures)} pages", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
