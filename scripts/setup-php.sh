#!/usr/bin/env bash
# PHP for clients/php (the PHP client, its Laravel middleware, phpunit, the conformance
# adapter), from Debian's packages: PHP 8.2 with curl, mbstring, xml, sqlite3; phpunit 9.6;
# Laravel 8.83 (php-laravel-framework, which brings illuminate/queue, symfony/process and
# friends); composer (works offline: `composer dump-autoload` needs no Packagist).
# Idempotent, quiet, and instant when everything is there; apt-get update runs at most once.
set -euo pipefail

PACKAGES=(php-cli php-curl php-mbstring php-xml php-sqlite3 phpunit php-laravel-framework composer)

say() { printf 'setup-php: %s\n' "$*"; }

ready() {
  command -v php >/dev/null 2>&1 && command -v phpunit >/dev/null 2>&1 &&
    command -v composer >/dev/null 2>&1 &&
    php -r 'foreach (["curl", "json", "mbstring", "dom", "pdo_sqlite"] as $e) { if (!extension_loaded($e)) exit(1); }' &&
    [[ -f /usr/share/php/Illuminate/Queue/Worker.php ]]
}

if ready; then
  say "PHP $(php -r 'echo PHP_VERSION;'), phpunit, Laravel $(dpkg-query -W -f='${Version}' php-laravel-framework 2>/dev/null) ready"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { say "ERROR: need root or sudo to apt-get install ${PACKAGES[*]}" >&2; exit 1; }
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || { say "ERROR: apt-get not found (Debian/Ubuntu needed for ${PACKAGES[*]})" >&2; exit 1; }

log=$(mktemp /tmp/setup-php.XXXXXX.log)
trap 'rm -f "$log"' EXIT
say "installing ${PACKAGES[*]} (Debian)"
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >"$log" 2>&1; then
  # The package lists may be missing or stale (a fresh container): update once and retry.
  "${SUDO[@]}" apt-get update -qq >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${PACKAGES[@]}" >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
ready || { say "ERROR: installed, but PHP is still incomplete" >&2; cat "$log" >&2; exit 1; }
say "PHP $(php -r 'echo PHP_VERSION;') ready"
