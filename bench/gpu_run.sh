#!/usr/bin/env bash
# One prepared GPU run: the webgpu benchmark beside PyTorch CUDA, the flagship PTB models and
# the copy task at T = 1000 (the uRNN, then the complex cuRNN), in stages that each call
# continues (docs/training.md, "One prepared GPU run").
#
#   bash bench/gpu_run.sh            # do what is left, within one call's budget
#   bash bench/gpu_run.sh status     # print what is done and what is left
#   bash bench/gpu_run.sh dry-run    # the same stages at toy sizes, on any adapter (tests)
#   bash bench/gpu_run.sh kit        # here, before: .gpu-kit/ (Deno, node_modules, PTB) and .gl/
#
# State lives in $ROTOR_GPU_STATE (default runs/gpu): a stage that finished leaves
# done/<stage>, a training stage its checkpoint, so the next call resumes. At the end of
# every call the state is packed into $OUT (when set) as state.tar.xz.partNN (15 MiB each)
# with progress.log beside it; unpack them into the state folder's parent before the next
# call (`cat state.tar.xz.part* | tar -xJ -C runs`) if the machine is a fresh one.
set -uo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
case "$MODE" in
run | dry-run | status | kit) ;;
*)
  echo "usage: bash bench/gpu_run.sh [run|dry-run|status|kit] (got \"$MODE\")" >&2
  exit 2
  ;;
