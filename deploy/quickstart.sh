#!/usr/bin/env bash
# Quickstart: a controller, three node agents and Vietnamese bulletins on this machine, end to end.
# Builds loa, generates bulletins with espeak-ng, books them a few seconds ahead, lets the nodes
# play them (into WAV files), prints the airtime report and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target loa-controller loa-node loactl

run="$root/quickstart-run"
rm -rf "$run"
mkdir -p "$run/bulletins" "$run/logs"
export LOA_DATA="$run/controller"
loactl="$root/build/controller/loactl"
port=${LOA_QUICKSTART_PORT:-5599}
endpoint="tcp://127.0.0.1:$port"
enroll_endpoint="tcp://127.0.0.1:$((port + 1))"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== People (docs/people.md): the first admin, an operator and an approver for Lào Cai"
# Generated passwords, kept for a later `loactl login` (readable by this user only).
password() { head -c 18 /dev/urandom | base64; }
new_user() {  # NAME ROLE AREA: adds the user as the admin, saves its password, prints a token
  local pw; pw=$(password)
  (umask 077 && echo "$pw" >"$run/password-$1")
  printf '%s\n' "$pw" | LOA_TOKEN="${admin_token:-}" "$loactl" user add "$1" --role "$2" \
    --area "$3" --password-stdin >&2
  printf '%s\n' "$pw" | "$loactl" login "$1" --password-stdin 2>/dev/null
}
admin_token=""  # the first admin needs none: there is nobody yet to give it one
admin_token=$(new_user quan-tri admin /)
operator_token=$(new_user van-hanh operator vn/lao-cai)
approver_token=$(new_user tham-dinh approver vn/lao-cai)
export LOA_TOKEN="$operator_token"  # everything below is the operator's, unless said

echo "== Bulletins (espeak-ng -v vi): a quiet MP3, a loud WAV and an Ogg Vorbis, normalised on import"
texts=(
  "Bản tin phòng chống thiên tai. Bà con thôn Tả Van chú ý mưa lớn, đề phòng sạt lở đất."
  "Phong trào thi đua Lao động giỏi, lao động sáng tạo trên địa bàn tỉnh Lào Cai."
  "Xây dựng nông thôn mới: mỗi huyện giới thiệu ít nhất một mô hình điển hình mỗi tháng."
)
titles=("Phòng chống thiên tai" "Lao động giỏi, lao động sáng tạo" "Nông thôn mới")
# As operators receive them: a phone recording far too quiet (MP3), a studio WAV far too loud,
# and an Ogg Vorbis in between. Import measures each (EBU R128) and brings it to -23 LUFS Opus.
files=("ban-tin-0.mp3" "ban-tin-1.wav" "ban-tin-2.ogg")
encodings=("-af volume=0.08 -ac 1 -ar 22050 -c:a libmp3lame -b:a 48k"
           "-af volume=3.0,alimiter=limit=0.97 -ac 2 -ar 44100 -c:a pcm_s16le"
           "-ac 1 -ar 22050 -c:a libvorbis -q:a 3")
hashes=()
for i in "${!texts[@]}"; do
  espeak-ng -v vi -s 150 -w "$run/bulletins/raw-$i.wav" "${texts[$i]}"
  # shellcheck disable=SC2086 # the encoding options are meant to split
  ffmpeg -nostdin -loglevel error -y -i "$run/bulletins/raw-$i.wav" ${encodings[$i]} \
    "$run/bulletins/${files[$i]}"
  imported=$("$loactl" --json media import "$run/bulletins/${files[$i]}" --title "${titles[$i]}")
  hash=$(echo "$imported" | python3 -c 'import json,sys; print(json.load(sys.stdin)["media_hash"])')
  hashes+=("$hash")
  # Only approved media airs: the approver listens and approves (thẩm định).
  LOA_TOKEN="$approver_token" "$loactl" media approve "$hash" --note "quickstart" >/dev/null
  echo "$imported" | python3 -c 'import json,sys; m=json.load(sys.stdin); print("%-14s → %s…  %.2f s  opus  %.1f → %.1f LUFS  %s" % (sys.argv[1], m["media_hash"][:12], m["duration_seconds"], m["loudness_before_lufs"], m["loudness_after_lufs"], m["title"]))' "${files[$i]}"
