// libFuzzer entry for the frame decoder (scripts/fuzz.sh frame SECONDS); compiled into the
// DialerProtocol module's sources.
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    // Every whole frame is decoded until one is bad or the bytes end; what decodes must encode.
    while let envelope = try? FrameDecoder.decodeFrame(from: &buffer, maximumPayload: 1 << 16) {
        var out = ByteBuffer()
        try? FrameEncoder.encodeFrame(envelope, into: &out, maximumPayload: 1 << 16)
        _ = envelope.kindName
    }
    return 0
}
