public import DialerProtocol
import FoundationEssentials

/// The life of one cluster connection, from the first frame to the close, as a value type.
///
/// The accepting side (server) opens with a `Challenge` carrying a fresh nonce; the connecting
/// side (client) answers with a `Hello` whose proof signs that nonce; the server checks
/// version, proof and role and answers `Welcome` (with its own proof over the client's nonce)
/// or a fatal `Error`. After that both sides send heartbeats every interval and count the
/// intervals in which nothing arrived; too many and the peer is dead. The interval and the
/// count are the server's: it chooses them by the client's role (agents get a long interval of
/// their own) and states them in `Welcome`, and the client adopts them from there.
///
/// The machine does no I/O and reads no clock: the NIO handler feeds it frames and heartbeat
/// ticks and performs the actions it returns, so every transition is testable alone.
public struct ConnectionStateMachine: Sendable {
    public enum Side: Sendable {
        case server
        case client(nonce: [UInt8])
    }

    enum State: Sendable {
        case initial
        case serverAwaitingHello(serverNonce: [UInt8], ticks: Int)
        case clientAwaitingChallenge(clientNonce: [UInt8], ticks: Int)
        case clientAwaitingWelcome(serverNonce: [UInt8], clientNonce: [UInt8], version: UInt32, ticks: Int)
        case established(peer: PeerIdentity, silentTicks: Int, sequence: UInt64)
        case closed
    }

    /// What the handler must do next.
    public enum Action: Sendable, Equatable {
        case none
        case send(Envelope)
        /// The handshake is done; send `reply` first if present.
        case established(PeerIdentity, reply: Envelope?)
        /// An application message for whoever owns the connection.
        case forward(Envelope)
        /// Send an `Error` frame with this violation's code, then close.
        case failAndClose(ProtocolViolation)
        /// The peer ended the connection with a fatal error of its own; close without answering.
        case closeAfterPeerError(code: ProtocolErrorCode, message: String)
    }

    private let settings: ConnectionSettings
    private let side: Side
    private(set) var state: State = .initial
    /// The connection's heartbeat interval: this side's own until the handshake, then the one
    /// the server stated in `Welcome` (chosen by the client's role).
    public private(set) var heartbeatInterval: Duration
    /// Silent intervals after which the peer is dead, set like ``heartbeatInterval``.
    public private(set) var missedHeartbeats: Int

    public init(settings: ConnectionSettings, side: Side) {
        self.settings = settings
        self.side = side
        self.heartbeatInterval = settings.heartbeatInterval
        self.missedHeartbeats = settings.missedHeartbeats
    }