esac
KIT=.gpu-kit
if [ "$MODE" = kit ]; then
  # What a bare machine lacks, packed to travel with the working tree (the device's copy of
  # it takes 64 MiB): Deno (xz: ~31 MB of 96), the npm packages the trainer and benchmarks
  # load (no Bun, Playwright, Vega, source maps or type declarations), PTB, and Debian's
  # Vulkan loader. Both folders must be ignored (.git/info/exclude) and carried.
  set -e
  mkdir -p "$KIT" .gl
  src="$(readlink -f node_modules)"
  xz -T0 -6 -c "$src/deno/deno" >"$KIT/deno.xz"
  tar -C "$src/.." -cf - --exclude='*.map' --exclude='*.d.ts' --exclude='*.min.js' \
    --exclude='*.html' --exclude='*.md' --exclude=node_modules/deno --exclude=node_modules/bun \
    --exclude='node_modules/@deno' --exclude='node_modules/@oven' \
    --exclude=node_modules/playwright-core \
    --exclude=node_modules/.bin "$(basename "$src")" |
    xz -T0 -6 >"$KIT/node_modules.tar.xz"
  if [ -n "${PTB_DIR:-}" ]; then tar -C "$PTB_DIR" -cJf "$KIT/ptb.tar.xz" .; fi
  for deb in /var/cache/apt/archives/libvulkan1_*.deb; do [ -e "$deb" ] && cp "$deb" .gl/; done
  ls .gl/libvulkan1_*.deb >/dev/null 2>&1 || (cd .gl && apt-get download libvulkan1) ||
    echo "no libvulkan1 .deb found or downloaded: the GPU machine must have the loader" >&2
  du -ch "$KIT"/* .gl/* | tail -n 1
  exit 0
fi

STATE="${ROTOR_GPU_STATE:-runs/gpu}"
case "$STATE" in /*) ;; *) STATE="$PWD/$STATE" ;; esac
# A call starts no stage after this many seconds and every training chunk ends by then.
CALL_S="${ROTOR_GPU_CALL_SECONDS:-540}"
START=$(date +%s)
mkdir -p "$STATE/done" "$STATE/logs"

log() { echo "[gpu_run $(date -u +%H:%M:%S)] $*" | tee -a "$STATE/progress.log"; }
left() { echo $((CALL_S - ($(date +%s) - START))); }

# --- the stages, in order; sizes for the real run and for the dry run ---------------------
STAGES=(bench-webgpu bench-torch train-ugru train-urnn toy-copy eval toy-copy-complex)
if [ "$MODE" = dry-run ]; then
  BENCH_FLAGS=(--cells rnn,ugru --bptt 3 --hidden 8 --vocab 50 --batch 2 --reps 1)
  BENCH_SIZES=(8)
  TORCH_FLAGS=(--cells rnn --bptt 3 --hidden 8 --vocab 50 --batch 2 --reps 1)
  # --max-steps bounds the toy model; --max-minutes makes each call stop after one step,
  # so the dry run crosses calls the way the real one does.
  UGRU_FLAGS=(--cell ugru --hidden 8 --tie --bptt 5 --batch 4 --epochs 1 --max-steps 3)
  URNN_FLAGS=(--cell urnn --activation tanh --hidden 8 --tie --bptt 5 --batch 4 --epochs 1
    --max-steps 2)
  DATA_FLAGS=(--skip-md5) # a small corpus stands in for PTB
  CHUNK_MIN="${ROTOR_GPU_CHUNK_MINUTES:-0.00005}"
  COPY_FLAGS=(--task copy --length 10 --cell urnn --hidden 8 --batch 4 --steps 3 --held-out 16
    --eval-batch 8)
  COPY_COMPLEX_FLAGS=(--task copy --length 10 --cell curnn --activation modrelu --hidden 8
    --batch 4 --steps 3 --held-out 16 --eval-batch 8)
  BACKEND="${ROTOR_GPU_BACKEND:-webgpu}"
else
  BENCH_FLAGS=(--cells rnn,urnn,gru,ugru,lstm --bptt 35 --reps 3)
  BENCH_SIZES=(256 1024)
  TORCH_FLAGS=(--cells rnn,urnn,gru,ugru --bptt 35 --reps 3)
  # Flagships (docs/training.md says why): one wide layer, tied, strong dropout, the
  # grid's Adam (lr 0.002 halved on a plateau, orthogonal step at lr/10), clip 1.
  UGRU_FLAGS=(--cell ugru --hidden 650 --tie --dropout 0.5 --bptt 35 --batch 20 --epochs 25
    --lr 0.002 --log-every 100)
  URNN_FLAGS=(--cell urnn --activation tanh --hidden 650 --tie --dropout 0.4 --bptt 35
    --batch 20 --epochs 25 --lr 0.002 --log-every 100)
  CHUNK_MIN="${ROTOR_GPU_CHUNK_MINUTES:-8}"
  # expRNN's copy set-up at T = 1000: H = 190, Adam at 1e-3, orthogonal lr 1e-4. With one op
  # per cell operation and time step it cannot finish in a call; with the recurrence op it can.
  COPY_FLAGS=(--task copy --length 1000 --cell urnn --activation modrelu --hidden 190
    --batch 128 --steps 4000 --lr 0.001 --lr-orth 0.0001 --log-every 100)
  # The complex cuRNN beside it at equal recurrent parameters (reports/complex.md's rule):
  # K = 135 complex units hold 2·135² = 36,450 reals, the uRNN's 190² = 36,100. Last: the
  # flagships and the real copy come first.
  COPY_COMPLEX_FLAGS=(--task copy --length 1000 --cell curnn --activation modrelu --hidden 270
    --batch 128 --steps 4000 --lr 0.001 --lr-orth 0.0001 --log-every 100)
  BACKEND="${ROTOR_GPU_BACKEND:-webgpu}"
  DATA_FLAGS=()
fi

if [ "$MODE" = status ]; then
  for s in "${STAGES[@]}"; do
    if [ -e "$STATE/done/$s" ]; then echo "done  $s"; else echo "left  $s"; fi
  done
  exit 0
fi

# --- Deno, the Vulkan loader and the driver's ICD -----------------------------------------
# A copy of the working tree has node_modules only as a link to where it was made: unpack the
# kit in its place (bash bench/gpu_run.sh kit).
if ! [ -e node_modules/@tensorflow/tfjs ] && [ -e "$KIT/node_modules.tar.xz" ]; then
  if [ -L node_modules ]; then rm node_modules; fi
  tar -xJf "$KIT/node_modules.tar.xz" --transform 's|^[^/]*|node_modules|' &&
    log "node_modules unpacked from $KIT"
fi
if [ -z "${DENO:-}" ] && ! [ -x node_modules/.bin/deno ] && [ -e "$KIT/deno.xz" ]; then
  mkdir -p /tmp/rotor-kit
  [ -x /tmp/rotor-kit/deno ] || { xz -dc "$KIT/deno.xz" >/tmp/rotor-kit/deno && chmod +x /tmp/rotor-kit/deno; }
  DENO=/tmp/rotor-kit/deno
fi
if [ -z "${PTB_DIR:-}" ] && ! [ -e data/ptb/ptb.train.txt ] && [ -e "$KIT/ptb.tar.xz" ]; then
  mkdir -p data/ptb && tar -xJf "$KIT/ptb.tar.xz" -C data/ptb && log "PTB unpacked from $KIT"
fi
DENO="${DENO:-node_modules/.bin/deno}"
if ! [ -x "$DENO" ]; then DENO="$(command -v deno || true)"; fi
if [ -z "$DENO" ]; then
  log "no Deno: node_modules/.bin/deno is missing and no deno is on PATH (set \$DENO)"
  exit 1
fi

# Deno's WebGPU (wgpu) opens libvulkan.so.1. Where the image lacks it, unpack Debian's
# libvulkan1 from a .deb carried in .gl/ (or the apt cache), as the H100 run needed.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  for deb in .gl/libvulkan1_*.deb /var/cache/apt/archives/libvulkan1_*.deb; do
    [ -e "$deb" ] || continue
    if [ "$(id -u)" = 0 ]; then
      dpkg -x "$deb" / && ldconfig && log "Vulkan loader unpacked from $deb" && break
    else
      dpkg -x "$deb" "$STATE/vulkan" &&
        export LD_LIBRARY_PATH="$STATE/vulkan/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}" &&
        log "Vulkan loader unpacked from $deb under $STATE/vulkan" && break
    fi
  done
  ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || [ -n "${LD_LIBRARY_PATH:-}" ] ||
    log "no Vulkan loader (libvulkan.so.1) and no .gl/libvulkan1_*.deb: only a software adapter can appear"
fi
# The driver's ICD: NVIDIA containers mount it under /usr/local/nvidia, outside the loader's
# search path; where no ICD file exists at all but the driver's library does, write one.
if [ -z "${VK_DRIVER_FILES:-}" ] &&
  ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  icd="$(find /usr/local/nvidia /usr/share /etc -maxdepth 6 -name nvidia_icd.json 2>/dev/null |
    head -n 1)"
  if [ -z "$icd" ]; then
    glx="$(find /usr/local/nvidia /usr/lib /usr/lib64 -maxdepth 4 -name 'libGLX_nvidia.so.0' \
      2>/dev/null | head -n 1)"
    if [ -n "$glx" ]; then
      icd="$STATE/nvidia_icd.json"
      printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3"}}\n' \
        "$glx" >"$icd"
    fi
  fi
  if [ -n "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; fi
fi

"$DENO" eval 'import { probeAdapter } from "./shared/webgpu.ts";
console.log(JSON.stringify(await probeAdapter()));' >"$STATE/adapter.json" 2>>"$STATE/logs/adapter.log"
log "adapter: $(cat "$STATE/adapter.json") (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset})"
if [ "$MODE" = run ] && ! grep -q '"software":false' "$STATE/adapter.json"; then
  log "no hardware WebGPU adapter: stopping (docs/training.md, 'Training on a GPU')"
  exit 1
fi

DATA="${PTB_DIR:-data/ptb}"
TASK() { "$DENO" run -A "$@"; }

# Run stage $1 with the rest as its command, unless done; a stage that needs more time
# than is left waits for the next call.
stage() {
  local name="$1" need="$2"
  shift 2
  if [ -e "$STATE/done/$name" ]; then return 0; fi
  if [ "$(left)" -lt "$need" ]; then
    log "$name: $(left) s left in this call, it needs $need: next call"
    return 1
  fi
  log "$name: start"
  if "$@" >>"$STATE/logs/$name.log" 2>&1; then
    log "$name: done"
    touch "$STATE/done/$name"
  else
    log "$name: failed (exit $?); see logs/$name.log"
    tail -n 5 "$STATE/logs/$name.log"
    return 1
  fi
}

bench_webgpu() {
  for h in "${BENCH_SIZES[@]}"; do
    TASK bench/bench_train.ts --backend "$BACKEND" --workers 1 --hidden "$h" "${BENCH_FLAGS[@]}" \
      --json "$STATE/bench-webgpu-h$h.json" || return 1
  done
}

bench_torch() {
  if ! python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "no CUDA PyTorch here: skipped" | tee "$STATE/bench-torch.txt"
    return 0
  fi
  for h in "${BENCH_SIZES[@]}"; do
    python3 bench/torch_ref.py --device cuda --what train,matmul --hidden "$h" "${TORCH_FLAGS[@]}" \
      >"$STATE/bench-torch-h$h.json" || return 1
  done
}

# Train $1 with the flags after it, one chunk; done when the model folder says so.
train_chunk() {
  local name="$1"
  shift
  local run="$STATE/runs/$name" out="$STATE/models/$name"
  local minutes
  # Every chunk ends by scoring validation and test on wasm (the stream protocol) and writing
  # the model folder: that needs a margin inside the call (ROTOR_GPU_MARGIN_S).
  minutes=$(awk -v l="$(left)" -v c="$CHUNK_MIN" -v g="${ROTOR_GPU_MARGIN_S:-150}" \
    'BEGIN { m = (l - g) / 60; if (m > c) m = c;
    if (m < 0.00001) m = 0.00001; print m }')
  if [ -e "$run/checkpoint.bin" ]; then
    echo "resuming $run for $minutes min"
    TASK trainer/train.ts --resume "$run" --max-minutes "$minutes" --backend "$BACKEND" || return 1
  else
    TASK trainer/train.ts "$@" --data "$DATA" "${DATA_FLAGS[@]}" --runs "$STATE/runs" --name "$name" --out "$out" \
      --max-minutes "$minutes" --backend "$BACKEND" || return 1
  fi
  # The run is complete when its last chunk stopped for its epochs or its step budget.
  grep -Eq '"stopped": *"(done|steps)"' "$out/model.json"
}

train_stage() {
  local name="$1"
  shift
  if [ -e "$STATE/done/$name" ]; then return 0; fi
  if [ "$(left)" -lt $((${ROTOR_GPU_MARGIN_S:-150} + 60)) ]; then
    log "$name: $(left) s left in this call: next call"
    return 1
  fi
  log "$name: chunk of at most $CHUNK_MIN min"
  if train_chunk "$name" "$@" >>"$STATE/logs/$name.log" 2>&1; then
    touch "$STATE/done/$name"
    log "$name: done"
  else
    log "$name: not finished, continues next call ($(grep -Eo 'step [0-9]+/[0-9]+' \
      "$STATE/logs/$name.log" | tail -n 1))"
    return 1
  fi
}

evaluate() {
  for m in "$STATE"/models/*/; do
    echo "$m"
    TASK trainer/eval.ts --model "$m" --split test --data "$DATA" "${DATA_FLAGS[@]}" \
      --backend wasm --json >"$m/eval-test.json" || return 1
    cat "$m/eval-test.json"
  done
}

