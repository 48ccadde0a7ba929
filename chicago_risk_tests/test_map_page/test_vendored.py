"""The vendored files in api/static/vendor/ are what web/vendor.sh would write today: the Leaflet
build pinned in web/package-lock.json. (The city outline is not vendored: the page reads /api/city.)"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "api" / "static" / "vendor"


def test_the_vendored_leaflet_is_the_version_the_lock_pins():
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/leaflet"]["version"]
    manifest = json.loads((ROOT / "web" / "package.json").read_text())
    assert manifest["dependencies"]["leaflet"] == pinned, "package.json pins an exact version, the lock's"
    header = (VENDOR / "leaflet" / "leaflet-src.esm.js").read_text()[:300]
    assert re.search(rf"Leaflet {re.escape(pinned)}\b", header), (
        f"vendored Leaflet is not {pinned}: run npm ci && npm run vendor in web/"
    )
    assert "BSD 2-Clause" in (VENDOR / "leaflet" / "LICENSE").read_text()


def test_the_page_loads_nothing_from_elsewhere():
    """No script, style, module, fetch or CSS url from another origin (links to read are fine);
    the browser test checks what is actually requested."""
    remote = re.compile(
        r"""src=["']https?:|<link[^>]+href=["']https?:|from\s+["']https?:|import\(["']https?:|fetch\(["']https?:|url\(["']?https?:"""
    )
    pages = sorted(p for p in (ROOT / "api" / "static").iterdir() if p.suffix in {".html", ".js", ".css"})
    assert pages
    for page in pages:
        assert not remote.search(page.read_text()), f"{page.name} loads something from another origin"
