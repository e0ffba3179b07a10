#!/usr/bin/env bash
# Vendor MathJax 3 and the ipywidgets HTML manager (with RequireJS) from npm into vendor/,
# so the built book typesets math and shows widgets with no network. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=mathjax@3.2.2
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15
REQUIREJS=requirejs@2.3.8
if [ -f vendor/.stamp ] && [ "$(cat vendor/.stamp)" = "$MATHJAX $HTML_MANAGER $REQUIREJS" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor: npm not found; the book will load MathJax and widgets from CDNs (needs network)" >&2
  exit 0
fi
cache=.cache/npm
mkdir -p "$cache"
(cd "$cache" && npm pack --silent "$MATHJAX" "$HTML_MANAGER" "$REQUIREJS" >/dev/null)
rm -rf vendor && mkdir -p vendor/mathjax vendor/widgets
tmp=$(mktemp -d)
tar -xzf "$cache"/mathjax-3.2.2.tgz -C "$tmp" && cp -r "$tmp"/package/es5/. vendor/mathjax/ && rm -rf "$tmp"/package
tar -xzf "$cache"/jupyter-widgets-html-manager-1.0.15.tgz -C "$tmp" && cp -r "$tmp"/package/dist/. vendor/widgets/ && rm -rf "$tmp"/package
tar -xzf "$cache"/requirejs-2.3.8.tgz -C "$tmp" && cp "$tmp"/package/require.js vendor/widgets/require.min.js
rm -rf "$tmp"
# The widget manager resolves its fonts next to its AMD module id; point that id at this folder.
cat > vendor/widgets/paths.js <<'JS'
(function () {
  var src = document.currentScript.src;
  require.config({paths: {"@jupyter-widgets/html-manager/dist": src.slice(0, src.lastIndexOf("/"))}});
})();
JS
echo "$MATHJAX $HTML_MANAGER $REQUIREJS" > vendor/.stamp
echo "vendor: MathJax, widget manager and RequireJS unpacked into vendor/"
