/// A codec as SDP names it (RFC 3551 static types and a dynamic telephone-event).
public struct SDPCodec: Hashable, Sendable, CustomStringConvertible {
    /// The RTP payload type, 0...127.
    public var payloadType: Int
    /// The encoding name (`PCMU`, `PCMA`, `telephone-event`).
    public var name: String
    public var clockRate: Int

    public init(payloadType: Int, name: String, clockRate: Int = 8000) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
    }

    public static let pcmu = SDPCodec(payloadType: 0, name: "PCMU")
    public static let pcma = SDPCodec(payloadType: 8, name: "PCMA")
    /// RFC 4733 DTMF, on the customary dynamic type 101.
    public static let telephoneEvent = SDPCodec(payloadType: 101, name: "telephone-event")

    public var description: String { "\(name)/\(clockRate) (\(payloadType))" }

    var isTelephoneEvent: Bool { name.lowercased() == "telephone-event" }

    /// Whether two codecs are the same encoding (names compare case-insensitively; a
    /// dynamic type may differ between offer and answer).
    func sameEncoding(as other: SDPCodec) -> Bool {
        name.lowercased() == other.name.lowercased() && clockRate == other.clockRate
    }
}

public enum SDPError: Error, Hashable, Sendable, CustomStringConvertible {
    case notText
    case malformedLine(String)
    case missing(String)
    case invalidNumber(field: String, value: String)
    case noAudio
    case noCommonCodec

    public var description: String {
        switch self {
        case .notText: "the SDP body is not UTF-8 text"
        case .malformedLine(let line): "malformed SDP line \(line)"
        case .missing(let field): "SDP without \(field)"
        case .invalidNumber(let field, let value): "SDP \(field) \(value) is out of range"
        case .noAudio: "SDP without an audio stream"
        case .noCommonCodec: "no codec in common"
        }
    }
}

/// A session description, reduced to what a telephone call needs: one audio stream.
public struct SessionDescription: Hashable, Sendable {
    /// The origin's session id and version (`o=`).
    public var sessionID: UInt64
    public var sessionVersion: UInt64
    /// The connection address (`c=IN IP4 …`), media-level if given, else session-level.
    public var connectionAddress: String
    /// The audio port (`m=audio <port>`); 0 means the stream is refused.
    public var audioPort: Int
    /// The codecs of the audio stream, in the sender's order of preference.
    public var codecs: [SDPCodec]
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    public var direction: String
    /// The packet time in milliseconds, when given.
    public var ptime: Int?

    public init(
        sessionID: UInt64, sessionVersion: UInt64 = 1, connectionAddress: String, audioPort: Int,
        codecs: [SDPCodec], direction: String = "sendrecv", ptime: Int? = 20
    ) {
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.connectionAddress = connectionAddress
        self.audioPort = audioPort
        self.codecs = codecs
        self.direction = direction
        self.ptime = ptime
    }

    /// The first voice codec (not telephone-event): what RTP carries.
    public var voiceCodec: SDPCodec? { codecs.first { !$0.isTelephoneEvent } }

    /// The telephone-event codec, if any.
    public var telephoneEvent: SDPCodec? { codecs.first { $0.isTelephoneEvent } }

