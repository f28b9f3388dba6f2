// libFuzzer entry for the SIP parser and the SDP reader (scripts/fuzz.sh sip SECONDS);
// compiled into the DialerSIP module's pure sources, so it sees what the transport sees.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSIP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    // Small limits so that the bounds are reached.
    let parser = SIPParser(limits: SIPLimits(maxMessageBytes: 2_048, maxHeaderFields: 16, maxLineBytes: 256))
    for framed in [false, true] {
        guard let message = try? (framed ? parser.parseFramed(bytes) : parser.parseDatagram(bytes)) else { continue }
        // What parses serialises, and the serialised form parses again and serialises to the
        // same bytes: the trunk answers and relays what it parsed, so a message it accepted
        // must survive the round trip (serialising may normalise, once).
        let again = SIPParser.serialise(message)
        guard let reparsed = try? SIPParser().parseFramed(again) else {
            fatalError("a parsed message did not parse after serialising: \(String(decoding: again, as: UTF8.self))")
        }
        if SIPParser.serialise(reparsed) != again {
            fatalError("serialising is not stable: \(String(decoding: again, as: UTF8.self))")
        }
        exerciseBody(message.body)
    }
    exerciseBody(bytes)
    return 0
}

/// Reads a body as SDP and negotiates it both ways, as the trunk does with an offer or answer.
private func exerciseBody(_ body: [UInt8]) {
    guard let offer = try? SessionDescription.parse(body) else { return }
    _ = offer.serialised()
    let supported = [SDPCodec(payloadType: 0, name: "PCMU"), SDPCodec(payloadType: 8, name: "PCMA")]
    _ = try? SDPNegotiation.answer(
        to: offer, supported: supported, localAddress: "127.0.0.1", localPort: 40_000, sessionID: 1)
    let ours = SessionDescription(
        sessionID: 1, connectionAddress: "127.0.0.1", audioPort: 40_000, codecs: supported, direction: "sendrecv",
        ptime: 20)
    _ = try? SDPNegotiation.accept(answer: offer, offer: ours)
}
