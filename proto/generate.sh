#!/usr/bin/env bash
# Regenerates Sources/DialerProtocol/dialer.pb.swift from proto/dialer.proto.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift; if the plugin is not on
# PATH it is built from the swift-protobuf version this package resolves.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v protoc >/dev/null || { echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
plugin=$(command -v protoc-gen-swift || true)
if [ -z "$plugin" ]; then
  echo "generate.sh: building protoc-gen-swift (once) ..." >&2
  swift build -c release --product protoc-gen-swift --scratch-path .build-protoc >&2
  plugin="$root/.build-protoc/release/protoc-gen-swift"
fi
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_out=Sources/DialerProtocol \
  --swift_opt=Visibility=Public \
  --swift_opt=UseAccessLevelOnImports=true \
  --proto_path=proto proto/dialer.proto
echo "generate.sh: wrote Sources/DialerProtocol/dialer.pb.swift" >&2
