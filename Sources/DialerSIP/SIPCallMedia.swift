import DialerCore
import DialerMedia
import Logging
import Metrics
import NIOCore

/// What the trunk asks of its calls' media, performed in order by ``SIPCallMedia``'s one loop.
enum SIPMediaCommand: Sendable {
    /// Binds the call's two ports (customer, agent) and starts relaying; with a detector, the
    /// customer's audio is classified.
    case open(
        CallID, customerPort: Int, agentPort: Int, customer: RTPRelay.Leg, answeredAt: Moment,
        detector: AnsweringMachineDetector?)
    /// Plays a prompt to the customer, replacing any playing.
    case play(CallID, CallMessage, payload: [UInt8], codec: G711Codec)
    /// Stops the prompt and detection, and sends the customer's audio to the agent's phone.
    case connectAgent(CallID, RTPRelay.Leg)
    /// Stops detection (the trunk gave up waiting for a verdict).
    case stopDetecting(CallID)
    /// Closes the call's ports.
    case close(CallID)
    /// The call's relay as it is (counters, first agent audio), or `nil` without media.
    case snapshot(CallID, CheckedContinuation<RTPRelay?, Never>)
}

/// What the media reports back to the trunk.
enum SIPMediaEvent: Sendable {
    case verdict(CallID, AMDVerdict, at: Moment)
    case messageFinished(CallID, CallMessage, at: Moment)
    /// The ports could not be bound: the call has no media (it goes on, silent).
    case openFailed(CallID, reason: String)
}

/// The media of a trunk's calls: a relay per answered call (the customer's port and the agent's),
/// with detection and prompts on the customer's port (``RTPRelayServer``).
///
/// The trunk's actor sends commands without waiting; one loop performs them in order, so that a
/// call's ports are bound before its prompt plays and closed after. Packets never pass through
/// this loop: each relay forwards, detects and plays on its own event loop.
final class SIPCallMedia: Sendable {
    private let commands: AsyncStream<SIPMediaCommand>.Continuation
    private let commandStream: AsyncStream<SIPMediaCommand>
    private let eventContinuation: AsyncStream<SIPMediaEvent>.Continuation
    /// What the relays report, in order; read by the trunk.
    let events: AsyncStream<SIPMediaEvent>
    private let host: String
    private let clock: any DialerClock
    private let logger: Logger
    /// From the customer's 200 OK to the first agent packet sent to the customer.
    private let firstAgentAudio: Metrics.Timer
    /// From the customer's 200 OK to the first customer packet sent to the agent's phone.
    private let firstCustomerAudio: Metrics.Timer
    /// RTP packets relayed from each leg to the other, counted when a call's media closes.
    private let relayed: [MediaLeg: Counter]
    /// The trunk's name, a dimension of the messages' counters.
    private let trunk: String

    init(host: String, trunk: String, clock: any DialerClock, logger: Logger) {
        firstAgentAudio = Metrics.Timer(label: "dialer_sip_first_agent_audio_seconds", dimensions: [("trunk", trunk)])
        firstCustomerAudio = Metrics.Timer(
            label: "dialer_sip_answer_to_agent_audio_seconds", dimensions: [("trunk", trunk)])
        relayed = Dictionary(
            uniqueKeysWithValues: MediaLeg.allCases.map {
                (
                    $0,
                    Counter(
                        label: "dialer_sip_rtp_relayed_packets_total",
                        dimensions: [("trunk", trunk), ("from", "\($0)")])
                )
            })
        (commandStream, commands) = AsyncStream.makeStream(of: SIPMediaCommand.self)
        (events, eventContinuation) = AsyncStream.makeStream(of: SIPMediaEvent.self)
        self.host = host
        self.trunk = trunk
        self.clock = clock
        self.logger = logger
    }

    func send(_ command: SIPMediaCommand) { commands.yield(command) }

    /// Ends the loop once the commands sent so far are done (every call closed by then).
    func finish() { commands.finish() }

    /// The loop: performs the commands in order until ``finish()``; closes what is still open.
    func run() async {
        var relays: [CallID: RTPRelayServer] = [:]
        for await command in commandStream {
            switch command {
            case .open(let id, let customerPort, let agentPort, let customer, let answeredAt, let detector):
                do {
                    let relay = try await RTPRelayServer.start(
                        relay: RTPRelay(
                            customer: customer, agent: RTPRelay.Leg(remote: nil, codec: customer.codec),
                            measuredFrom: answeredAt),
                        host: host, customerPort: customerPort, agentPort: agentPort, clock: clock)
                    relays[id] = relay
                    if let detector {
                        let events = eventContinuation
                        try await relay.detect(with: detector) { verdict, at in
                            events.yield(.verdict(id, verdict, at: at))
                        }
                    }
                } catch {
                    logger.warning("media ports cannot be bound", metadata: ["call": "\(id)", "error": "\(error)"])
                    eventContinuation.yield(.openFailed(id, reason: "\(error)"))
                }
            case .play(let id, let message, let payload, let codec):
                guard let relay = relays[id] else {
                    eventContinuation.yield(.messageFinished(id, message, at: clock.now()))
                    continue
                }
                do {
                    var generator = SystemRandomNumberGenerator()
                    let playback = try PromptPlayback(
                        payload: payload, codec: codec, ssrc: generator.next(), firstSequence: generator.next(),
                        firstTimestamp: generator.next(), start: clock.now())
                    let events = eventContinuation
                    // Messages played to their end, and their RTP packets sent, by message id.
                    let played = Counter(
                        label: "dialer_sip_messages_played_total",
                        dimensions: [("trunk", trunk), ("message", message.id)])
                    let packets = Counter(
                        label: "dialer_sip_message_packets_total",
                        dimensions: [("trunk", trunk), ("message", message.id)])
                    try await relay.play(playback) { playback, at in
                        played.increment()
                        packets.increment(by: Int64(playback.sentPackets))
                        events.yield(.messageFinished(id, message, at: at))
                    }
                } catch {
                    eventContinuation.yield(.messageFinished(id, message, at: clock.now()))
                }
            case .connectAgent(let id, let agent):
                guard let relay = relays[id] else { continue }
                try? await relay.stopPlaying()
                try? await relay.stopDetecting()
                try? await relay.update(.agent, to: agent)
            case .stopDetecting(let id):
                try? await relays[id]?.stopDetecting()
            case .snapshot(let id, let continuation):
                continuation.resume(returning: try? await relays[id]?.snapshot())
            case .close(let id):
                if let relay = relays.removeValue(forKey: id) {
                    let state = try? await relay.snapshot()
                    for leg in MediaLeg.allCases {
                        relayed[leg]?.increment(by: Int64(state?.counters(for: leg).forwarded ?? 0))
                    }
                    if let latency = state?.firstCustomerAudioLatency {
                        firstCustomerAudio.recordNanoseconds(latency.totalNanoseconds)
                    }
                    if let latency = state?.firstAgentAudioLatency {
                        firstAgentAudio.recordNanoseconds(latency.totalNanoseconds)
                        logger.debug(
                            "first agent audio", metadata: ["call": "\(id)", "ms": "\(latency.totalMilliseconds)"])
                    }
                    await relay.close()
                }
            }
        }
        for relay in relays.values { await relay.close() }
        eventContinuation.finish()
    }
}