    /// The peer once the handshake is done.
    public var peer: PeerIdentity? {
        if case .established(let peer, _, _) = state { return peer }
        return nil
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The connection is up. The server sends its challenge with `serverNonce`.
    public mutating func connectionActive(serverNonce: [UInt8]) -> Action {
        guard case .initial = state else { return .none }
        switch side {
        case .server:
            state = .serverAwaitingHello(serverNonce: serverNonce, ticks: 0)
            var challenge = Dialer_V1_Challenge()
            challenge.serverNonce = Data(serverNonce)
            challenge.minProtocolVersion = settings.supportedVersions.lowerBound
            challenge.maxProtocolVersion = settings.supportedVersions.upperBound
            return .send(Envelope(.challenge(challenge)))
        case .client(let nonce):
            state = .clientAwaitingChallenge(clientNonce: nonce, ticks: 0)
            return .none
        }
    }

    /// A frame arrived.
    public mutating func received(_ envelope: Envelope) -> Action {
        guard let message = envelope.message else {
            return fail(.malformedFrame, "envelope carries no message")
        }
        // A fatal error from the peer ends the connection in every state.
        if case .error(let error) = message, error.code.isFatal || peer == nil {
            state = .closed
            return .closeAfterPeerError(code: error.code, message: error.message)
        }
        switch state {
        case .initial, .closed:
            return .none

        case .serverAwaitingHello(let serverNonce, _):
            guard case .hello(let hello) = message else {
                return fail(.unexpectedMessage, "\(envelope.kindName) is not allowed before the handshake")
            }
            return serverReceivedHello(hello, serverNonce: serverNonce)

        case .clientAwaitingChallenge(let clientNonce, _):
            guard case .challenge(let challenge) = message else {
                return fail(.unexpectedMessage, "expected challenge, got \(envelope.kindName)")
            }
            return clientReceivedChallenge(challenge, clientNonce: clientNonce)

        case .clientAwaitingWelcome(let serverNonce, let clientNonce, let version, _):
            guard case .welcome(let welcome) = message else {
                return fail(.unexpectedMessage, "expected welcome, got \(envelope.kindName)")
            }
            let expected = settings.secret.welcomeProof(
                serverNonce: serverNonce, clientNonce: clientNonce, version: welcome.protocolVersion,
                memberID: welcome.memberID)
            guard ClusterSecret.proofsMatch(expected, Array(welcome.proof)) else {
                return fail(.authenticationFailed, "the server's proof does not match the cluster secret")
            }
            guard welcome.protocolVersion == version else {
                return fail(.unsupportedVersion, "server chose version \(welcome.protocolVersion), not \(version)")
            }
            // The server's timing governs the connection; 0 is a server that states none.
            if welcome.heartbeatIntervalMs != 0 {
                guard ConnectionSettings.statedHeartbeatIntervals.contains(welcome.heartbeatIntervalMs) else {
                    return fail(
                        .invalidArgument,
                        "welcome heartbeat_interval_ms must be \(ConnectionSettings.statedHeartbeatIntervals), "
                            + "got \(welcome.heartbeatIntervalMs)")
                }
                heartbeatInterval = .milliseconds(Int64(welcome.heartbeatIntervalMs))
            }
            if welcome.missedHeartbeats != 0 {
                guard ConnectionSettings.statedMissedHeartbeats.contains(welcome.missedHeartbeats) else {
                    return fail(
                        .invalidArgument,
                        "welcome missed_heartbeats must be \(ConnectionSettings.statedMissedHeartbeats), "
                            + "got \(welcome.missedHeartbeats)")
                }
                missedHeartbeats = Int(welcome.missedHeartbeats)
            }
            let peer = PeerIdentity(role: welcome.role, memberID: welcome.memberID, protocolVersion: version)
            state = .established(peer: peer, silentTicks: 0, sequence: 0)
            return .established(peer, reply: nil)

        case .established(let peer, _, let sequence):
            state = .established(peer: peer, silentTicks: 0, sequence: sequence)
            switch message {
            case .challenge, .hello, .welcome:
                return fail(.unexpectedMessage, "\(envelope.kindName) is only allowed during the handshake")
            case .heartbeat:
                // Liveness is this machine's business: a heartbeat (like any frame) reset the
                // count above, and the owner of the connection never has to read one, so an
                // owner that only writes cannot stall the reading of its peer's beats.
                return .none
            default:
                // A kind of a later version than the connection's is answered as a peer of the
                // connection's version would answer it (it would not know it): a pinned or
                // older process looks the same to its peer (PROTOCOL.md §8).
                guard peer.speaks(message) else {
                    return fail(
                        .unknownMessage,
                        "\(envelope.kindName) needs protocol version \(ProtocolVersion.introducing(message)); "
                            + "this connection speaks \(peer.protocolVersion)")
                }
                return .forward(envelope)
            }
        }
    }

    /// One heartbeat interval passed.
    ///
    /// - Parameter listening: `false` while this side has stopped reading the peer (its
    ///   outbound bytes are over the high water): the peer's frames wait unread in the socket
    ///   then, so the interval does not count as silent.
    public mutating func heartbeatTick(listening: Bool = true) -> Action {
        switch state {
        case .initial, .closed:
            return .none
        case .serverAwaitingHello(let nonce, let ticks):
            guard ticks < missedHeartbeats else { return fail(.heartbeatTimeout, "no hello in time") }
            state = .serverAwaitingHello(serverNonce: nonce, ticks: ticks + 1)
            return .none
        case .clientAwaitingChallenge(let nonce, let ticks):
            guard ticks < missedHeartbeats else { return fail(.heartbeatTimeout, "no challenge in time") }
            state = .clientAwaitingChallenge(clientNonce: nonce, ticks: ticks + 1)
            return .none
        case .clientAwaitingWelcome(let serverNonce, let clientNonce, let version, let ticks):
            guard ticks < missedHeartbeats else { return fail(.heartbeatTimeout, "no welcome in time") }
            state = .clientAwaitingWelcome(
                serverNonce: serverNonce, clientNonce: clientNonce, version: version, ticks: ticks + 1)
            return .none
        case .established(let peer, let silentTicks, let sequence):
            guard silentTicks < missedHeartbeats else {
                return fail(.heartbeatTimeout, "peer missed \(missedHeartbeats) heartbeats")
            }
            state = .established(
                peer: peer, silentTicks: listening ? silentTicks + 1 : silentTicks, sequence: sequence + 1)
            var beat = Dialer_V1_Heartbeat()
            beat.sequence = sequence + 1
            return .send(Envelope(.heartbeat(beat)))
        }
    }

    /// The decoder found a violation in the byte stream.
    public mutating func violation(_ violation: ProtocolViolation) -> Action {
        guard !isClosed else { return .none }
        state = .closed
        return .failAndClose(violation)
    }

    /// The connection closed underneath.
    public mutating func connectionClosed() {
        state = .closed
    }

    private mutating func fail(_ code: ProtocolErrorCode, _ detail: String) -> Action {
        violation(ProtocolViolation(code, detail))
    }

    private mutating func serverReceivedHello(_ hello: Dialer_V1_Hello, serverNonce: [UInt8]) -> Action {
        let clientMax = hello.protocolVersion
        let clientMin = hello.minProtocolVersion == 0 ? clientMax : hello.minProtocolVersion
        let chosen = min(clientMax, settings.supportedVersions.upperBound)
        guard clientMin <= clientMax, chosen >= max(clientMin, settings.supportedVersions.lowerBound) else {
            return fail(
                .unsupportedVersion,
                "client speaks \(clientMin)...\(clientMax), server speaks \(settings.supportedVersions)")
        }
        guard hello.clientNonce.count >= 16 else {
            return fail(.authenticationFailed, "client nonce must be at least 16 bytes")
        }
        let expected = settings.secret.helloProof(
            serverNonce: serverNonce, clientNonce: Array(hello.clientNonce), version: hello.protocolVersion,
            role: hello.role, memberID: hello.memberID)
        guard ClusterSecret.proofsMatch(expected, Array(hello.proof)) else {
            return fail(.authenticationFailed, "proof does not match the cluster secret")
        }
        guard settings.acceptedRoles.contains(hello.role) else {
            return fail(.roleNotAllowed, "this listener does not accept role \(hello.role.label)")
        }
        guard !hello.memberID.isEmpty, hello.memberID.utf8.count <= 128 else {
            return fail(.invalidArgument, "member id must be 1 to 128 bytes")
        }
        var welcome = Dialer_V1_Welcome()
        welcome.protocolVersion = chosen
        welcome.memberID = settings.localID
        welcome.role = settings.localRole
        welcome.proof = Data(
            settings.secret.welcomeProof(
                serverNonce: serverNonce, clientNonce: Array(hello.clientNonce), version: chosen,
                memberID: settings.localID))
        heartbeatInterval = settings.heartbeatInterval(for: hello.role)
        welcome.heartbeatIntervalMs = UInt32(clamping: heartbeatInterval.totalMilliseconds)
        welcome.missedHeartbeats = UInt32(clamping: missedHeartbeats)
        let peer = PeerIdentity(role: hello.role, memberID: hello.memberID, protocolVersion: chosen)
        state = .established(peer: peer, silentTicks: 0, sequence: 0)
        return .established(peer, reply: Envelope(.welcome(welcome)))
    }

    private mutating func clientReceivedChallenge(_ challenge: Dialer_V1_Challenge, clientNonce: [UInt8]) -> Action {
        let serverRange = challenge.minProtocolVersion...max(challenge.minProtocolVersion, challenge.maxProtocolVersion)
        let chosen = min(serverRange.upperBound, settings.supportedVersions.upperBound)
        guard chosen >= max(serverRange.lowerBound, settings.supportedVersions.lowerBound) else {
            return fail(
                .unsupportedVersion, "server speaks \(serverRange), client speaks \(settings.supportedVersions)")
        }
        guard challenge.serverNonce.count >= 16 else {
            return fail(.authenticationFailed, "server nonce must be at least 16 bytes")
        }
        var hello = Dialer_V1_Hello()
        hello.protocolVersion = chosen
        hello.minProtocolVersion = settings.supportedVersions.lowerBound
        hello.role = settings.localRole
        hello.memberID = settings.localID
        hello.clientNonce = Data(clientNonce)
        hello.software = "swift-dialer/0.1"
        hello.proof = Data(
            settings.secret.helloProof(
                serverNonce: Array(challenge.serverNonce), clientNonce: clientNonce, version: chosen,
                role: settings.localRole, memberID: settings.localID))
        state = .clientAwaitingWelcome(
            serverNonce: Array(challenge.serverNonce), clientNonce: clientNonce, version: chosen, ticks: 0)
        return .send(Envelope(.hello(hello)))
    }
}
