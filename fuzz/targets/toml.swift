// libFuzzer entry for the TOML reader and the cluster-file loader (scripts/fuzz.sh toml
// SECONDS); compiled into the DialerConfig module's sources.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? TOMLParser.parse(bytes: bytes, fileName: "fuzz.toml")
    _ = try? ConfigLoader.load(
        contents: String(decoding: bytes, as: UTF8.self), fileName: "fuzz.toml", overrides: [], environment: [:],
        nodeID: nil, requireSecret: false)
    return 0
}
