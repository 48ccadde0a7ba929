#!/bin/sh
# Copies the map library pinned in package-lock.json, and the city outline, into api/static/vendor/,
# where the map page loads them (committed: serving the page needs no npm).
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
cp "$web/../chicago_risk/chicago_city_limits.geojson" "$vendor/chicago_city_limits.geojson"
echo "vendored leaflet $version and the city outline into api/static/vendor/"
