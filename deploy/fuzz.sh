#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 19, ASan + UBSan), makes their seed corpora and runs them.
#   deploy/fuzz.sh [--seconds N | --runs N] [--max-minutes M] [target...]
#   deploy/fuzz.sh --runs 10000000 --max-minutes 30      # the figure of issue 6
# Default: every target for 60 s. Exits non-zero when any target has a finding (crash, sanitizer
# report, leak, timeout, out of memory), kept in build-fuzz/findings/<target>/; logs in
# build-fuzz/logs/. LOA_FUZZ_BUILD_DIR picks another build directory. docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(fuzz_envelope fuzz_controller_handlers fuzz_plan_file fuzz_media_probe)
seconds=60
runs=""
max_minutes=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --max-minutes) max_minutes=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    fuzz_*) targets+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (targets: ${all_targets[*]})" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

bash deploy/install-deps.sh
build=${LOA_FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
CC=clang-19 CXX=clang++-19 cmake -S . -B "$build" -DLOA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)" --target loa_fuzz
bin="$build/tests/fuzz"

# Seeds: regenerated every time (cheap), kept apart from the corpora the runs grow.
seeds="$build/seeds"
rm -rf "$seeds/fuzz_envelope" "$seeds/fuzz_controller_handlers" "$seeds/fuzz_plan_file"
"$bin/make_seeds" "$seeds" "$root"