    /// The SDP text.
    public func serialised() -> String {
        let ipVersion = connectionAddress.contains(":") ? "IP6" : "IP4"
        var lines = [
            "v=0",
            "o=swift-dialer \(sessionID) \(sessionVersion) IN \(ipVersion) \(connectionAddress)",
            "s=swift-dialer",
            "c=IN \(ipVersion) \(connectionAddress)",
            "t=0 0",
            "m=audio \(audioPort) RTP/AVP " + codecs.map { String($0.payloadType) }.joined(separator: " "),
        ]
        for codec in codecs {
            lines.append("a=rtpmap:\(codec.payloadType) \(codec.name)/\(codec.clockRate)")
            if codec.isTelephoneEvent { lines.append("a=fmtp:\(codec.payloadType) 0-16") }
        }
        if let ptime { lines.append("a=ptime:\(ptime)") }
        lines.append("a=\(direction)")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public var bytes: [UInt8] { Array(serialised().utf8) }

    /// Parses an SDP body (RFC 4566), keeping the first audio stream.
    public static func parse(_ bytes: [UInt8]) throws(SDPError) -> SessionDescription {
        guard bytes.count <= 16_384 else { throw .malformedLine("body longer than 16384 bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notText }
        var sessionID: UInt64 = 0
        var sessionVersion: UInt64 = 0
        var sessionAddress: String?
        var mediaAddress: String?
        var port: Int?
        var payloadTypes: [Int] = []
        var rtpmaps: [Int: (String, Int)] = [:]
        var direction = "sendrecv"
        var ptime: Int?
        var inAudio = false
        var sawOtherMedia = false
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            guard line.count >= 2, line[line.index(after: line.startIndex)] == "=" else {
                if line.isEmpty { continue }
                throw .malformedLine(excerpt(line))
            }
            let kind = line.first!
            let value = line.dropFirst(2)
            switch kind {
            case "o":
                let parts = value.split(separator: " ")
                guard parts.count == 6 else { throw .malformedLine(excerpt(line)) }
                guard let id = UInt64(parts[1]), let version = UInt64(parts[2]) else {
                    throw .invalidNumber(field: "o= session id/version", value: excerpt(parts[1] + " " + parts[2]))
                }
                sessionID = id
                sessionVersion = version
            case "c":
                let parts = value.split(separator: " ")
                guard parts.count == 3, parts[0] == "IN" else { throw .malformedLine(excerpt(line)) }
                // A multicast TTL suffix (`/127`) is dropped.
                let address = String(parts[2].split(separator: "/").first ?? parts[2])
                if inAudio { mediaAddress = address } else if !sawOtherMedia { sessionAddress = address }
            case "m":
                let parts = value.split(separator: " ")
                guard parts.count >= 3 else { throw .malformedLine(excerpt(line)) }
                if inAudio || port != nil {
                    inAudio = false
                    sawOtherMedia = true
                    continue
                }
                guard parts[0] == "audio" else {
                    sawOtherMedia = true
                    continue
                }
                // `port/count` is allowed; the count is ignored.
                let portText = parts[1].split(separator: "/").first ?? parts[1]
                guard let number = SIPNumbers.decimal(portText, maxDigits: 5), number <= 65535 else {
                    throw .invalidNumber(field: "m= port", value: excerpt(parts[1]))
                }
                port = number
                for format in parts.dropFirst(3) {
                    guard let type = SIPNumbers.decimal(format, maxDigits: 3), type <= 127 else {
                        throw .invalidNumber(field: "m= payload type", value: excerpt(format))
                    }
                    payloadTypes.append(type)
                }
                inAudio = true
                sawOtherMedia = false
            case "a" where inAudio:
                if value.hasPrefix("rtpmap:") {
                    let body = value.dropFirst(7)
                    let parts = body.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, let type = SIPNumbers.decimal(parts[0], maxDigits: 3), type <= 127 else {
                        throw .malformedLine(excerpt(line))
                    }
                    let encoding = parts[1].split(separator: "/")
                    guard encoding.count >= 2, let rate = SIPNumbers.decimal(encoding[1], maxDigits: 6), rate > 0
                    else { throw .invalidNumber(field: "rtpmap clock rate", value: excerpt(parts[1])) }
                    rtpmaps[type] = (String(encoding[0]), rate)
                } else if value.hasPrefix("ptime:") {
                    guard let number = SIPNumbers.decimal(value.dropFirst(6), maxDigits: 4), number > 0 else {
                        throw .invalidNumber(field: "ptime", value: excerpt(value))
                    }
                    ptime = number
                } else if ["sendrecv", "sendonly", "recvonly", "inactive"].contains(String(value)) {
                    direction = String(value)
                }
            default:
                continue
            }
        }
        guard let port else { throw .noAudio }
        guard let address = mediaAddress ?? sessionAddress else { throw .missing("c= connection address") }
        let codecs = payloadTypes.compactMap { type -> SDPCodec? in
            if let (name, rate) = rtpmaps[type] { return SDPCodec(payloadType: type, name: name, clockRate: rate) }
            switch type {
            case 0: return .pcmu
            case 8: return .pcma
            default: return nil  // a dynamic type without rtpmap cannot be used
            }
        }
        return SessionDescription(
            sessionID: sessionID, sessionVersion: sessionVersion, connectionAddress: address, audioPort: port,
            codecs: codecs, direction: direction, ptime: ptime)
    }
}

/// The media both sides agreed on: what a media layer needs to send and receive RTP.
public struct NegotiatedMedia: Hashable, Sendable {
    /// Where to send RTP.
    public var remoteAddress: String
    public var remotePort: Int
    /// Our RTP port.
    public var localPort: Int
    /// The voice codec and its payload type (as the offerer numbered it).
    public var codec: SDPCodec
    /// telephone-event's payload type, if both sides support it.
    public var telephoneEventPayloadType: Int?

    public init(
        remoteAddress: String, remotePort: Int, localPort: Int, codec: SDPCodec, telephoneEventPayloadType: Int?
    ) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.localPort = localPort
        self.codec = codec
        self.telephoneEventPayloadType = telephoneEventPayloadType
    }
}

/// Offer/answer (RFC 3264) for one audio stream.
public enum SDPNegotiation {
    /// Our answer to `offer`: the first of the offer's voice codecs we support (the offerer's
    /// preference wins), with telephone-event if both have it, numbered as offered.
    public static func answer(
        to offer: SessionDescription, supported: [SDPCodec], localAddress: String, localPort: Int, sessionID: UInt64
    ) throws(SDPError) -> (SessionDescription, NegotiatedMedia) {
        guard offer.audioPort > 0 else { throw .noAudio }
        guard
            let voice = offer.codecs.first(where: { offered in
                !offered.isTelephoneEvent && supported.contains { $0.sameEncoding(as: offered) }
            })
        else { throw .noCommonCodec }
        var codecs = [voice]
        let events = offer.telephoneEvent.flatMap { offered in
            supported.contains { $0.sameEncoding(as: offered) } ? offered : nil
        }
        if let events { codecs.append(events) }
        let answerDirection: String
        switch offer.direction {
        case "sendonly": answerDirection = "recvonly"
        case "recvonly": answerDirection = "sendonly"
        case "inactive": answerDirection = "inactive"
        default: answerDirection = "sendrecv"
        }
        let answer = SessionDescription(
            sessionID: sessionID, connectionAddress: localAddress, audioPort: localPort, codecs: codecs,
            direction: answerDirection, ptime: offer.ptime ?? 20)
        let media = NegotiatedMedia(
            remoteAddress: offer.connectionAddress, remotePort: offer.audioPort, localPort: localPort, codec: voice,
            telephoneEventPayloadType: events?.payloadType)
        return (answer, media)
    }

    /// What an answer to our offer settles: its first voice codec that we offered.
    public static func accept(answer: SessionDescription, offer: SessionDescription) throws(SDPError) -> NegotiatedMedia
    {
        guard answer.audioPort > 0 else { throw .noAudio }
        guard
            let voice = answer.codecs.first(where: { answered in
                !answered.isTelephoneEvent && offer.codecs.contains { $0.sameEncoding(as: answered) }
            })
        else { throw .noCommonCodec }
        return NegotiatedMedia(
            remoteAddress: answer.connectionAddress, remotePort: answer.audioPort, localPort: offer.audioPort,
            codec: voice, telephoneEventPayloadType: answer.telephoneEvent?.payloadType)
    }
}