done

echo "== Controller on $endpoint (CURVE; enrollment on $enroll_endpoint)"
"$root/build/controller/loa-controller" --bind "$endpoint" --enroll-bind "$enroll_endpoint" \
  --heartbeat-ms 5000 >"$run/logs/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  grep -q "controller listening on" "$run/logs/controller.log" && break
  sleep 0.2
done

echo "== Nodes: the operator issues one-time tokens; each device enrolls its own key with one"
nodes=(ta-van-01 ta-van-02 a-mu-sung-01)
areas=(vn/lao-cai/sa-pa/ta-van vn/lao-cai/sa-pa/ta-van vn/lao-cai/bat-xat/a-mu-sung)
for i in "${!nodes[@]}"; do
  node=${nodes[$i]}
  token=$("$loactl" --json node enroll "$node" --kind speaker --area "${areas[$i]}" \
    --expires-hours 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  "$root/build/node/loa-node" --data "$run/nodes/$node" --log-file "" \
    enroll --controller "$enroll_endpoint" --token "$token" 2>&1 | sed 's/^.*\] //'
done

echo "== Three node agents, each from its node.conf and node.key"
for node in "${nodes[@]}"; do
  "$root/build/node/loa-node" --data "$run/nodes/$node" \
    --sink "file:$run/played/$node" >"$run/logs/$node.log" 2>&1 &
  pids+=($!)
done

echo "== Campaign, booked to start in 15 seconds"
items=()
for h in "${hashes[@]}"; do items+=(--item "$h"); done
"$loactl" campaign add quickstart-lao-cai --name "Tuyên truyền thôn bản Lào Cai" \
  --owner "Sở Thông tin và Truyền thông" "${items[@]}" \
  --area vn/lao-cai/sa-pa --area vn/lao-cai/bat-xat --start now+15s --end now+10m

report() { "$loactl" report airtime --campaign quickstart-lao-cai --from now-1h --to now+1h "$@"; }
all_confirmed() {
  report --json | python3 -c 'import json,sys; t=json.load(sys.stdin)["total"]; sys.exit(0 if t["planned_plays"]>0 and t["confirmed_plays"]==t["planned_plays"] else 1)'
}
echo "== Prefetch: the nodes fetch the Opus files by hash and report them ready"
for _ in $(seq 1 10); do
  [ "$("$loactl" --json media missing --hours 1)" = "[]" ] && break
  sleep 1
done
"$loactl" media missing --hours 1

echo "== Waiting for every node to confirm every bulletin"
for _ in $(seq 1 120); do
  all_confirmed && break
  sleep 1
done

echo
report
echo
report --lang en | tail -n +5
echo
echo "== The quota engine on the Lào Cai sample plan (docs/examples/lao-cai.toml), next 7 days"
today=$(TZ=Asia/Ho_Chi_Minh date +%F)
"$loactl" plan check "$root/docs/examples/lao-cai.toml" --from "$today" --days 7 || true
"$loactl" calendar events --year "$(date +%Y)" --plan "$root/docs/examples/lao-cai.toml"
echo
echo "== The action log: who did what, when (as the admin)"
LOA_TOKEN="$admin_token" "$loactl" log list --action media --limit 4
LOA_TOKEN="$admin_token" "$loactl" log list --action campaign
echo
echo "Played audio: $run/played/<node>/*.wav   Logs: $run/logs/"
echo "Passwords: $run/password-<user>   (export LOA_TOKEN=\$(loactl login quan-tri --password-stdin < $run/password-quan-tri))"
if ! all_confirmed; then
  echo "quickstart: not every planned play was confirmed; see $run/logs/" >&2
  exit 1
fi
