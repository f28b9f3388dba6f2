public import DialerCore
public import DialerMedia
import FoundationEssentials
import HeapModule
public import Logging
import Metrics
public import NIOCore

/// A ``Trunk`` that places and receives calls over SIP through a carrier's proxy.
///
/// Media is relayed through the node (docs/SIP.md, "Media"): an answered call gets two RTP
/// ports, the customer's and the agent's. Before the bridge the customer's port feeds the
/// answering-machine detector (when the call asked for detection) and plays the messages
/// (``play(_:on:)``: `<promptDirectory>/<message id>.wav`); ``bridge(_:to:)`` calls the agent's
/// phone (``setAgentPhone(_:to:)``) with one leg per call and relays the audio both ways once
/// it answers. Without detection an answer is reported live at once.
///
/// How responses to an INVITE map to the call's progress: 180/183 ringing; 2xx answered (ACKed);
/// 486/600 busy; 404/484/604 invalid number; 480/408 and the ring timeout no answer (a CANCEL is
/// sent); 5xx network failure, after one try on the failover proxy if configured; a transaction
/// timeout (timer B) network failure, likewise after the failover; 401/407 answered once with
/// the credentials; anything else a network failure.
///
/// The actor owns every transaction, dialog and timer. Messages arrive from the transport on one
/// stream, read by one task in order; timers are kept in one heap, with one sleeping task for the
/// earliest. The value machines (``SIPClientTransaction``, ``SIPServerTransaction``,
/// ``SIPDialog``) decide; the actor performs their actions in order.
public actor SIPTrunk: Trunk {
    public nonisolated let configuration: SIPTrunkConfiguration
    public nonisolated let inboundCalls: AsyncStream<InboundCall>
    private nonisolated let inboundContinuation: AsyncStream<InboundCall>.Continuation
    /// The transport's bound address (its real port when 0 was configured).
    public nonisolated let localAddress: SocketAddress
    private let transport: any SIPTransport
    private let clock: any DialerClock
    private let logger: Logger
    private let metrics: SIPTrunkMetrics
    private let parser: SIPParser
    private let proxyAddress: SocketAddress
    private let failoverAddress: SocketAddress?
    private let resolver: any SIPResolver
    private let host: String
    private var loop: Task<Void, Never>?
    private var isClosed = false

    private var calls: [CallID: Call] = [:]
    /// SIP Call-IDs (one per INVITE attempt, several after a failover) to calls.
    private var sipCalls: [String: CallID] = [:]
    private var clientTransactions: [TransactionKey: ClientEntry] = [:]
    private var serverTransactions: [TransactionKey: ServerEntry] = [:]
    /// INVITEs to cancel once they have a provisional response (RFC 3261 §9.1).
    private var pendingCancels: Set<TransactionKey> = []
    private var timers = Heap<TimerEntry>()
    private var timerGenerations: [TimerKey: Int] = [:]
    private var nextGeneration = 0
    private var timerTask: (deadline: Moment, task: Task<Void, Never>)?
    private var recentOriginations: [Moment] = []
    private var freeMediaPorts: [Int]
    private var registration = Registration()
    private var receivedNumbers: Set<String>?
    /// The calls' RTP: relays, detection and prompts (its own loop, fed in order).
    private let media: SIPCallMedia
    private var mediaLoop: Task<Void, Never>?
    /// Agents' phones (SIP URIs and where to send their requests), as they logged in.
    private var agentPhones: [AgentID: AgentPhone] = [:]
    /// The latest phone asked for each agent while its host is looked up: a lookup that ends
    /// after a newer request for the same agent is dropped.
    private var pendingPhones: [AgentID: Int] = [:]
    private var nextPhoneRequest = 0
    /// SIP Call-IDs of agent legs to the customer's calls they serve.
    private var agentCalls: [String: CallID] = [:]
    /// Prompts read from `promptDirectory`, by message id (`nil`: no such file).
    private var prompts: [String: WAVAudio?] = [:]

    // MARK: Starting and stopping

    /// Binds the transport and starts the trunk (registration and keep-alives if configured).
    ///
    /// Host names (the proxy's here, agents' phones later) are looked up by `resolver`, off the
    /// trunk's actor: by default on NIO's thread pool.
    public static func start(
        configuration: SIPTrunkConfiguration, clock: any DialerClock = SystemClock(),
        logger: Logger = Logger(label: "dialer.sip"), resolver: any SIPResolver = ThreadPoolSIPResolver()
    ) async throws -> SIPTrunk {
        try configuration.validate()
        let proxy = try await resolver.resolve(host: configuration.proxy.host, port: configuration.proxy.port)
        var failover: SocketAddress?
        if let second = configuration.failoverProxy {
            failover = try await resolver.resolve(host: second.host, port: second.port)
        }
        let (events, continuation) = AsyncStream.makeStream(of: SIPTransportEvent.self)
        let parser = SIPParser(limits: configuration.limits)
        let transport = try await SIPTransports.bind(
            configuration.transport, host: configuration.bindHost, port: configuration.bindPort, parser: parser,
            events: continuation)
        let trunk = SIPTrunk(
            configuration: configuration, transport: transport, clock: clock, logger: logger, parser: parser,
            proxy: proxy, failover: failover, resolver: resolver)
        await trunk.run(events)
        return trunk
    }

    private init(
        configuration: SIPTrunkConfiguration, transport: any SIPTransport, clock: any DialerClock, logger: Logger,
        parser: SIPParser, proxy: SocketAddress, failover: SocketAddress?, resolver: any SIPResolver
    ) {
        self.configuration = configuration
        self.resolver = resolver
        self.transport = transport
        self.localAddress = transport.localAddress
        self.clock = clock
        self.logger = logger
        self.parser = parser
        self.proxyAddress = proxy
        self.failoverAddress = failover
        let bound = transport.localAddress.ipAddress ?? "127.0.0.1"
        self.host =
            configuration.advertisedHost
            ?? (configuration.bindHost == "0.0.0.0" || configuration.bindHost == "::" ? bound : configuration.bindHost)
        self.metrics = SIPTrunkMetrics(trunk: configuration.name)
        (inboundCalls, inboundContinuation) = AsyncStream.makeStream(of: InboundCall.self)
        let low = configuration.mediaPorts.lowerBound + configuration.mediaPorts.lowerBound % 2
        self.freeMediaPorts = Array(stride(from: low, through: configuration.mediaPorts.upperBound - 1, by: 2))
            .reversed()
        self.media = SIPCallMedia(
            host: configuration.bindHost, trunk: configuration.name, clock: clock, logger: logger)
    }

    private func run(_ events: AsyncStream<SIPTransportEvent>) {
        loop = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.handle(event)
            }
        }
        let media = self.media
        mediaLoop = Task { [weak self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await media.run() }
                group.addTask {
                    for await event in media.events {
                        guard let self else { return }
                        await self.mediaEvent(event)
                    }
                }
            }
        }
        if configuration.registrationExpiry != nil { register() }
        if let interval = configuration.keepAliveInterval { schedule(.keepAlive, at: clock.now() + interval) }
    }

    /// Ends every call (BYE or CANCEL), stops the timers and closes the transport.
    public func shutDown() async {
        guard !isClosed else { return }
        for id in Array(calls.keys) { try? hangUp(id) }
        isClosed = true
        timerTask?.task.cancel()
        timerTask = nil
        loop?.cancel()
        inboundContinuation.finish()
        // The media loop closes every call's ports, then ends.
        media.finish()
        await mediaLoop?.value
        await transport.close()
    }

    // MARK: Trunk

    public func originate(_ request: OriginateRequest) throws(TrunkError) -> OutboundCall {
        guard !isClosed else { throw .closed }
        let now = clock.now()
        guard calls.count < configuration.channels else {
            throw .channelCapacityExhausted(channels: configuration.channels)
        }
        recentOriginations.removeAll { now - $0 >= .seconds(1) }
        guard recentOriginations.count < configuration.callsPerSecond else {
            throw .callsPerSecondExceeded(limit: configuration.callsPerSecond)
        }
        guard freeMediaPorts.count >= 2, let mediaPort = freeMediaPorts.popLast(),
            let agentPort = freeMediaPorts.popLast()
        else {
            throw .channelCapacityExhausted(channels: configuration.channels)
        }
        recentOriginations.append(now)
        let id = CallID(Self.token(12))
        let (stream, continuation) = AsyncStream.makeStream(of: CallProgress.self)
        let offer = SessionDescription(
            sessionID: UInt64(now.nanosecondsSinceOrigin.magnitude % 1_000_000_000), connectionAddress: host,
            audioPort: mediaPort, codecs: configuration.codecs)
        var call = Call(
            id: id, direction: .outbound, continuation: continuation, peer: proxyAddress, mediaPort: mediaPort,
            agentPort: agentPort, localTag: Self.token(6))
        call.offer = offer
        call.number = request.number
        call.callerID = request.callerID
        if request.detectsMachines {
            call.detection = Detection(settings: request.machineDetection, limit: request.detectionLimit)
        }
        calls[id] = call
        metrics.callsPlaced.increment()
        metrics.channelsInUse.record(calls.count)
        sendInvite(for: id, to: proxyAddress, sipCallID: id.rawValue + "@" + host, sequence: 1, authorization: nil)
        schedule(.ring(id), at: now + request.ringTimeout)
        logger.info("SIP call placed", metadata: ["call": "\(id)", "trunk": "\(configuration.name)"])
        return OutboundCall(id: id, number: request.number, originatedAt: now, progress: stream)
    }

    public func receiveCalls(to numbers: Set<String>?) {
        receivedNumbers = numbers
    }

    public func accept(_ id: CallID) throws(TrunkError) {
        try prepare(id, for: .accept)
        guard var call = calls[id], let key = call.serverInvite, let invite = serverTransactions[key]?.machine.request
        else {
            throw .unknownCall(id)
        }
        var body: [UInt8] = []
        if let answer = call.localAnswer { body = answer.bytes }
        let response = makeResponse(
            200, to: invite, toTag: call.localTag, contact: true, body: body,
            contentType: body.isEmpty ? nil : "application/sdp")
        call.dialog = SIPDialog.asCallee(invite: invite, localTag: call.localTag)
        calls[id] = call
        respond(response, on: key)
        metrics.callFinished(status: 200)
        let now = clock.now()
        openMedia(id, answeredAt: now, detector: nil)
        emit(.accepted(at: now), on: id)
    }

    /// Calls the agent's phone (one leg per call) and relays the customer's audio to it once it
    /// answers: `bridged` is reported then. An agent without a phone is bridged at once with no
    /// audio connected (the agent works from the desktop alone). A phone that refuses or does
    /// not answer ends the customer's call as a network failure.
    public func bridge(_ id: CallID, to agent: AgentID) throws(TrunkError) {
        try prepare(id, for: .bridge(agent))
        guard var call = calls[id] else { throw .unknownCall(id) }
        if let detection = call.detection, !detection.decided {
            call.detection?.decided = true
            calls[id] = call
            media.send(.stopDetecting(id))
        }
        guard let phone = agentPhones[agent] else {
            logger.info("agent has no phone: bridged without audio", metadata: ["call": "\(id)", "agent": "\(agent)"])
            emit(.bridged(to: agent, at: clock.now()), on: id)
            return
        }
        guard call.agentLeg == nil else { return }
        let now = clock.now()
        let offer = SessionDescription(
            sessionID: UInt64(now.nanosecondsSinceOrigin.magnitude % 1_000_000_000), connectionAddress: host,
            audioPort: call.agentPort, codecs: configuration.codecs)
        let sipCallID = Self.token(12) + "@" + host
        let from = SIPURI(user: "dialer", host: host, port: localAddress.port)
        var headers = SIPHeaders()
        headers.add("Via", newVia().description)
        headers.add("Max-Forwards", "70")
        headers.add("From", SIPNameAddress(uri: from, parameters: [SIPParameter("tag", call.localTag)]).description)
        headers.add("To", SIPNameAddress(uri: phone.uri).description)
        headers.add("Call-ID", sipCallID)
        headers.add("CSeq", "1 INVITE")
        headers.add("Contact", "<\(contactURI())>")
        headers.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        headers.add("User-Agent", configuration.userAgent)
        headers.add("Content-Type", "application/sdp")
        let invite = SIPRequest(method: "INVITE", uri: phone.uri, headers: headers, body: offer.bytes)
        agentCalls[sipCallID] = id
        let key = startClient(invite, to: phone.address, purpose: .agentInvite(id))
        call.agentLeg = AgentLeg(
            agent: agent, sipCallID: sipCallID, invite: key, offer: offer, destination: phone.address)
        calls[id] = call
    }

    /// Plays `<promptDirectory>/<message id>.wav` to the customer (cut or padded with silence
    /// to the message's length when it has one). A message without a file is reported started
    /// and finished at once, with a warning in the log.
    public func play(_ message: CallMessage, on id: CallID) throws(TrunkError) {
        try prepare(id, for: .play(message))
        guard let call = calls[id] else { throw .unknownCall(id) }
        let now = clock.now()
        emit(.messageStarted(message, at: now), on: id)
        guard let audio = prompt(message.id),
            let codec = call.media.flatMap({ G711Codec(payloadType: UInt8(clamping: $0.codec.payloadType)) })
        else {
            emit(.messageFinished(message, at: now), on: id)
            return
        }
        var payload = audio.payload(for: codec)
        if let length = message.length {
            let samples = Int(clamping: max(.zero, min(length, .seconds(3600))).totalMilliseconds * 8)
            payload = Array(payload.prefix(samples))
            if payload.count < samples { payload += repeatElement(codec.silenceCode, count: samples - payload.count) }
        }
        media.send(.play(id, message, payload: payload, codec: codec))
    }

    /// The relay of a call's audio (packets per leg, the first agent audio), once it has media.
    public func relay(of id: CallID) async -> RTPRelay? {
        guard !isClosed else { return nil }
        let media = self.media
        return await withCheckedContinuation { media.send(.snapshot(id, $0)) }
    }

    /// Bridges to the agent's phone `phone` as the agent's latest login gave it (`nil`: the
    /// agent has none, and is bridged without audio); a phone that is not a usable SIP URI is
    /// logged and the agent is bridged without audio. (`async`, like the protocol's default, so
    /// that a call on a `SIPTrunk` itself picks this one.)
    public func bridge(_ id: CallID, to agent: AgentID, phone: String?) async throws(TrunkError) {
        if phone == nil {
            pendingPhones[agent] = nil
            agentPhones[agent] = nil
        } else if let phone, agentPhones[agent]?.text != phone {
            do { try await setAgentPhone(agent, to: phone) } catch {
                logger.warning("agent's phone cannot be used", metadata: ["agent": "\(agent)", "error": "\(error)"])
                agentPhones[agent] = nil
            }
        }
        try bridge(id, to: agent)
    }

    /// Tells the trunk an agent's phone (a SIP URI: `sip:1001@192.0.2.10:5062`), or that the
    /// agent has none (`nil`). Bridges to the agent call it from then on.
    ///
    /// A host name is looked up by the trunk's resolver while the actor goes on with other
    /// calls (no blocking lookup on the actor); if another request for the same agent comes in
    /// meanwhile, the later one wins.
    public func setAgentPhone(_ agent: AgentID, to uri: String?) async throws(SIPConfigurationError) {
        nextPhoneRequest += 1
        let request = nextPhoneRequest
        guard let uri else {
            pendingPhones[agent] = nil
            agentPhones[agent] = nil
            return
        }
        let parsed: SIPURI
        do { parsed = try SIPURI.parse(uri) } catch {
            throw SIPConfigurationError(field: "phone", reason: "\(uri.debugDescription) is not a SIP URI: \(error)")
        }
        guard parsed.scheme == "sip", !parsed.host.isEmpty else {
            throw SIPConfigurationError(field: "phone", reason: "\(uri.debugDescription): use sip:user@host[:port]")
        }
        pendingPhones[agent] = request
        let address: SocketAddress
        do { address = try await resolver.resolve(host: parsed.host, port: parsed.port ?? 5060) } catch {
            if pendingPhones[agent] == request { pendingPhones[agent] = nil }
            throw SIPConfigurationError(field: "phone", reason: "\(parsed.host) cannot be resolved: \(error)")
        }
        // A newer request for this agent (or none, `nil`) came in during the lookup: it stands.
        guard pendingPhones[agent] == request else { return }
        pendingPhones[agent] = nil
        agentPhones[agent] = AgentPhone(text: uri, uri: parsed, address: address)
    }

    public func hangUp(_ id: CallID) throws(TrunkError) {
        try prepare(id, for: .hangUp)
        guard let call = calls[id] else { throw .unknownCall(id) }
        end(call)
        emit(.hungUp(by: .node, at: clock.now()), on: id)
    }

    /// The media negotiated for a call (remote RTP address and port, our port, the codec's
    /// payload type), once an answer settled it.
    public func media(of id: CallID) -> NegotiatedMedia? { calls[id]?.media }

    /// The address bridges to `agent` call (the phone's host as looked up), if the agent has a phone.
    public func agentPhoneAddress(of agent: AgentID) -> SocketAddress? { agentPhones[agent]?.address }

    /// The registration's state, for tests and the operations page.
    public var isRegistered: Bool { registration.registeredUntil.map { $0 > clock.now() } ?? false }

    /// How long the current registration still runs, if there is one.
    public var registrationExpiresIn: Duration? { registration.registeredUntil.map { $0 - clock.now() } }

    // MARK: Calls

    private func prepare(_ id: CallID, for operation: CallOperation) throws(TrunkError) {
        guard !isClosed else { throw .closed }
        guard let call = calls[id] else { throw .unknownCall(id) }
        do { try call.leg.check(operation) } catch {
            throw .operationNotAllowed(id, operation, state: call.leg.state)
        }
    }

    /// Sends what ends a call on the wire: BYE once there is a dialog, CANCEL while an outbound
    /// INVITE is pending, a 480 to an inbound INVITE not yet accepted.
    private func end(_ call: Call) {
        if let dialog = call.dialog {
            var dialog = dialog
            let bye = dialog.request("BYE", via: newVia(), contact: nil)
            calls[call.id]?.dialog = dialog
            startClient(bye, to: call.peer, purpose: .bye)
        } else if call.direction == .outbound, let key = call.invite {
            cancel(key)
        } else if call.direction == .inbound, let key = call.serverInvite,
            let invite = serverTransactions[key]?.machine.request
        {
            respond(makeResponse(480, to: invite, toTag: call.localTag), on: key)
        }
    }

    /// Reports `event` on the call's stream; a final event ends the call and frees its channel.
    private func emit(_ event: CallProgress, on id: CallID) {
        guard var call = calls[id] else { return }
        do { try call.leg.apply(event) } catch {
            logger.debug("SIP call event dropped", metadata: ["call": "\(id)", "error": "\(error)"])
            return
        }
        calls[id] = call
        call.continuation.yield(event)
        guard event.isFinal else { return }
        call.continuation.finish()
        calls[id] = nil
        for sipCallID in call.sipCallIDs { sipCalls[sipCallID] = nil }
        cancelTimer(.ring(id))
        cancelTimer(.detection(id))
        endAgentLeg(call)
        media.send(.close(id))
        freeMediaPorts.append(call.mediaPort)
        freeMediaPorts.append(call.agentPort)
        metrics.channelsInUse.record(calls.count)
        logger.info("SIP call ended", metadata: ["call": "\(id)", "event": "\(Self.eventName(event))"])
    }

    private static func eventName(_ event: CallProgress) -> String {
        switch event {
        case .busy: "busy"
        case .noAnswer: "no-answer"
        case .invalidNumber: "invalid-number"
        case .networkFailure: "network-failure"
        case .hungUp(.customer, _): "hung-up-by-customer"
        case .hungUp(.node, _): "hung-up-by-node"
        default: "other"
        }
    }

    private func sendInvite(
        for id: CallID, to destination: SocketAddress, sipCallID: String, sequence: UInt32,
        authorization: (header: String, value: String)?
    ) {
        guard var call = calls[id], let offer = call.offer else { return }
        let domain = configuration.requestDomain
        let uri = SIPURI(user: call.number, host: domain, parameters: [SIPParameter("user", "phone")])
        // No caller ID: anonymous (RFC 3323 §4.1.1.3), never an empty user part.
        let caller =
            call.callerID.isEmpty
            ? SIPURI(user: "anonymous", host: "anonymous.invalid") : SIPURI(user: call.callerID, host: domain)
        var headers = SIPHeaders()
        headers.add("Via", newVia().description)
        headers.add("Max-Forwards", "70")
        headers.add("From", SIPNameAddress(uri: caller, parameters: [SIPParameter("tag", call.localTag)]).description)
        headers.add("To", SIPNameAddress(uri: SIPURI(user: call.number, host: domain)).description)
        headers.add("Call-ID", sipCallID)
        headers.add("CSeq", "\(sequence) INVITE")
        headers.add("Contact", "<\(contactURI())>")
        if !call.callerID.isEmpty { headers.add("P-Asserted-Identity", "<\(caller)>") }
        headers.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        headers.add("User-Agent", configuration.userAgent)
        if let authorization { headers.add(authorization.header, authorization.value) }
        headers.add("Content-Type", "application/sdp")
        let invite = SIPRequest(method: "INVITE", uri: uri, headers: headers, body: offer.bytes)
        call.peer = destination
        call.sipCallIDs.insert(sipCallID)
        sipCalls[sipCallID] = id
        let key = startClient(invite, to: destination, purpose: .invite(id))
        call.invite = key
        calls[id] = call
    }

    private func cancel(_ inviteKey: TransactionKey) {
        guard let entry = clientTransactions[inviteKey] else { return }
        switch entry.machine.state {
        case .calling:
            pendingCancels.insert(inviteKey)
        case .proceeding:
            let invite = entry.machine.request
            var headers = SIPHeaders()
            if let via = invite.headers.values("Via").first { headers.add("Via", via) }
            headers.add("Max-Forwards", "70")
            for route in invite.headers.values("Route") { headers.add("Route", route) }
            for name in ["From", "To", "Call-ID"] { if let value = invite.headers[name] { headers.add(name, value) } }
            headers.add("CSeq", "\(invite.headers.cseq?.number ?? 1) CANCEL")
            startClient(
                SIPRequest(method: "CANCEL", uri: invite.uri, headers: headers), to: entry.destination, purpose: .cancel
            )
        default:
            break
        }
    }

    /// A response to one of our INVITEs.
    private func inviteResponse(_ response: SIPResponse, call id: CallID, key: TransactionKey, entry: ClientEntry) {
        let now = clock.now()
        if response.isProvisional {
            if pendingCancels.remove(key) != nil { cancel(key) }
            guard response.statusCode == 180 || response.statusCode == 183, let call = calls[id],
                call.leg.state == .dialing
            else { return }
            emit(.ringing(at: now), on: id)
            return
        }
        pendingCancels.remove(key)
        if response.isSuccess {
            acknowledgeSuccess(response, invite: entry.machine.request, from: entry.destination, call: id)
            return
        }
        guard var call = calls[id], call.invite == key else {
            metrics.callFinished(status: response.statusCode)
            return
        }
        let code = response.statusCode
        if code == 401 || code == 407, let credentials = configuration.credentials, !call.authorized,
            let challenge = response.headers[code == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"]
                .flatMap({ try? SIPDigestChallenge.parse($0) })
        {
            call.authorized = true
            calls[id] = call
            let invite = entry.machine.request
            let value = SIPDigest.authorization(
                challenge: challenge, credentials: credentials, method: "INVITE", uri: invite.uri.description,
                nonceCount: 1, clientNonce: Self.token(8))
            sendInvite(
                for: id, to: entry.destination, sipCallID: invite.headers.callID ?? id.rawValue,
                sequence: (invite.headers.cseq?.number ?? 1) + 1,
                authorization: (code == 401 ? "Authorization" : "Proxy-Authorization", value))
            return
        }
        if (500...599).contains(code), failOver(id) { return }
        metrics.callFinished(status: code)
        logger.info("SIP call refused", metadata: ["call": "\(id)", "status": "\(code)"])
        switch code {
        case 486, 600: emit(.busy(at: now), on: id)
        case 404, 484, 604: emit(.invalidNumber(at: now), on: id)
        case 480, 408, 487: emit(.noAnswer(at: now), on: id)
        default: emit(.networkFailure(at: now), on: id)
        }
    }

    /// Tries the failover proxy once; false when there is none or it was tried.
    private func failOver(_ id: CallID) -> Bool {
        guard let failoverAddress, var call = calls[id], !call.failedOver else { return false }
        call.failedOver = true
        call.authorized = false
        calls[id] = call
        logger.info("SIP call failing over", metadata: ["call": "\(id)", "trunk": "\(configuration.name)"])
        sendInvite(
            for: id, to: failoverAddress, sipCallID: Self.token(12) + "@" + host, sequence: 1, authorization: nil)
        return true
    }

    /// A 2xx to an INVITE: ACK it in the dialog; if the call is gone (cancelled or hung up
    /// meanwhile), BYE at once.
    private func acknowledgeSuccess(
        _ response: SIPResponse, invite: SIPRequest, from destination: SocketAddress, call id: CallID
    ) {
        guard let dialog = SIPDialog.asCaller(invite: invite, response: response) else {
            logger.debug("SIP 2xx without To tag or Contact", metadata: ["call": "\(id)"])
            return
        }
        let sequence = invite.headers.cseq?.number ?? 1
        transportSend(.request(dialog.ack(inviteSequence: sequence, via: newVia())), to: destination)
        guard var call = calls[id], call.dialog == nil, call.leg.state == .dialing || call.leg.state == .ringing else {
            if calls[id]?.dialog == nil {
                var late = dialog
                startClient(late.request("BYE", via: newVia(), contact: nil), to: destination, purpose: .bye)
            }
            return
        }
        metrics.callFinished(status: response.statusCode)
        call.dialog = dialog
        call.peer = destination
        if let offer = call.offer, let answer = try? SessionDescription.parse(response.body) {
            call.media = try? SDPNegotiation.accept(answer: answer, offer: offer)
        }
        calls[id] = call
        cancelTimer(.ring(id))
        let now = clock.now()
        guard let detection = call.detection else {
            openMedia(id, answeredAt: now, detector: nil)
            emit(.answeredLive(at: now, greetingEndsAt: now), on: id)
            return
        }
        // The node secures an agent while the detector listens; the verdict follows, or the
        // limit passes and the answer is taken for live (an unsure detector goes to an agent).
        calls[id]?.answeredAt = now
        openMedia(id, answeredAt: now, detector: try? AnsweringMachineDetector(settings: detection.settings))
        emit(.answered(at: now), on: id)
        let total = Duration.milliseconds(detection.settings.totalAnalysisMilliseconds)
        let limit =
            detection.limit.map { min(total, .milliseconds(detection.settings.greetingMilliseconds) + $0) } ?? total
        schedule(.detection(id), at: now + max(limit, .milliseconds(100)))
    }

    /// A 2xx arrived again after its transaction ended: our ACK was lost; send it again.
    private func strayResponse(_ response: SIPResponse, from source: SocketAddress) {
        guard response.isSuccess, response.headers.cseq?.method == "INVITE", let callID = response.headers.callID,
            let id = sipCalls[callID], let dialog = calls[id]?.dialog, let cseq = response.headers.cseq
        else { return }
        transportSend(.request(dialog.ack(inviteSequence: cseq.number, via: newVia())), to: source)
    }

    // MARK: Inbound requests

    private func newRequest(_ request: SIPRequest, key: TransactionKey, from source: SocketAddress) {
        serverTransactions[key] = ServerEntry(
            machine: SIPServerTransaction(
                request: request, reliable: configuration.transport.isReliable,
                timers: configuration.timers), source: source)
        let inDialog = request.headers.to?.tag != nil
        let callID = request.headers.callID.flatMap { sipCalls[$0] }
        switch request.method {
        case "INVITE" where inDialog:
            reInvite(request, key: key, call: callID)
        case "INVITE":
            inboundInvite(request, key: key, from: source)
        case "CANCEL":
            let inviteKey = TransactionKey(branch: key.branch, method: "INVITE", server: true)
            guard let inviteEntry = serverTransactions[inviteKey] else {
                respond(makeResponse(481, to: request), on: key)
                return
            }
            respond(makeResponse(200, to: request), on: key)
            guard inviteEntry.machine.state == .proceeding, let id = inviteEntry.call, let call = calls[id] else {
                return
            }
            respond(makeResponse(487, to: inviteEntry.machine.request, toTag: call.localTag), on: inviteKey)
            emit(.hungUp(by: .customer, at: clock.now()), on: id)
        case "BYE" where request.headers.callID.flatMap({ agentCalls[$0] }) != nil:
            agentHungUp(request, key: key)
        case "BYE":
            guard let id = callID, var call = calls[id], var dialog = call.dialog, dialog.accept(request) else {
                respond(makeResponse(481, to: request), on: key)
                return
            }
            call.dialog = dialog
            calls[id] = call
            respond(makeResponse(200, to: request), on: key)
            emit(.hungUp(by: .customer, at: clock.now()), on: id)
        case "OPTIONS":
            var response = makeResponse(200, to: request, toTag: inDialog ? nil : Self.token(6))
            response.headers.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
            response.headers.add("Accept", "application/sdp")
            respond(response, on: key)
        case "INFO" where callID != nil, "NOTIFY" where callID != nil:
            respond(makeResponse(200, to: request), on: key)
        default:
            var response = makeResponse(501, to: request, toTag: inDialog ? nil : Self.token(6))
            response.headers.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
            respond(response, on: key)
        }
    }

    private func inboundInvite(_ request: SIPRequest, key: TransactionKey, from source: SocketAddress) {
        let localTag = Self.token(6)
        let did =
            request.uri.user.map { String($0.split(separator: ";").first ?? "") } ?? request.headers.to?.uri.user ?? ""
        if let receivedNumbers, !receivedNumbers.contains(did) {
            respond(makeResponse(404, to: request, toTag: localTag), on: key)
            return
        }
        guard !isClosed, calls.count < configuration.channels, freeMediaPorts.count >= 2,
            let mediaPort = freeMediaPorts.popLast(), let agentPort = freeMediaPorts.popLast()
        else {
            respond(makeResponse(486, to: request, toTag: localTag), on: key)
            return
        }
        var answer: SessionDescription?
        var media: NegotiatedMedia?
        let sessionID = UInt64(clock.now().nanosecondsSinceOrigin.magnitude % 1_000_000_000)
        if request.body.isEmpty {
            // No offer in the INVITE: ours goes in the 200 and the answer comes in the ACK.
            answer = SessionDescription(
                sessionID: sessionID, connectionAddress: host, audioPort: mediaPort, codecs: configuration.codecs)
        } else {
            do {
                let offer = try SessionDescription.parse(request.body)
                (answer, media) = try SDPNegotiation.answer(
                    to: offer, supported: configuration.codecs, localAddress: host, localPort: mediaPort,
                    sessionID: sessionID)
            } catch {
                freeMediaPorts.append(mediaPort)
                freeMediaPorts.append(agentPort)
                var response = makeResponse(488, to: request, toTag: localTag)
                response.headers.add("Warning", "399 \(host) \"\(error)\"")
                respond(response, on: key)
                return
            }
        }
        let id = CallID(Self.token(12))
        let (stream, continuation) = AsyncStream.makeStream(of: CallProgress.self)
        var call = Call(
            id: id, direction: .inbound, continuation: continuation, peer: source, mediaPort: mediaPort,
            agentPort: agentPort, localTag: localTag)
        call.serverInvite = key
        call.localAnswer = answer
        call.media = media
        if let sipCallID = request.headers.callID {
            call.sipCallIDs.insert(sipCallID)
            sipCalls[sipCallID] = id
        }
        calls[id] = call
        serverTransactions[key]?.call = id
        metrics.channelsInUse.record(calls.count)
        respond(makeResponse(100, to: request), on: key)
        respond(makeResponse(180, to: request, toTag: localTag, contact: true), on: key)
        let from = request.headers.from?.uri.user ?? ""
        logger.info("SIP call arrived", metadata: ["call": "\(id)", "trunk": "\(configuration.name)"])
        inboundContinuation.yield(InboundCall(id: id, from: from, did: did, arrivedAt: clock.now(), progress: stream))
    }

    /// A re-INVITE in a dialog (hold, a codec change, a session refresh): answered with our
    /// session again.
    private func reInvite(_ request: SIPRequest, key: TransactionKey, call id: CallID?) {
        guard let id, var call = calls[id], var dialog = call.dialog, dialog.accept(request) else {
            respond(makeResponse(481, to: request), on: key)
            return
        }
        var session =
            call.localAnswer ?? call.offer
            ?? SessionDescription(
                sessionID: 1, connectionAddress: host, audioPort: call.mediaPort, codecs: configuration.codecs)
        session.sessionVersion += 1
        if !request.body.isEmpty, let offer = try? SessionDescription.parse(request.body),
            let (answer, media) = try? SDPNegotiation.answer(
                to: offer, supported: configuration.codecs, localAddress: host, localPort: call.mediaPort,
                sessionID: session.sessionID)
        {
            session = answer
            session.sessionVersion = (call.localAnswer?.sessionVersion ?? 1) + 1
            call.media = media
        }
        call.localAnswer = session
        call.dialog = dialog
        calls[id] = call
        respond(
            makeResponse(200, to: request, contact: true, body: session.bytes, contentType: "application/sdp"), on: key)
    }

    /// An ACK outside any server transaction: the ACK to our 2xx (a new branch).
    private func ackForSuccess(_ request: SIPRequest) {
        guard let callID = request.headers.callID, let id = sipCalls[callID], let key = calls[id]?.serverInvite,
            var entry = serverTransactions[key]
        else { return }
        let actions = entry.machine.receive(request)
        serverTransactions[key] = entry
        perform(actions, server: key)
    }

    // MARK: Media and the agent's leg

    /// Binds the call's ports (the customer's remote from SDP) and starts relaying.
    private func openMedia(_ id: CallID, answeredAt: Moment, detector: AnsweringMachineDetector?) {
        guard let call = calls[id], let negotiated = call.media,
            let codec = G711Codec(payloadType: UInt8(clamping: negotiated.codec.payloadType))
        else {
            logger.debug("SIP call without G.711 media: no audio", metadata: ["call": "\(id)"])
            return
        }
        let remote = try? SocketAddress(ipAddress: negotiated.remoteAddress, port: negotiated.remotePort)
        // Symmetric RTP when the SDP's address cannot be used (a name, or none).
        let customer = RTPRelay.Leg(remote: remote, codec: codec, latchesToSource: remote == nil)
        media.send(
            .open(
                id, customerPort: call.mediaPort, agentPort: call.agentPort, customer: customer,
                answeredAt: answeredAt, detector: detector))
    }

    private func mediaEvent(_ event: SIPMediaEvent) {
        switch event {
        case .verdict(let id, let verdict, let at):
            guard var call = calls[id], var detection = call.detection, !detection.decided,
                let answeredAt = call.answeredAt
            else { return }
            detection.decided = true
            call.detection = detection
            calls[id] = call
            cancelTimer(.detection(id))
            logger.debug("AMD verdict", metadata: ["call": "\(id)", "verdict": "\(verdict)"])
            switch verdict.kind {
            case .machine: emit(.answeredByMachine(at: answeredAt, detectedAt: at), on: id)
            case .human, .notSure: emit(.answeredLive(at: answeredAt, greetingEndsAt: at), on: id)
            }
        case .messageFinished(let id, let message, let at):
            emit(.messageFinished(message, at: max(at, clock.now())), on: id)
        case .openFailed(let id, _):
            logger.info("SIP call has no audio", metadata: ["call": "\(id)"])
        }
        catchUp()
    }

    /// A response to the agent leg's INVITE: 2xx connects the agent; a failure ends the call.
    private func agentInviteResponse(_ response: SIPResponse, call id: CallID, key: TransactionKey, entry: ClientEntry)
    {
        guard !response.isProvisional else { return }
        guard response.isSuccess else {
            agentLegFailed(id, status: response.statusCode)
            return
        }
        let invite = entry.machine.request
        guard let dialog = SIPDialog.asCaller(invite: invite, response: response) else { return }
        transportSend(.request(dialog.ack(inviteSequence: 1, via: newVia())), to: entry.destination)
        guard var call = calls[id], var leg = call.agentLeg, leg.invite == key, leg.dialog == nil else {
            // The call ended while the phone rang: hang the phone up.
            var late = dialog
            startClient(late.request("BYE", via: newVia(), contact: nil), to: entry.destination, purpose: .bye)
            return
        }
        leg.dialog = dialog
        call.agentLeg = leg
        calls[id] = call
        if let answer = try? SessionDescription.parse(response.body),
            let negotiated = try? SDPNegotiation.accept(answer: answer, offer: leg.offer),
            let codec = G711Codec(payloadType: UInt8(clamping: negotiated.codec.payloadType))
        {
            let remote = try? SocketAddress(ipAddress: negotiated.remoteAddress, port: negotiated.remotePort)
            media.send(.connectAgent(id, RTPRelay.Leg(remote: remote, codec: codec, latchesToSource: remote == nil)))
        }
        emit(.bridged(to: leg.agent, at: clock.now()), on: id)
    }

    /// The agent's phone refused or did not answer: the customer's call cannot be connected.
    private func agentLegFailed(_ id: CallID, status: Int) {
        guard var call = calls[id], let leg = call.agentLeg, leg.dialog == nil else { return }
        logger.warning(
            "agent's phone did not answer the bridge", metadata: ["call": "\(id)", "status": "\(status)"])
        agentCalls[leg.sipCallID] = nil
        call.agentLeg = nil
        calls[id] = call
        end(call)
        emit(.networkFailure(at: clock.now()), on: id)
    }

    /// The agent hung up their phone: the call ends (the node's side hung up).
    private func agentHungUp(_ request: SIPRequest, key: TransactionKey) {
        respond(makeResponse(200, to: request), on: key)
        guard let sipCallID = request.headers.callID, let id = agentCalls.removeValue(forKey: sipCallID),
            var call = calls[id]
        else { return }
        call.agentLeg = nil
        calls[id] = call
        end(call)
        emit(.hungUp(by: .node, at: clock.now()), on: id)
    }

    /// Ends the agent's leg with the call: BYE when it answered, CANCEL while it rings.
    private func endAgentLeg(_ call: Call) {
        guard let leg = call.agentLeg else { return }
        agentCalls[leg.sipCallID] = nil
        if var dialog = leg.dialog {
            startClient(dialog.request("BYE", via: newVia(), contact: nil), to: leg.destination, purpose: .bye)
        } else {
            cancel(leg.invite)
        }
    }

    /// The prompt for a message id, read once from the prompt directory.
    private func prompt(_ id: String) -> WAVAudio? {
        if let cached = prompts[id] { return cached }
        var audio: WAVAudio?
        if let directory = configuration.promptDirectory,
            id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }), !id.hasPrefix(".")
        {
            let path = directory.hasSuffix("/") ? directory + id + ".wav" : directory + "/" + id + ".wav"
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                audio = try WAVReader.read(Array(data.prefix(WAVReader.maximumBytes + 1)))
            } catch {
                logger.warning("message cannot be played", metadata: ["message": "\(id)", "error": "\(error)"])
            }
        } else {
            logger.warning("no prompt directory for a message", metadata: ["message": "\(id)"])
        }
        prompts[id] = .some(audio)
        return audio
    }

    // MARK: Registration and keep-alive

    private func register() {
        guard let expiry = configuration.registrationExpiry, !isClosed else { return }
        let domain = configuration.requestDomain
        let user = configuration.credentials?.username ?? "dialer"
        let aor = SIPURI(user: user, host: domain)
        if registration.callID.isEmpty {
            registration.callID = Self.token(12) + "@" + host
            registration.tag = Self.token(6)
        }
        registration.sequence += 1
        var headers = SIPHeaders()
        headers.add("Via", newVia().description)
        headers.add("Max-Forwards", "70")
        headers.add("From", SIPNameAddress(uri: aor, parameters: [SIPParameter("tag", registration.tag)]).description)
        headers.add("To", SIPNameAddress(uri: aor).description)
        headers.add("Call-ID", registration.callID)
        headers.add("CSeq", "\(registration.sequence) REGISTER")
        headers.add("Contact", "<\(contactURI(user: user))>")
        headers.add("Expires", String(expiry.components.seconds))
        headers.add("User-Agent", configuration.userAgent)
        if let authorization = registration.authorization { headers.add(authorization.header, authorization.value) }
        registration.authorization = nil
        startClient(
            SIPRequest(method: "REGISTER", uri: SIPURI(host: domain), headers: headers), to: proxyAddress,
            purpose: .register)
    }

    private func registerResponse(_ response: SIPResponse, request: SIPRequest) {
        let now = clock.now()
        let code = response.statusCode
        if response.isProvisional { return }
        if response.isSuccess {
            registration.challenged = false
            let granted =
                response.headers.contact?.parameters.first { $0.name == "expires" }?.value
                .flatMap { SIPNumbers.decimal($0, maxDigits: 9) }
                ?? response.headers["Expires"].flatMap { SIPNumbers.decimal($0, maxDigits: 9) }
                ?? Int(configuration.registrationExpiry?.components.seconds ?? 3600)
            let seconds = Swift.max(10, Swift.min(granted, 86_400))
            registration.registeredUntil = now + .seconds(seconds)
            schedule(.register, at: now + .seconds(seconds / 2))
            logger.info("SIP registered", metadata: ["trunk": "\(configuration.name)", "expires": "\(seconds)"])
            return
        }
        if code == 401 || code == 407, let credentials = configuration.credentials, !registration.challenged,
            let challenge = response.headers[code == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"]
                .flatMap({ try? SIPDigestChallenge.parse($0) })
        {
            registration.challenged = true
            registration.authorization = (
                code == 401 ? "Authorization" : "Proxy-Authorization",
                SIPDigest.authorization(
                    challenge: challenge, credentials: credentials, method: "REGISTER", uri: request.uri.description,
                    nonceCount: 1, clientNonce: Self.token(8))
            )
            register()
            return
        }
        registration.challenged = false
        logger.warning("SIP registration refused", metadata: ["trunk": "\(configuration.name)", "status": "\(code)"])
        schedule(.register, at: now + .seconds(30))
    }

    private func keepAlive() {
        guard let interval = configuration.keepAliveInterval, !isClosed else { return }
        let domain = configuration.requestDomain
        var headers = SIPHeaders()
        headers.add("Via", newVia().description)
        headers.add("Max-Forwards", "70")
        headers.add(
            "From",
            SIPNameAddress(uri: SIPURI(user: "dialer", host: domain), parameters: [SIPParameter("tag", Self.token(6))])
                .description)
        headers.add("To", SIPNameAddress(uri: SIPURI(host: domain)).description)
        headers.add("Call-ID", Self.token(12) + "@" + host)
        headers.add("CSeq", "1 OPTIONS")
        headers.add("User-Agent", configuration.userAgent)
        startClient(
            SIPRequest(method: "OPTIONS", uri: SIPURI(host: domain), headers: headers), to: proxyAddress,
            purpose: .keepAlive)
        schedule(.keepAlive, at: clock.now() + interval)
    }

    // MARK: The effect loop

    private func handle(_ event: SIPTransportEvent) {
        guard !isClosed else { return }
        switch event {
        case .received(let message, let source):
            if logger.logLevel <= .debug {
                logger.debug(
                    "SIP in",
                    metadata: [
                        "from": "\(source)",
                        "message":
                            "\(LogText.escaped(String(decoding: SIPParser.serialise(message), as: UTF8.self), limit: 4096))",
                    ])
            }
            receive(message, from: source)
        case .malformed(let error, let source):
            metrics.malformed.increment()
            logger.debug("SIP malformed message dropped", metadata: ["from": "\(source)", "error": "\(error)"])
        case .sendFailed(let destination):
            for (key, entry) in clientTransactions where entry.destination == destination {
                var entry = entry
                let actions = entry.machine.transportFailed()
                clientTransactions[key] = entry
                perform(actions, client: key)
            }
        }
        catchUp()
    }

    private func receive(_ message: SIPMessage, from source: SocketAddress) {
        switch message {
        case .response(let response):
            guard let branch = response.headers.vias.first?.branch, let cseq = response.headers.cseq else { return }
            let key = TransactionKey(branch: branch, method: cseq.method, server: false)
            guard var entry = clientTransactions[key] else {
                strayResponse(response, from: source)
                return
            }
            let actions = entry.machine.receive(response)
            clientTransactions[key] = entry
            perform(actions, client: key)
        case .request(let request):
            guard let branch = request.headers.vias.first?.branch else { return }
            let key = TransactionKey(
                branch: branch, method: request.method == "ACK" ? "INVITE" : request.method, server: true)
            if var entry = serverTransactions[key] {
                let actions = entry.machine.receive(request)
                serverTransactions[key] = entry
                perform(actions, server: key)
            } else if request.method == "ACK" {
                ackForSuccess(request)
            } else {
                newRequest(request, key: key, from: source)
            }
        }
    }

    @discardableResult
    private func startClient(_ request: SIPRequest, to destination: SocketAddress, purpose: Purpose) -> TransactionKey {
        var machine = SIPClientTransaction(
            request: request, reliable: configuration.transport.isReliable, timers: configuration.timers)
        let key = TransactionKey(branch: machine.branch ?? Self.token(8), method: request.method, server: false)
        let actions = machine.start()
        clientTransactions[key] = ClientEntry(machine: machine, destination: destination, purpose: purpose)
        perform(actions, client: key)
        return key
    }

    private func respond(_ response: SIPResponse, on key: TransactionKey) {
        guard var entry = serverTransactions[key] else { return }
        let actions = entry.machine.respond(response)
        serverTransactions[key] = entry
        perform(actions, server: key)
    }

    private func perform(_ actions: [SIPTransactionAction], client key: TransactionKey) {
        for action in actions {
            guard let entry = clientTransactions[key] else { return }
            switch action {
            case .send(let message, let retransmission):
                if retransmission { metrics.retransmissions.increment() }
                transportSend(message, to: entry.destination)
            case .startTimer(let timer, let after):
                schedule(.transaction(key, timer), at: clock.now() + after)
            case .cancelTimer(let timer):
                cancelTimer(.transaction(key, timer))
            case .deliver(let response):
                deliver(response, key: key, entry: entry)
            case .deliverRequest:
                break
            case .timedOut:
                metrics.transactionTimeouts.increment()
                clientTimedOut(key: key, entry: entry)
            case .terminated:
                clientTransactions[key] = nil
                for timer in SIPTimer.allCases { cancelTimer(.transaction(key, timer)) }
            }
        }
    }

    private func deliver(_ response: SIPResponse, key: TransactionKey, entry: ClientEntry) {
        switch entry.purpose {
        case .invite(let id): inviteResponse(response, call: id, key: key, entry: entry)
        case .agentInvite(let id): agentInviteResponse(response, call: id, key: key, entry: entry)
        case .register: registerResponse(response, request: entry.machine.request)
        case .keepAlive, .bye, .cancel: break
        }
    }

    private func clientTimedOut(key: TransactionKey, entry: ClientEntry) {
        switch entry.purpose {
        case .invite(let id):
            pendingCancels.remove(key)
            guard calls[id]?.invite == key else { return }
            if failOver(id) { return }
            metrics.callFinished(status: 408)
            emit(.networkFailure(at: clock.now()), on: id)
        case .agentInvite(let id):
            agentLegFailed(id, status: 408)
        case .register:
            logger.warning("SIP registration timed out", metadata: ["trunk": "\(configuration.name)"])
            registration.challenged = false
            schedule(.register, at: clock.now() + .seconds(30))
        case .keepAlive:
            logger.warning("SIP keep-alive OPTIONS unanswered", metadata: ["trunk": "\(configuration.name)"])
        case .bye, .cancel:
            break
        }
    }

    private func perform(_ actions: [SIPTransactionAction], server key: TransactionKey) {
        for action in actions {
            guard let entry = serverTransactions[key] else { return }
            switch action {
            case .send(let message, let retransmission):
                if retransmission { metrics.retransmissions.increment() }
                transportSend(message, to: entry.source)
            case .startTimer(let timer, let after):
                schedule(.transaction(key, timer), at: clock.now() + after)
            case .cancelTimer(let timer):
                cancelTimer(.transaction(key, timer))
            case .deliver, .deliverRequest:
                break
            case .timedOut:
                metrics.transactionTimeouts.increment()
                // Our 2xx was never ACKed (timer H): the call is lost.
                if let id = entry.call, let call = calls[id], call.dialog != nil,
                    entry.machine.request.method == "INVITE"
                {
                    end(call)
                    emit(.networkFailure(at: clock.now()), on: id)
                }
            case .terminated:
                serverTransactions[key] = nil
                for timer in SIPTimer.allCases { cancelTimer(.transaction(key, timer)) }
            }
        }
    }

    private func transportSend(_ message: SIPMessage, to destination: SocketAddress) {
        if logger.logLevel <= .debug {
            logger.debug(
                "SIP out",
                metadata: [
                    "to": "\(destination)",
                    "message":
                        "\(LogText.escaped(String(decoding: SIPParser.serialise(message), as: UTF8.self), limit: 4096))",
                ])
        }
        transport.send(message, to: destination)
    }

    // MARK: Timers

    private func schedule(_ key: TimerKey, at deadline: Moment) {
        nextGeneration += 1
        timerGenerations[key] = nextGeneration
        timers.insert(TimerEntry(deadline: deadline, key: key, generation: nextGeneration))
        armTimer()
    }

    private func cancelTimer(_ key: TimerKey) {
        timerGenerations[key] = nil
    }

    private func armTimer() {
        guard !isClosed else { return }
        while let first = timers.min, timerGenerations[first.key] != first.generation { _ = timers.popMin() }
        guard let next = timers.min?.deadline else { return }
        if let timerTask, timerTask.deadline <= next { return }
        timerTask?.task.cancel()
        let clock = self.clock
        let task = Task { [weak self] in
            do { try await clock.sleep(until: next) } catch { return }
            await self?.timerFired(deadline: next)
        }
        timerTask = (next, task)
    }

    private func timerFired(deadline: Moment) {
        if timerTask?.deadline == deadline { timerTask = nil }
        catchUp()
    }

    /// Fires every timer due by now, in order of deadline.
    private func catchUp() {
        let now = clock.now()
        while let first = timers.min, first.deadline <= now {
            _ = timers.popMin()
            guard timerGenerations[first.key] == first.generation else { continue }
            timerGenerations[first.key] = nil
            fire(first.key)
        }
        armTimer()
    }

    private func fire(_ key: TimerKey) {
        switch key {
        case .transaction(let transaction, let timer):
            if transaction.server {
                guard var entry = serverTransactions[transaction] else { return }
                let actions = entry.machine.timerFired(timer)
                serverTransactions[transaction] = entry
                perform(actions, server: transaction)
            } else {
                guard var entry = clientTransactions[transaction] else { return }
                let actions = entry.machine.timerFired(timer)
                clientTransactions[transaction] = entry
                perform(actions, client: transaction)
            }
        case .ring(let id):
            guard let call = calls[id], call.dialog == nil else { return }
            logger.info("SIP call ring timeout", metadata: ["call": "\(id)"])
            end(call)
            emit(.noAnswer(at: clock.now()), on: id)
        case .detection(let id):
            guard var call = calls[id], var detection = call.detection, !detection.decided,
                let answeredAt = call.answeredAt
            else { return }
            detection.decided = true
            call.detection = detection
            calls[id] = call
            media.send(.stopDetecting(id))
            emit(.answeredLive(at: answeredAt, greetingEndsAt: clock.now()), on: id)
        case .register:
            register()
        case .keepAlive:
            keepAlive()
        }
    }

    // MARK: Building blocks

    private func newVia() -> SIPVia {
        SIPVia(
            transport: configuration.transport.viaName, host: host, port: localAddress.port,
            parameters: [SIPParameter("branch", "z9hG4bK" + Self.token(10)), SIPParameter("rport")])
    }

    private func contactURI(user: String = "dialer") -> SIPURI {
        SIPURI(
            user: user, host: host, port: localAddress.port,
            parameters: configuration.transport == .tcp ? [SIPParameter("transport", "tcp")] : [])
    }

    private func makeResponse(
        _ code: Int, to request: SIPRequest, toTag: String? = nil, contact: Bool = false, body: [UInt8] = [],
        contentType: String? = nil
    ) -> SIPResponse {
        var headers = SIPHeaders()
        for via in request.headers.values("Via") { headers.add("Via", via) }
        for route in request.headers.values("Record-Route") { headers.add("Record-Route", route) }
        if let from = request.headers["From"] { headers.add("From", from) }
        if var to = request.headers.to {
            if to.tag == nil, let toTag, code > 100 { to.tag = toTag }
            headers.add("To", to.description)
        }
        if let callID = request.headers.callID { headers.add("Call-ID", callID) }
        if let cseq = request.headers["CSeq"] { headers.add("CSeq", cseq) }
        if contact { headers.add("Contact", "<\(contactURI())>") }
        headers.add("Server", configuration.userAgent)
        if let contentType { headers.add("Content-Type", contentType) }
        return SIPResponse(statusCode: code, headers: headers, body: body)
    }

    static func token(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: State kept by the trunk

extension SIPTrunk {
    struct TransactionKey: Hashable, Sendable {
        var branch: String
        var method: String
        var server: Bool
    }

    enum Purpose: Hashable, Sendable {
        case invite(CallID)
        /// The INVITE of the agent's leg of a call.
        case agentInvite(CallID)
        case cancel
        case bye
        case register
        case keepAlive
    }

    struct ClientEntry: Sendable {
        var machine: SIPClientTransaction
        let destination: SocketAddress
        let purpose: Purpose
    }

    struct ServerEntry: Sendable {
        var machine: SIPServerTransaction
        let source: SocketAddress
        var call: CallID?
    }

    enum TimerKey: Hashable, Sendable {
        case transaction(TransactionKey, SIPTimer)
        case ring(CallID)
        /// The longest the detector may listen to a call.
        case detection(CallID)
        case register
        case keepAlive
    }

    struct TimerEntry: Comparable, Sendable {
        var deadline: Moment
        var key: TimerKey
        var generation: Int

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.deadline, lhs.generation) < (rhs.deadline, rhs.generation)
        }

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.deadline == rhs.deadline && lhs.generation == rhs.generation
        }
    }

    struct Call: Sendable {
        let id: CallID
        let direction: CallDirection
        var leg: CallLegStateMachine
        let continuation: AsyncStream<CallProgress>.Continuation
        /// Where the call's requests go: the proxy, or the address an inbound INVITE came from.
        var peer: SocketAddress
        let mediaPort: Int
        /// The port of the agent's leg, relayed to ``mediaPort``.
        let agentPort: Int
        let localTag: String
        /// Answering-machine detection asked for; `nil` without.
        var detection: Detection?
        var answeredAt: Moment?
        var agentLeg: AgentLeg?
        var number = ""
        var callerID = ""
        var sipCallIDs: Set<String> = []
        /// Outbound: the current INVITE transaction and our offer.
        var invite: TransactionKey?
        var offer: SessionDescription?
        var authorized = false
        var failedOver = false
        /// Inbound: the INVITE's server transaction and our answer (or offer).
        var serverInvite: TransactionKey?
        var localAnswer: SessionDescription?
        var dialog: SIPDialog?
        var media: NegotiatedMedia?

        init(
            id: CallID, direction: CallDirection, continuation: AsyncStream<CallProgress>.Continuation,
            peer: SocketAddress, mediaPort: Int, agentPort: Int, localTag: String
        ) {
            self.id = id
            self.direction = direction
            self.leg = CallLegStateMachine(direction: direction)
            self.continuation = continuation
            self.peer = peer
            self.mediaPort = mediaPort
            self.agentPort = agentPort
            self.localTag = localTag
        }
    }

    struct Detection: Sendable {
        var settings: AMDSettings
        /// How long after the greeting the detector may still listen (the node's connect rule).
        var limit: Duration?
        /// A verdict was reported (or given up on): later ones are dropped.
        var decided = false
    }

    /// The agent's leg of a call: one INVITE per bridge, to the agent's phone.
    struct AgentLeg: Sendable {
        let agent: AgentID
        let sipCallID: String
        let invite: TransactionKey
        let offer: SessionDescription
        let destination: SocketAddress
        var dialog: SIPDialog?
    }

    /// An agent's phone: its URI and where its requests go.
    struct AgentPhone: Sendable {
        /// As the agent gave it.
        let text: String
        let uri: SIPURI
        let address: SocketAddress
    }

    struct Registration: Sendable {
        var callID = ""
        var tag = ""
        var sequence: UInt32 = 0
        var challenged = false
        var authorization: (header: String, value: String)?
        var registeredUntil: Moment?
    }
}

/// The trunk's metrics, labelled with its name.
struct SIPTrunkMetrics: Sendable {
    let trunk: String
    let callsPlaced: Counter
    let channelsInUse: Gauge
    let retransmissions: Counter
    let transactionTimeouts: Counter
    let malformed: Counter

    init(trunk: String) {
        self.trunk = trunk
        let dimensions = [("trunk", trunk)]
        callsPlaced = Counter(label: "dialer_sip_calls_placed_total", dimensions: dimensions)
        channelsInUse = Gauge(label: "dialer_sip_channels_in_use", dimensions: dimensions)
        retransmissions = Counter(label: "dialer_sip_retransmissions_total", dimensions: dimensions)
        transactionTimeouts = Counter(label: "dialer_sip_transaction_timeouts_total", dimensions: dimensions)
        malformed = Counter(label: "dialer_sip_malformed_messages_total", dimensions: dimensions)
    }

    /// Counts a call by the final SIP status of its INVITE (408 for a timeout).
    func callFinished(status: Int) {
        Counter(label: "dialer_sip_calls_total", dimensions: [("trunk", trunk), ("status", String(status))]).increment()
    }
}
