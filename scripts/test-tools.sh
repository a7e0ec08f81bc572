#!/usr/bin/env bash
# What `npm test` needs beyond node_modules (npm runs this first, as `pretest`; .ci/run calls it
# too): hledger, which the export tests hand their journals to, and Chromium, which the explorer
# tests drive headless through playwright-core. On Debian as root (or with password-less sudo)
# the missing ones are installed from Debian's packages; anywhere else the run stops at once,
# with one line naming the tool and the command that installs it.
set -euo pipefail

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing() {
  local tools=()
  command -v hledger >/dev/null 2>&1 || tools+=(hledger)
  [ -x "$chromium" ] || tools+=(chromium)
  echo "${tools[*]}"
}

tools="$(missing)"
[ -z "$tools" ] && exit 0
if [ -n "${CHROMIUM_PATH:-}" ] && [ ! -x "$CHROMIUM_PATH" ]; then
  echo "npm test: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; point it at a Chrome or Chromium binary, or unset it to use /usr/bin/chromium" >&2
  exit 1
fi

sudo=""
apt=no
if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt=yes
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=yes
    sudo="sudo -n"
  fi
fi

if [ "$apt" = yes ]; then
  echo "npm test: installing $tools from Debian's packages (the export and explorer tests run them)"
  # shellcheck disable=SC2086 # $sudo and $tools are word lists on purpose
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $tools >/dev/null
  tools="$(missing)"
  [ -z "$tools" ] && exit 0
fi

# One line, then stop: the tests that need these tools would fail one by one, much later.
case "$(uname -s)" in
  Darwin) install="brew install ${tools/chromium/--cask chromium} (then CHROMIUM_PATH=/Applications/Chromium.app/Contents/MacOS/Chromium)" ;;
  *) install="sudo apt-get install $tools (Debian, Ubuntu)" ;;
esac
other=""
[[ "$tools" == *chromium* ]] && other=", or set CHROMIUM_PATH to a Chrome or Chromium binary"
echo "npm test needs ${tools// / and }: install with: $install$other" >&2
exit 1
