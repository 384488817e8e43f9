"""What the dashboard tests share: the admin token, the browser, where screenshots go."""

from __future__ import annotations

from pathlib import Path

TOKEN = "correct-horse-battery-staple-admin-token"
# Debian's chromium (apt-get install chromium), never a browser downloaded by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # git-ignored