pack() {
  [ -n "${OUT:-}" ] || return 0
  mkdir -p "$OUT"
  cp "$STATE/progress.log" "$OUT/progress.log"
  local parent base
  parent="$(dirname "$STATE")" base="$(basename "$STATE")"
  # Everything comes back while it fits: 7 parts of 15 MiB beside progress.log (the device's
  # limits are 8 files, 16 MiB each, 64 MiB together). Checkpoints go first when it does not.
  tar -C "$parent" -cf - "$base" | xz -T0 -1 >"$OUT/state.tar.xz"
  if [ "$(stat -c %s "$OUT/state.tar.xz")" -gt $((60 * 1024 * 1024)) ]; then
    log "state over 60 MiB: packed without the checkpoints (their stages restart)"
    tar -C "$parent" --exclude=checkpoint.bin --exclude=best.bin -cf - "$base" |
      xz -T0 -1 >"$OUT/state.tar.xz"
  fi
  split -b 15m -d -a 2 "$OUT/state.tar.xz" "$OUT/state.tar.xz.part"
  rm "$OUT/state.tar.xz"
  cp "$STATE/progress.log" "$OUT/progress.log"
}
trap pack EXIT

log "call starts ($MODE, budget ${CALL_S} s, backend $BACKEND)"
stage bench-webgpu 60 bench_webgpu
stage bench-torch 30 bench_torch
# One flagship at a time, so that one checkpoint at most travels between calls.
train_stage train-ugru "${UGRU_FLAGS[@]}" &&
  train_stage train-urnn "${URNN_FLAGS[@]}" &&
  stage toy-copy 300 timeout "$(($(left) - 20))" "$DENO" run -A research/toy/toy.ts \
    "${COPY_FLAGS[@]}" --backend "$BACKEND" --out "$STATE/toy-copy.json" &&
  stage eval 30 evaluate &&
  stage toy-copy-complex 300 timeout "$(($(left) - 20))" "$DENO" run -A research/toy/toy.ts \
    "${COPY_COMPLEX_FLAGS[@]}" --backend "$BACKEND" --out "$STATE/toy-copy-complex.json"
left_stages=0
for s in "${STAGES[@]}"; do [ -e "$STATE/done/$s" ] || left_stages=$((left_stages + 1)); done
log "call ends: $left_stages of ${#STAGES[@]} stages left"
