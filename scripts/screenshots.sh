#!/usr/bin/env bash
# Screenshots of the pages at 1366×768 into docs/screenshots/: the browser tests (headless
# Chromium through chromedriver, against a local cluster on the simulated trunk) save each page
# as they go when DIALER_SCREENSHOTS names a directory.
#   scripts/screenshots.sh          (needs: apt-get install -y chromium chromium-driver)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
DIALER_SCREENSHOTS="$PWD/docs/screenshots" swift test --skip-build --filter PagesBrowserTests
ls -l docs/screenshots
