#!/usr/bin/env bash
# Renders an HTML or SVG file (a sweep's report.html, persian-rug.svg, superposition.svg) with headless
# chromium into a PNG, to look at it or attach it somewhere.
#   scripts/screenshot.sh runs/sweep/report.html report.png [WIDTH,HEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 FILE.html|FILE.svg OUT.png [WIDTH,HEIGHT]" >&2; exit 2; fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --screenshot="$2" --window-size="${3:-1400,2400}" \
  "file://$(realpath "$1")" 2>/dev/null
echo "wrote $2"
