import DialerSIP
import NIOCore
import NIOEmbedded
import Testing

/// Joins header lines with CRLF, ends the head, appends the body.
func wire(_ lines: [String], body: String = "") -> [UInt8] {
    Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
}

let basicHeaders = [
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKtest1",
    "Max-Forwards: 70",
    "From: \"Caller\" <sip:+4511111111@carrier.example>;tag=abc",
    "To: <sip:+4522222222@carrier.example>",
    "Call-ID: call-1@192.0.2.10",
    "CSeq: 1 INVITE",
]

@Suite("SIP parser and serialiser")
struct SIPParserTests {
    let parser = SIPParser()

    @Test("a plain INVITE parses, and serialises back to an equal message")
    func roundTrip() throws {
        let sdp = "v=0\r\n"
        let bytes = wire(
            ["INVITE sip:+4522222222@carrier.example;user=phone SIP/2.0"] + basicHeaders + [
                "Contact: <sip:dialer@192.0.2.10:5060>", "Content-Type: application/sdp",
                "Content-Length: \(sdp.utf8.count)",
            ], body: sdp)
        let message = try parser.parseDatagram(bytes)
        guard case .request(let request) = message else {
            Issue.record("not a request")
            return
        }
        #expect(request.method == "INVITE")
        #expect(request.uri.user == "+4522222222")
        #expect(request.uri.parameter("user") == "phone")
        #expect(request.headers.cseq == SIPCSeq(1, "INVITE"))
        #expect(request.headers.from?.displayName == "Caller")
        #expect(request.headers.from?.tag == "abc")
        #expect(request.headers.to?.tag == nil)
        #expect(request.body == Array(sdp.utf8))
        let again = try parser.parseDatagram(SIPParser.serialise(message))
        #expect(again == message)
    }

    @Test("compact header forms are expanded to their long names")
    func compactForms() throws {
        let bytes = wire([
            "OPTIONS sip:carrier.example SIP/2.0",
            "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKc1",
            "f: <sip:a@carrier.example>;tag=1", "t: <sip:b@carrier.example>", "i: compact@x", "CSeq: 7 OPTIONS",
            "m: <sip:a@192.0.2.10>", "k: timer", "s: hello", "c: text/plain", "e: gzip", "l: 0",
        ])
        let message = try parser.parseDatagram(bytes)
        let headers = message.headers
        #expect(headers.callID == "compact@x")
        #expect(headers["Via"] != nil && headers["v"] != nil)
        #expect(headers["Contact"] == "<sip:a@192.0.2.10>")
        #expect(headers["Supported"] == "timer")
        #expect(headers["Subject"] == "hello")
        #expect(headers["Content-Type"] == "text/plain")
        #expect(headers["Content-Encoding"] == "gzip")
        #expect(headers["Content-Length"] == "0")
    }

    @Test("several Via headers and comma-joined Vias come out in order")
    func severalVias() throws {
        let bytes = wire([
            "SIP/2.0 180 Ringing",
            "Via: SIP/2.0/UDP proxy.example:5070;branch=z9hG4bKp1;received=198.51.100.1, SIP/2.0/TCP edge.example;branch=z9hG4bKe1",
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKu1;rport=5060",
            "From: <sip:a@x>;tag=1", "To: <sip:b@x>;tag=2", "Call-ID: v@x", "CSeq: 1 INVITE", "Content-Length: 0",
        ])
        let message = try parser.parseDatagram(bytes)
        let vias = message.headers.vias
        #expect(vias.map(\.branch) == ["z9hG4bKp1", "z9hG4bKe1", "z9hG4bKu1"])
        #expect(vias[0].port == 5070)
        #expect(vias[1].transport == "TCP")
        #expect(vias[2].parameters.contains(SIPParameter("rport", "5060")))
        guard case .response(let response) = message else { return }
        #expect(response.statusCode == 180)
        #expect(response.reason == "Ringing")
    }

    // Torture cases written from the descriptions in RFC 4475 §3.1.1 (valid messages).

    @Test("tortuous whitespace: folded lines, tabs, mixed case names, spaces in Via (RFC 4475 3.1.1.1)")
    func tortuousWhitespace() throws {
        let bytes = wire([
            "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
            "TO :",
            " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
            "  ;",
            "  tag = 98asjd8",
            "MaX-fOrWaRdS: 0068",
            "Call-ID: wsinv.ndaksdj@192.0.2.1",
            "cseq: 0009",
            "  INVITE",
            "Via  : SIP  /   2.0",
            " /UDP",
            "    192.0.2.2;branch=390skdjuw",
            "l: 0",
        ])
        let message = try parser.parseDatagram(bytes)
        let headers = message.headers
        #expect(headers.cseq == SIPCSeq(9, "INVITE"))
        #expect(headers.from?.displayName == "J Rosenberg \\\"")
        #expect(headers.from?.tag == "98asjd8")
        #expect(headers.to?.tag == "1918181833n")
        #expect(headers.vias.first?.host == "192.0.2.2")
        #expect(headers.vias.first?.branch == "390skdjuw")
    }