# Media seeds: tiny files of every kind operators import, each under 20 KB. The first byte picks
# the name's extension the probe sees (fuzz_media_probe.cpp: "", .wav, .mp3, .ogg, .opus, .png,
# .jpg, .mp4); the rest is the file.
media_seeds="$seeds/fuzz_media_probe"
if [ ! -f "$media_seeds/.complete" ]; then
  rm -rf "$media_seeds"
  mkdir -p "$media_seeds"
  raw=$(mktemp -d)
  ff=(ffmpeg -hide_banner -loglevel error -y)
  "${ff[@]}" -f lavfi -i sine=frequency=440:duration=0.5:sample_rate=8000 -ac 1 "$raw/tone.wav"
  sox -n -r 8000 -b 8 -c 1 "$raw/sox.wav" synth 0.3 sine 660
  "${ff[@]}" -f lavfi -i sine=frequency=440:duration=1:sample_rate=8000 -ac 1 -b:a 8k "$raw/tone.mp3"
  "${ff[@]}" -f lavfi -i sine=frequency=440:duration=1:sample_rate=48000 -ac 1 -c:a libopus \
    -b:a 6k "$raw/tone.opus"
  "${ff[@]}" -f lavfi -i sine=frequency=440:duration=1:sample_rate=8000 -ac 1 -c:a libvorbis \
    -q:a 0 "$raw/tone.ogg"
  "${ff[@]}" -f lavfi -i testsrc2=size=32x24 -frames:v 1 "$raw/slide.png"
  "${ff[@]}" -f lavfi -i testsrc2=size=32x24 -frames:v 1 -q:v 10 "$raw/slide.jpg"
  "${ff[@]}" -f lavfi -i testsrc2=size=64x48:rate=10:duration=1 -c:v libx264 -preset ultrafast \
    -crf 40 -pix_fmt yuv420p "$raw/clip.mp4"
  "${ff[@]}" -f lavfi -i testsrc2=size=64x48:rate=10:duration=1 \
    -f lavfi -i sine=frequency=440:duration=1:sample_rate=8000 -c:v libx264 -preset ultrafast \
    -crf 45 -pix_fmt yuv420p -c:a aac -b:a 8k -ac 1 -shortest "$raw/clip-sound.mp4"
  # Not media: a playlist and a concat script naming a file beside them (probe_input.cpp refuses
  # both before anything else is opened).
  printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\ninput.wav\n#EXT-X-ENDLIST\n' \
    > "$raw/playlist.m3u8"
  printf 'ffconcat version 1.0\nfile input.wav\n' > "$raw/list.ffconcat"
  selector() {
    case "$1" in
      *.wav) echo 1 ;; *.mp3) echo 2 ;; *.ogg) echo 3 ;; *.opus) echo 4 ;;
      *.png) echo 5 ;; *.jpg) echo 6 ;; *.mp4) echo 7 ;; *) echo 0 ;;
    esac
  }
  for f in "$raw"/*; do
    name=$(basename "$f")
    # With its own extension, and with none (the content alone decides).
    { printf "\\x0$(selector "$name")"; cat "$f"; } > "$media_seeds/$name.bin"
    { printf '\x00'; cat "$f"; } > "$media_seeds/$name.noext.bin"
  done
  rm -rf "$raw"
  touch "$media_seeds/.complete"
fi

# Stack traces with files and lines (llvm-19's symbolizer; any other reads clang 19's output too).
for symbolizer in /usr/bin/llvm-symbolizer-19 /usr/lib/llvm-19/bin/llvm-symbolizer \
                  /usr/bin/llvm-symbolizer-14 /usr/bin/llvm-symbolizer; do
  if [ -x "$symbolizer" ]; then
    export ASAN_SYMBOLIZER_PATH=$symbolizer
    break
  fi
done
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

mkdir -p "$build/logs"
summary=()
failed=0
for target in "${targets[@]}"; do
  if [ ! -x "$bin/$target" ]; then
    echo "fuzz.sh: no target $target (targets: ${all_targets[*]})" >&2
    exit 2
  fi
  corpus="$build/corpus/$target"
  findings="$build/findings/$target"
  log="$build/logs/$target.log"
  mkdir -p "$corpus" "$findings"
  args=(-rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -error_exitcode=77
        -timeout_exitcode=78 "-artifact_prefix=$findings/")
  if [ -n "$runs" ]; then
    args+=("-runs=$runs")
    [ -z "$max_minutes" ] || args+=("-max_total_time=$((max_minutes * 60))")
  else
    args+=("-max_total_time=$seconds")
  fi
  case "$target" in
    fuzz_plan_file) args+=("-dict=$root/tests/fuzz/plan_file.dict") ;;
    # Its server keeps state between inputs (sessions, stored reports), so nearly every input
    # ends with more allocated than it started with, and a leak check after each would cost 90 %
    # of the time. Leaks are still reported when the run ends.
    fuzz_controller_handlers) args+=(-detect_leaks=0) ;;
    # FFmpeg decodes with a thread per core; inputs up to 64 KiB keep each one quick.
    fuzz_media_probe) args+=(-max_len=65536) ;;
  esac
  before=$(find "$findings" -type f ! -name 'slow-unit-*' | wc -l)
  start=$(date +%s)
  status=0
  LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    "$bin/$target" "${args[@]}" "$corpus" "$seeds/$target" > "$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  after=$(find "$findings" -type f ! -name 'slow-unit-*' | wc -l)
  found=$((after - before))
  # A sanitizer report at exit (a leak) writes no artifact: the exit status tells.
  [ "$status" -eq 0 ] || [ "$found" -gt 0 ] || found=1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ -z "$execs" ]; then  # stopped by a finding: the last status line says how far it got
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    execs=${execs:-0}
    rate=$(( elapsed > 0 ? execs / elapsed : execs ))
  fi
  size=$(find "$corpus" -type f | wc -l)
  line=$(printf '%-26s %10s execs %7s exec/s %5s s  corpus %5s  findings %s' \
    "$target" "$execs" "$rate" "$elapsed" "$size" "$found")
  echo "$line"
  summary+=("$line")
  if [ "$found" -gt 0 ]; then
    failed=1
    echo "  see $log and $findings/; reproduce with: $bin/$target <file>" >&2
  fi
done

# A run that crashed leaves its scratch directory on /dev/shm; its process is gone by now.
for dir in /dev/shm/loa-fuzz-*; do
  [ -d "$dir" ] || continue
  kill -0 "${dir##*-}" 2>/dev/null || rm -rf "$dir"
done

echo "fuzz.sh summary:"
printf '  %s\n' "${summary[@]}"
exit "$failed"
