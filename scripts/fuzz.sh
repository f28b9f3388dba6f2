#!/usr/bin/env bash
# Builds and runs one libFuzzer target (Linux, a swift.org toolchain: swiftc -sanitize=fuzzer).
#
#   scripts/fuzz.sh TARGET [SECONDS]      TARGET: frame, csv, toml or sip; SECONDS: default 60
#
# Each target is the module's own sources compiled with its entry point in fuzz/targets/
# (fuzz/README.md). New inputs go to .build-fuzz/corpus-TARGET; the committed seeds in
# fuzz/corpus/TARGET are read, not written. A crash stops the run with a non-zero status and
# leaves the input in .build-fuzz/crash-*: add it to fuzz/corpus/TARGET once fixed, and the
# corpus replay test (FuzzCorpusReplayTests, in `swift test`) keeps it fixed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${1:?usage: scripts/fuzz.sh frame|csv|toml|sip [SECONDS]}
seconds=${2:-60}
out=.build-fuzz
mkdir -p "$out/corpus-$target"
flags=(-sanitize=fuzzer,address -parse-as-library -g -O -swift-version 6)
case "$target" in
  csv)
    sources=$(find Sources/DialerImport -name '*.swift')
    swiftc "${flags[@]}" -module-name DialerImport $sources fuzz/targets/csv.swift -o "$out/fuzz-csv"
    ;;
  sip)
    # The parser, the message model and SDP are pure (no NIO): the transport's framer and
    # sockets stay out.
    sip=Sources/DialerSIP
    swiftc "${flags[@]}" -module-name DialerSIP $sip/SIPParser.swift $sip/SIPMessage.swift $sip/SDP.swift \
      fuzz/targets/sip.swift -o "$out/fuzz-sip"
    ;;
  toml)
    sources=$(find Sources/DialerConfig -name '*.swift')
    swiftc "${flags[@]}" -module-name DialerConfig $sources fuzz/targets/toml.swift -o "$out/fuzz-toml"
    ;;
  frame)
    # NIOCore and SwiftProtobuf come from the debug build (not instrumented: the coverage is
    # the decoder's own); `swift build --target DialerProtocol` makes them.
    debug=.build/debug
    [ -d "$debug/NIOCore.build" ] || swift build --target DialerProtocol
    objects=()
    for module in NIOCore _NIODataStructures _NIOBase64 NIOConcurrencyHelpers CNIOLinux CNIODarwin CNIOWindows \
      CNIOWASI CNIOOpenBSD CNIOFreeBSD CNIOAtomics Atomics _AtomicsShims DequeModule InternalCollectionsUtilities ContainersPreview BasicContainers \
      SwiftProtobuf; do
      [ -d "$debug/$module.build" ] || continue
      while IFS= read -r object; do objects+=("$object"); done < <(find "$debug/$module.build/" -name '*.o')
    done
    clang_modules=()
    for map in "$debug"/*.build/module.modulemap; do
      case "$map" in *CNIO* | *Atomics*) clang_modules+=(-Xcc "-fmodule-map-file=$map") ;; esac
    done
    for include in $(find .build/checkouts/swift-nio/Sources/ .build/checkouts/swift-atomics/Sources/ -type d -name include 2>/dev/null); do
      clang_modules+=(-Xcc -I -Xcc "$include")
    done
    swiftc "${flags[@]}" -module-name DialerProtocol -I "$debug/Modules" "${clang_modules[@]}" \
      Sources/DialerProtocol/*.swift fuzz/targets/frame.swift "${objects[@]}" -o "$out/fuzz-frame"
    ;;
  *) echo "fuzz.sh: unknown target $target (frame, csv, toml or sip)" >&2; exit 2 ;;
esac
exec "$out/fuzz-$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" "$out/corpus-$target" "fuzz/corpus/$target"