    @Test("unusual method tokens and an unknown method are requests like any (RFC 4475 3.1.1.5)")
    func unusualMethod() throws {
        let method = "!interesting-Method0123456789_*+`.%indeed'~"
        let bytes = wire(
            [
                "\(method) sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0"
            ]
                + basicHeaders.filter { !$0.hasPrefix("CSeq") } + ["CSeq: 139122385 \(method)", "Content-Length: 0"])
        guard case .request(let request) = try parser.parseDatagram(bytes) else {
            Issue.record("not a request")
            return
        }
        #expect(request.method == method)
        #expect(request.uri.host == "example.com")
    }

    @Test("a display name directly before '<' and an addr-spec without brackets (RFC 4475 3.1.1.6)")
    func displayNames() throws {
        let bytes = wire([
            "OPTIONS sip:user@example.com SIP/2.0",
            "To: sip:user@example.com",
            "From: caller<sip:caller@example.com>;tag=323",
            "Max-Forwards: 70", "Call-ID: lwsdisp.1234abcd@funky.example.com", "CSeq: 60 OPTIONS",
            "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw", "l: 0",
        ])
        let headers = try parser.parseDatagram(bytes).headers
        #expect(headers.from?.displayName == "caller")
        #expect(headers.from?.tag == "323")
        #expect(headers.to?.uri.user == "user")
    }

    @Test("an addr-spec's parameters belong to the header, not the URI (RFC 3261 20.10)")
    func addrSpecParameters() throws {
        let address = try SIPNameAddress.parse("sip:+45@carrier.example;tag=xyz")
        #expect(address.tag == "xyz")
        #expect(address.uri.parameters.isEmpty)
    }

    @Test("an extra body beyond Content-Length in a datagram is cut off (RFC 4475 3.1.1.11 in spirit)")
    func datagramBodyCut() throws {
        let bytes = wire(
            ["MESSAGE sip:a@example.com SIP/2.0"] + basicHeaders.dropLast() + ["CSeq: 1 MESSAGE", "l: 3"],
            body: "abcdef")
        #expect(try parser.parseDatagram(bytes).body == Array("abc".utf8))
    }

    @Test("a response without a reason phrase, and one with a UTF-8 reason")
    func reasonPhrases() throws {
        let tail = [
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "From: <sip:a@x>;tag=1", "To: <sip:b@x>", "Call-ID: r@x",
            "CSeq: 1 INVITE",
        ]
        guard case .response(let bare) = try parser.parseDatagram(wire(["SIP/2.0 100 "] + tail)) else { return }
        #expect(bare.reason == "")
        guard case .response(let fancy) = try parser.parseDatagram(wire(["SIP/2.0 200 Det går fint 😀"] + tail)) else {
            return
        }
        #expect(fancy.reason == "Det går fint 😀")
    }

    @Test("Max-Forwards zero and IPv6 references parse")
    func edgeValues() throws {
        let bytes = wire([
            "REGISTER sip:[2001:db8::10]:5070 SIP/2.0",
            "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3", "Max-Forwards: 0",
            "From: <sip:u@example.com>;tag=1", "To: <sip:u@example.com>", "Call-ID: v6@x", "CSeq: 1 REGISTER",
        ])
        guard case .request(let request) = try parser.parseDatagram(bytes) else { return }
        #expect(request.uri.host == "[2001:db8::10]")
        #expect(request.uri.port == 5070)
        #expect(request.headers.vias.first?.host == "[2001:db8::9:1]")
    }

    // Invalid messages (RFC 4475 §3.1.2 and §3.3, written anew).

