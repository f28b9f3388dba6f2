import DialerSIP
import Testing

@Suite("Digest authentication")
struct SIPDigestTests {
    @Test("RFC 2617 §3.5's example (MD5, qop=auth)")
    func rfc2617() {
        let value = SIPDigest.response(
            algorithm: .md5, username: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life",
            method: "GET", uri: "/dir/index.html", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop: "auth",
            nonceCount: "00000001", clientNonce: "0a4f113b")
        #expect(value == "6629fae49393a05397450978507c4ef1")
    }

    @Test("RFC 7616 §3.9.1's examples (MD5 and SHA-256)")
    func rfc7616() {
        for (algorithm, expected) in [
            (SIPDigestAlgorithm.md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (.sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ] {
            let value = SIPDigest.response(
                algorithm: algorithm, username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life",
                method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                qop: "auth", nonceCount: "00000001", clientNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
            #expect(value == expected, "\(algorithm)")
        }
    }

    @Test("a Proxy-Authenticate challenge parses, and the Authorization answers it")
    func challengeAndAnswer() throws {
        let challenge = try SIPDigestChallenge.parse(
            "Digest realm=\"carrier.example\", nonce=\"abc123\", qop=\"auth,auth-int\", algorithm=SHA-256, opaque=\"xyz\""
        )
        #expect(challenge.realm == "carrier.example")
        #expect(challenge.algorithm == .sha256)
        #expect(challenge.qopOptions == ["auth", "auth-int"])
        let header = SIPDigest.authorization(
            challenge: challenge, credentials: SIPCredentials(username: "dialer", password: "secret"), method: "INVITE",
            uri: "sip:+4522222222@carrier.example", nonceCount: 1, clientNonce: "c0ffee")
        let expected = SIPDigest.response(
            algorithm: .sha256, username: "dialer", realm: "carrier.example", password: "secret", method: "INVITE",
            uri: "sip:+4522222222@carrier.example", nonce: "abc123", qop: "auth", nonceCount: "00000001",
            clientNonce: "c0ffee")
        #expect(header.contains("response=\"\(expected)\""))
        #expect(header.contains("nc=00000001"))
        #expect(header.contains("opaque=\"xyz\""))
        #expect(header.contains("algorithm=SHA-256"))
    }

    @Test("an RFC 2069 challenge (no qop) gets a response without nc and cnonce")
    func noQop() throws {
        let challenge = try SIPDigestChallenge.parse("Digest realm=\"r\", nonce=\"n\"")
        let header = SIPDigest.authorization(
            challenge: challenge, credentials: SIPCredentials(username: "u", password: "p"), method: "REGISTER",
            uri: "sip:r", nonceCount: 1, clientNonce: "c")
        #expect(!header.contains("nc="))
        #expect(header.contains("algorithm=MD5"))
    }

    @Test("bad challenges are refused with an error")
    func badChallenges() {
        #expect(throws: SIPDigestError.notDigest) { try SIPDigestChallenge.parse("Basic realm=\"x\"") }
        #expect(throws: SIPDigestError.missingField("nonce")) { try SIPDigestChallenge.parse("Digest realm=\"x\"") }
        #expect(throws: SIPDigestError.self) {
            try SIPDigestChallenge.parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-1")
        }
        #expect(throws: SIPDigestError.self) { try SIPDigestChallenge.parse("Digest realm=\"x, nonce=n") }
    }
}

@Suite("SDP offer/answer")
struct SDPTests {
    let offerText = """
        v=0\r
        o=carrier 2890844526 2890844527 IN IP4 198.51.100.7\r
        s=-\r
        c=IN IP4 198.51.100.7\r
        t=0 0\r
        m=audio 49170 RTP/AVP 18 8 0 96\r
        a=rtpmap:18 G729/8000\r
        a=rtpmap:8 PCMA/8000\r
        a=rtpmap:96 telephone-event/8000\r
        a=fmtp:96 0-15\r
        a=ptime:20\r
        a=sendrecv\r

        """

    @Test("an offer parses; the answer picks the first codec in common and telephone-event as numbered")
    func negotiate() throws {
        let offer = try SessionDescription.parse(Array(offerText.utf8))
        #expect(offer.connectionAddress == "198.51.100.7")
        #expect(offer.audioPort == 49170)
        #expect(offer.codecs.map(\.payloadType) == [18, 8, 0, 96])
        let (answer, media) = try SDPNegotiation.answer(
            to: offer, supported: [.pcmu, .pcma, .telephoneEvent], localAddress: "192.0.2.10", localPort: 40000,
            sessionID: 7)
        #expect(media.codec == .pcma)
        #expect(media.telephoneEventPayloadType == 96)
        #expect(media.remotePort == 49170)
        #expect(answer.codecs.map(\.payloadType) == [8, 96])
        let reparsed = try SessionDescription.parse(answer.bytes)
        #expect(reparsed == answer)
    }

    @Test("our offer, and an answer to it, settle the media")
    func offerAccepted() throws {
        let offer = SessionDescription(
            sessionID: 1, connectionAddress: "192.0.2.10", audioPort: 40002, codecs: [.pcmu, .pcma, .telephoneEvent])
        let answer = SessionDescription(
            sessionID: 9, connectionAddress: "198.51.100.7", audioPort: 6000, codecs: [.pcmu])
        let media = try SDPNegotiation.accept(answer: answer, offer: offer)
        #expect(media.codec == .pcmu)
        #expect(media.remoteAddress == "198.51.100.7")
        #expect(media.localPort == 40002)
    }

    @Test("no common codec, no audio, and out-of-range numbers are errors")
    func errors() {
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 18\r\n"
        #expect(throws: SDPError.noCommonCodec) {
            try SDPNegotiation.answer(
                to: try SessionDescription.parse(Array(g729.utf8)), supported: [.pcmu], localAddress: "h", localPort: 1,
                sessionID: 1)
        }
        #expect(throws: SDPError.noAudio) { try SessionDescription.parse(Array("v=0\r\nc=IN IP4 1.2.3.4\r\n".utf8)) }
        #expect(throws: SDPError.self) {
            try SessionDescription.parse(Array("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n".utf8))
        }
        #expect(throws: SDPError.self) {
            try SessionDescription.parse(Array("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 300\r\n".utf8))
        }
        #expect(throws: SDPError.self) { try SessionDescription.parse(Array("garbage".utf8)) }
    }
}
