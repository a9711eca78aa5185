#!/usr/bin/env bash
# wxflow lint beside oxlint on one generated Mini Program, in the same run.
#   benches/lint.sh [PAGES]   (default 2000)
# Generates PAGES pages (js, wxml, json), a tenth of them logging in through
# helpers in utils/ (the seed's order in half of those), lints the tree with
# the release wxflow and with oxlint (npm package `oxlint`, default rules),
# each three times, and prints files/s, MB/s, peak RSS and the ratio of the
# medians. Needs node/npm (oxlint is installed into target/oxlint).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-2000}
tree=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tree"' EXIT

mkdir -p "$tree/utils" "$tree/pages"
cat > "$tree/app.js" <<'JS'
App({ globalData: {} })
JS
cat > "$tree/utils/auth.js" <<'JS'
function wxLogin() {
  return new Promise((resolve, reject) => wx.login({ success: resolve, fail: reject }))
}
module.exports = { wxLogin }
JS
cat > "$tree/utils/http.js" <<'JS'
const BASE = 'https://api.example.com'
export function post(path, data) {
  return new Promise((resolve) => wx.request({ url: BASE + path, method: 'POST', data, success: (r) => resolve(r.data) }))
}
JS
for i in $(seq 1 "$pages"); do
  d="$tree/pages/p$i"
  mkdir -p "$d"
  echo '{"usingComponents":{}}' > "$d/p$i.json"
  cat > "$d/p$i.wxml" <<WXML
<view class="page-$i">
  <text>{{title}}</text>
  <button open-type="getUserInfo" bindgetuserinfo="onGot">login $i</button>
  <view wx:for="{{items}}" wx:key="id" bindtap="open" data-id="{{item.id}}">{{item.name}}</view>
</view>
WXML
  if (( i % 10 == 0 )); then
    # Half of them the seed's order (the button's data, then the login), half the fix (the data fetched after it).
    if (( i % 20 == 0 )); then detail='const { encryptedData, iv } = e.detail'; fresh='null'; else detail=''; fresh='await wx.getUserInfo()'; fi
    cat > "$d/p$i.js" <<JS
const { wxLogin } = require('../../utils/auth.js')
import { post } from '../../utils/http'
Page({
  data: { title: 'page $i', items: [] },
  onLoad(options) { this.setData({ items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] }) },
  onGot(e) {
    $detail
    wxLogin().then(async (res) => {
      const fresh = $fresh
      const body = fresh ? { code: res.code, encryptedData: fresh.encryptedData, iv: fresh.iv } : { code: res.code, encryptedData, iv }
      return post('/api/login', body)
    })
  },
  open(e) { wx.navigateTo({ url: '/pages/p$i/p$i?id=' + e.currentTarget.dataset.id }) },
})
JS
  else
    cat > "$d/p$i.js" <<JS
Page({
  data: { title: 'page $i', items: [], loading: false },
  onLoad(options) {
    this.setData({ loading: true })
    wx.request({ url: 'https://api.example.com/items?page=$i', success: (res) => this.setData({ items: res.data.items, loading: false }) })
  },
  onPullDownRefresh() { this.onLoad({}); wx.stopPullDownRefresh() },
  open(e) {
    const id = e.currentTarget.dataset.id
    if (!id) { return }
    wx.navigateTo({ url: '/pages/p$i/p$i?id=' + id })
  },
})
JS
  fi
done

files=$(find "$tree" -type f \( -name '*.js' -o -name '*.wxml' -o -name '*.json' \) | wc -l)
bytes=$(find "$tree" -type f \( -name '*.js' -o -name '*.wxml' -o -name '*.json' \) -printf '%s\n' | awk '{s+=$1} END {print s}')
cargo build --release --quiet
if [ ! -x target/oxlint/node_modules/.bin/oxlint ]; then
  mkdir -p target/oxlint && npm install --silent --prefix target/oxlint oxlint >/dev/null
fi
oxlint=target/oxlint/node_modules/.bin/oxlint

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # label, command...: three runs; prints the median seconds and peak RSS (KB)
  local label=$1; shift
  local times=() rss=0
  for _ in 1 2 3; do
    local out
    /usr/bin/time -f '%e %M' -o "$tree/.time" "$@" >/dev/null 2>&1 || true
    out=$(tail -1 "$tree/.time")
    times+=("${out%% *}")
    (( ${out##* } > rss )) && rss=${out##* }
  done
  local m
  m=$(printf '%s\n' "${times[@]}" | median)
  printf '%-8s median %6.2f s  %8.0f files/s  %6.2f MB/s  peak RSS %6.1f MB\n' "$label" "$m" \
    "$(echo "$files / $m" | bc -l)" "$(echo "$bytes / 1000000 / $m" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  echo "$m" > "$tree/.$label"
}
echo "tree: $pages pages, $files files, $bytes bytes ($(nproc) cores, $(date -u +%F))"
measure wxflow target/release/wxflow lint "$tree" --format json
measure oxlint "$oxlint" "$tree"
printf 'ratio (wxflow / oxlint): %.2f\n' "$(echo "$(cat "$tree/.wxflow") / $(cat "$tree/.oxlint")" | bc -l)"
target/release/wxflow lint "$tree" --format json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print("wxflow found", s["errors"], "errors,", s["warnings"], "warnings")'
