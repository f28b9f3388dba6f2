public import DialerCore

/// Why a prompt's playback cannot be set up.
public enum PromptPlaybackError: Error, Equatable, CustomStringConvertible {
    /// A packet time that is not 10 to 60 ms in whole 10 ms steps.
    case packetTimeOutOfRange(milliseconds: Int)
    /// A burst limit below 1.
    case burstLimitOutOfRange(Int)

    public var description: String {
        switch self {
        case .packetTimeOutOfRange(let ms): "ptime \(ms) ms: use 10, 20, 30, 40, 50 or 60"
        case .burstLimitOutOfRange(let limit): "burst limit \(limit): at least 1"
        }
    }
}

/// Plays a prompt as RTP: the packets a sender sends and when (a value; the shell does the I/O).
///
/// Packet *n* is due at `start + n × ptime` and carries `ptime × 8` samples, its timestamp
/// advancing by that many from a random first one (RFC 3550 section 5.1); the first packet has
/// the marker bit, as the start of a talk spurt. A shell that wakes late gets the packets that
/// fell due since, up to `maximumBurst`; older ones are skipped (their sequence numbers and
/// timestamps with them, so the receiver sees a loss rather than audio shifted in time).
public struct PromptPlayback: Sendable {
    public let codec: G711Codec
    public let ssrc: UInt32
    /// Milliseconds of audio per packet.
    public let packetMilliseconds: Int
    /// When the first packet is due.
    public let start: Moment
    /// At most this many packets go out in one wake-up.
    public let maximumBurst: Int

    private let payload: [UInt8]
    private let firstSequence: UInt16
    private let firstTimestamp: UInt32
    /// The index of the next packet to send.
    private var nextIndex = 0

    /// Packets sent so far.
    public private(set) var sentPackets = 0
    /// Packets skipped because the shell woke too late to send them in time.
    public private(set) var skippedPackets = 0

    /// - Parameters:
    ///   - payload: the prompt's bytes in `codec` (``WAVAudio/payload(for:)``).
    ///   - ptime: milliseconds per packet, the SDP `ptime` (20 by default).
    public init(
        payload: [UInt8], codec: G711Codec, ssrc: UInt32, firstSequence: UInt16, firstTimestamp: UInt32,
        ptime: Int = 20, start: Moment, maximumBurst: Int = 3
    ) throws(PromptPlaybackError) {
        guard (10...60).contains(ptime), ptime % 10 == 0 else { throw .packetTimeOutOfRange(milliseconds: ptime) }
        guard maximumBurst >= 1 else { throw .burstLimitOutOfRange(maximumBurst) }
        self.payload = payload
        self.codec = codec
        self.ssrc = ssrc
        self.firstSequence = firstSequence
        self.firstTimestamp = firstTimestamp
        self.packetMilliseconds = ptime
        self.start = start
        self.maximumBurst = maximumBurst
    }

    /// Samples (and payload bytes) per packet.
    public var samplesPerPacket: Int { packetMilliseconds * 8 }

    /// How many packets the whole prompt takes.
    public var packetCount: Int { (payload.count + samplesPerPacket - 1) / samplesPerPacket }

    /// Whether every packet has been sent or skipped.
    public var isFinished: Bool { nextIndex >= packetCount }

    /// When the next packet is due, or nil when the prompt is over.
    public var nextDeadline: Moment? {
        isFinished ? nil : dueTime(of: nextIndex)
    }

    private func dueTime(of index: Int) -> Moment {
        start + .milliseconds(Int64(index) * Int64(packetMilliseconds))
    }

    /// The packets due at `now`, in order; skips those older than the burst allows.
    public mutating func packetsDue(at now: Moment) -> [RTPPacket] {
        guard now >= start else { return [] }
        let elapsed = (now - start).totalNanoseconds / 1_000_000
        // The last index due by now, capped at the prompt's end.
        let lastDue = min(packetCount - 1, Int(elapsed / Int64(packetMilliseconds)))
        guard lastDue >= nextIndex else { return [] }
        let firstSent = max(nextIndex, lastDue - maximumBurst + 1)
        skippedPackets += firstSent - nextIndex
        var packets: [RTPPacket] = []
        packets.reserveCapacity(lastDue - firstSent + 1)
        for index in firstSent...lastDue { packets.append(packet(index)) }
        sentPackets += packets.count
        nextIndex = lastDue + 1
        return packets
    }

    private func packet(_ index: Int) -> RTPPacket {
        let from = index * samplesPerPacket
        let to = min(payload.count, from + samplesPerPacket)
        var body = Array(payload[from..<to])
        // A short last packet is filled with silence, so every packet lasts one ptime.
        if body.count < samplesPerPacket {
            body += repeatElement(codec.silenceCode, count: samplesPerPacket - body.count)
        }
        return RTPPacket(
            marker: index == 0, payloadType: codec.payloadType,
            sequenceNumber: firstSequence &+ UInt16(truncatingIfNeeded: index),
            timestamp: firstTimestamp &+ UInt32(truncatingIfNeeded: from), ssrc: ssrc, payload: body)
    }
}
