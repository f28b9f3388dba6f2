public import DialerCore
public import NIOCore

/// The two sides of a bridged call's media.
public enum MediaLeg: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The called party, through the carrier.
    case customer
    /// The agent's phone.
    case agent

    /// The leg a packet received on this one goes to.
    public var other: MediaLeg { self == .customer ? .agent : .customer }

    public var description: String { rawValue }
}

/// What happened to one leg's incoming packets.
public struct RelayLegCounters: Sendable, Equatable {
    /// Datagrams that arrived on the leg's port.
    public var received = 0
    /// Packets sent on to the other leg.
    public var forwarded = 0
    /// Payload and header bytes sent on.
    public var forwardedBytes = 0
    /// Datagrams from an address other than the leg's remote (after latching, if it latches).
    public var fromStranger = 0
    /// Datagrams that are not RTP version 2.
    public var malformed = 0
    /// Packets dropped because the other leg has no remote address yet.
    public var noDestination = 0
    /// Packets whose payload was converted between µ-law and A-law.
    public var transcoded = 0

    public init() {}
}

/// Bridges a call's two media legs: RTP from one leg's remote goes to the other leg's remote.
///
/// A value (events in, actions out): the shell gives it each datagram and sends what it returns.
/// Packets go through unchanged (sequence numbers, timestamps and SSRC are the sender's), except
/// when the legs negotiated different G.711 laws: then the audio payload is converted byte for
/// byte and its payload type rewritten; other payload types (telephone-event) pass as they are.
///
/// The relay measures the delay the 2-second rule counts: from `measuredFrom` (the customer's
/// 200 OK) to the first agent packet sent to the customer, the moment the customer can hear
/// the agent; and the other way, to the first customer packet sent to the agent's phone, the
/// moment the agent can hear the customer.
public struct RTPRelay: Sendable {
    /// One leg: where its media goes and what it speaks.
    public struct Leg: Sendable, Equatable {
        /// Where the leg's packets come from and where the other leg's go; nil while unknown.
        public var remote: SocketAddress?
        /// The G.711 law the leg negotiated.
        public var codec: G711Codec
        /// Symmetric RTP (RFC 4961) behind NAT: the first valid packet's source becomes the
        /// remote, whatever the SDP said; after that, other sources are strangers.
        public var latchesToSource: Bool

        public init(remote: SocketAddress?, codec: G711Codec, latchesToSource: Bool = false) {
            self.remote = remote
            self.codec = codec
            self.latchesToSource = latchesToSource
        }
    }

    /// What the shell does with a datagram.
    public enum Action: Sendable, Equatable {
        /// Send `bytes` from `leg`'s port to `address`.
        case send(bytes: [UInt8], on: MediaLeg, to: SocketAddress)
    }

    private var legs: [MediaLeg: Leg]
    private var latched: Set<MediaLeg> = []
    private var counters: [MediaLeg: RelayLegCounters] = [.customer: .init(), .agent: .init()]
    /// The moment the latency is measured from: the customer's 200 OK.
    public let measuredFrom: Moment
    /// When the first agent packet went to the customer.
    public private(set) var firstAgentAudioAt: Moment?
    /// When the first customer packet went to the agent's phone.
    public private(set) var firstCustomerAudioAt: Moment?

    public init(customer: Leg, agent: Leg, measuredFrom: Moment) {
        legs = [.customer: customer, .agent: agent]
        self.measuredFrom = measuredFrom
    }

    /// The delay from the customer's 200 OK to the first agent audio sent to the customer.
    public var firstAgentAudioLatency: Duration? { firstAgentAudioAt.map { $0 - measuredFrom } }

    /// The delay from the customer's 200 OK to the first customer audio sent to the agent's phone.
    public var firstCustomerAudioLatency: Duration? { firstCustomerAudioAt.map { $0 - measuredFrom } }

    /// The counters of packets that arrived on `leg`.
    public func counters(for leg: MediaLeg) -> RelayLegCounters { counters[leg] ?? .init() }

    /// The leg's current settings (its remote may have been latched).
    public func leg(_ leg: MediaLeg) -> Leg { legs[leg] ?? Leg(remote: nil, codec: .muLaw) }

    /// A new remote or codec for a leg, from a later offer/answer.
    public mutating func update(_ leg: MediaLeg, to settings: Leg) {
        legs[leg] = settings
        latched.remove(leg)
    }

    /// A datagram arrived on `leg`'s port from `source` at `now`.
    public mutating func receive(
        _ bytes: [UInt8], from source: SocketAddress, on leg: MediaLeg, at now: Moment
    ) -> Action? {
        counters[leg, default: .init()].received += 1
        guard var packet = try? RTPPacket(parsing: bytes) else {
            counters[leg, default: .init()].malformed += 1
            return nil
        }
        guard var from = legs[leg] else { return nil }
        if from.latchesToSource && !latched.contains(leg) {
            from.remote = source
            legs[leg] = from
            latched.insert(leg)
        } else if from.remote != source {
            counters[leg, default: .init()].fromStranger += 1
            return nil
        }
        guard let to = legs[leg.other], let destination = to.remote else {
            counters[leg, default: .init()].noDestination += 1
            return nil
        }
        var out = bytes
        if from.codec != to.codec, packet.payloadType == from.codec.payloadType {
            packet.payload = to.codec.encode(packet.payload.lazy.map { from.codec.decode($0) })
            packet.payloadType = to.codec.payloadType
            guard let converted = try? packet.serialized() else {
                counters[leg, default: .init()].malformed += 1
                return nil
            }
            out = converted
            counters[leg, default: .init()].transcoded += 1
        }
        counters[leg, default: .init()].forwarded += 1
        counters[leg, default: .init()].forwardedBytes += out.count
        if leg == .agent && firstAgentAudioAt == nil { firstAgentAudioAt = now }
        if leg == .customer && firstCustomerAudioAt == nil { firstCustomerAudioAt = now }
        return .send(bytes: out, on: leg.other, to: destination)
    }
}
