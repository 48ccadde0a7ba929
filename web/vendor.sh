#!/bin/sh
# Copies the map library pinned in package-lock.json into api/static/vendor/, where the map page
# loads it (committed: serving the page needs no npm). The city outline comes from the API (/api/city).
#   cd web && npm ci && npm run vendor        # or: sh web/vendor.sh after `npm ci` in web/
set -eu
web=$(cd "$(dirname "$0")" && pwd)
leaflet="$web/node_modules/leaflet"
vendor="$web/../api/static/vendor"
[ -f "$leaflet/dist/leaflet-src.esm.js" ] || { echo "vendor.sh: $leaflet is missing: run 'npm ci' in web/ first" >&2; exit 1; }
version=$(node -p "require('$leaflet/package.json').version")
pinned=$(node -p "require('$web/package-lock.json').packages['node_modules/leaflet'].version")
[ "$version" = "$pinned" ] || { echo "vendor.sh: node_modules has leaflet $version, the lock pins $pinned: run 'npm ci'" >&2; exit 1; }

rm -rf "$vendor/leaflet"
mkdir -p "$vendor/leaflet/images"
cp "$leaflet/dist/leaflet-src.esm.js" "$leaflet/dist/leaflet.css" "$leaflet/LICENSE" "$vendor/leaflet/"
cp "$leaflet/dist/images/"*.png "$vendor/leaflet/images/"
echo "vendored leaflet $version into api/static/vendor/"