    static let invalid: [(String, [String], String)] = [
        (
            "Content-Length larger than the body", ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Content-Length: 50"],
            "short"
        ),
        ("negative Content-Length", ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Content-Length: -5"], ""),
        (
            "huge Content-Length", ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Content-Length: 99999999999999999999"],
            ""
        ),
        ("CSeq beyond 2^31-1", ["INVITE sip:b@x SIP/2.0"] + basicHeaders.dropLast() + ["CSeq: 4294967301 INVITE"], ""),
        ("Max-Forwards beyond 255", ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Max-Forwards: 300"], ""),
        ("status code with too many digits", ["SIP/2.0 4294967301 Funny"] + basicHeaders, ""),
        ("status code below 100", ["SIP/2.0 099 Low"] + basicHeaders, ""),
        ("unknown protocol version", ["INVITE sip:b@x SIP/7.0"] + basicHeaders, ""),
        ("CSeq method differs from the request's", ["OPTIONS sip:b@x SIP/2.0"] + basicHeaders, ""),
        ("Request-URI in angle brackets", ["INVITE <sip:b@x> SIP/2.0"] + basicHeaders, ""),
        ("spaces inside the Request-URI", ["INVITE sip:b@x; lr SIP/2.0"] + basicHeaders, ""),
        ("several spaces in the request line", ["INVITE  sip:b@x  SIP/2.0"] + basicHeaders, ""),
        ("trailing space on the request line", ["INVITE sip:b@x SIP/2.0 "] + basicHeaders, ""),
        ("missing Call-ID", ["INVITE sip:b@x SIP/2.0"] + basicHeaders.filter { !$0.hasPrefix("Call-ID") }, ""),
        ("missing Via", ["INVITE sip:b@x SIP/2.0"] + basicHeaders.filter { !$0.hasPrefix("Via") }, ""),
        ("Via without sent-by", ["INVITE sip:b@x SIP/2.0", "Via: SIP/2.0/UDP"] + basicHeaders.dropFirst(), ""),
        (
            "unterminated quote in From",
            ["INVITE sip:b@x SIP/2.0", "From: \"Bob <sip:a@x>;tag=1"] + basicHeaders.filter { !$0.hasPrefix("From") },
            ""
        ),
        ("port out of range in the Request-URI", ["INVITE sip:b@x:70000 SIP/2.0"] + basicHeaders, ""),
        ("unknown URI scheme", ["INVITE http://example.com/ SIP/2.0"] + basicHeaders, ""),
        ("header line without a colon", ["INVITE sip:b@x SIP/2.0", "Garbage here"] + basicHeaders, ""),
        ("no blank line", ["INVITE sip:b@x SIP/2.0"], "NOBLANK"),
        (
            "two different Content-Lengths", ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Content-Length: 0", "l: 2"],
            "ab"
        ),
    ]

    @Test("malformed messages are refused with an error, never a trap", arguments: 0..<invalid.count)
    func malformed(_ index: Int) {
        let (name, lines, body) = Self.invalid[index]
        let bytes: [UInt8] =
            body == "NOBLANK" ? Array((lines.joined(separator: "\r\n") + "\r\n").utf8) : wire(lines, body: body)
        #expect(throws: SIPParseError.self, "\(name)") { try parser.parseDatagram(bytes) }
    }

    @Test("size limits: message, header count and line length")
    func limits() {
        let small = SIPParser(limits: SIPLimits(maxMessageBytes: 300, maxHeaderFields: 8, maxLineBytes: 100))
        let long = wire(["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Subject: " + String(repeating: "x", count: 400)])
        #expect(throws: SIPParseError.messageTooLarge(limit: 300)) { try small.parseDatagram(long) }
        let wide = SIPParser(limits: SIPLimits(maxMessageBytes: 2000, maxHeaderFields: 8, maxLineBytes: 100))
        let longLine = wire(
            ["INVITE sip:b@x SIP/2.0"] + basicHeaders + ["Subject: " + String(repeating: "x", count: 150)])
        #expect(throws: SIPParseError.lineTooLong(limit: 100)) { try wide.parseDatagram(longLine) }
        let many = wire(["INVITE sip:b@x SIP/2.0"] + basicHeaders + (0..<5).map { "X-H\($0): 1" })
        #expect(throws: SIPParseError.tooManyHeaders(limit: 8)) { try wide.parseDatagram(many) }
        // Random bytes never trap.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? SIPParser().parseDatagram(junk)
        }
    }
}

@Suite("SIP stream framing")
struct SIPFramingTests {
    @Test("messages split across reads and joined in one read come out whole, keep-alive CRLFs skipped")
    func framing() throws {
        let first = wire(
            ["OPTIONS sip:a@x SIP/2.0"] + basicHeaders.dropLast() + ["CSeq: 1 OPTIONS", "Content-Length: 4"],
            body: "abcd")
        let second = wire(["SIP/2.0 200 OK"] + basicHeaders + ["l: 0"])
        let stream = Array("\r\n\r\n".utf8) + first + second
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPMessageDecoder()))
        for chunk in stride(from: 0, to: stream.count, by: 7) {
            try channel.writeInbound(ByteBuffer(bytes: stream[chunk..<min(chunk + 7, stream.count)]))
        }
        let one = try channel.readInbound(as: SIPMessage.self)
        let two = try channel.readInbound(as: SIPMessage.self)
        #expect(one?.body == Array("abcd".utf8))
        if case .response(let response)? = two {
            #expect(response.statusCode == 200)
        } else {
            Issue.record("no response")
        }
        #expect(try channel.readInbound(as: SIPMessage.self) == nil)
    }

    @Test("a stream message without Content-Length, or too large, is an error")
    func framingErrors() {
        let framer = SIPStreamFramer(parser: SIPParser(limits: SIPLimits(maxMessageBytes: 200)))
        var missing = ByteBuffer(bytes: wire(["OPTIONS sip:a@x SIP/2.0"] + basicHeaders))
        #expect(throws: SIPParseError.missingHeader("Content-Length")) { try framer.nextMessage(from: &missing) }
        var huge = ByteBuffer(bytes: wire(["OPTIONS sip:a@x SIP/2.0", "Content-Length: 100000"]))
        #expect(throws: SIPParseError.self) { try framer.nextMessage(from: &huge) }
        var endless = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: 300))
        #expect(throws: SIPParseError.messageTooLarge(limit: 200)) { try framer.nextMessage(from: &endless) }
    }
}
