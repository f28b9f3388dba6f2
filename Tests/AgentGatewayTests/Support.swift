import DialerCore
import DialerProtocol
import DialerTransport
import Logging
import Synchronization
import Testing

@testable import AgentGateway

let testLogger = Logger(label: "gateway-test") { _ in SwiftLogNoOpLogHandler() }

/// An envelope sink that records what it is given, for tests to wait on.
final class RecordingSink: EnvelopeSink {
    private let state = Mutex<
        (
            received: [Envelope],
            waiters: [(UInt64, @Sendable (Envelope) -> Bool, CheckedContinuation<Envelope?, Never>)], next: UInt64
        )
    >(([], [], 0))

    func deliver(_ envelope: Envelope) {
        let waiter = state.withLock { state -> CheckedContinuation<Envelope?, Never>? in
            if let index = state.waiters.firstIndex(where: { $0.1(envelope) }) {
                return state.waiters.remove(at: index).2
            }
            state.received.append(envelope)
            return nil
        }
        waiter?.resume(returning: envelope)
    }

    /// Everything received and not yet taken by ``next(timeout:where:)``.
    var received: [Envelope] { state.withLock { $0.received } }

    /// Takes the first envelope matching `predicate`, waiting for it up to `timeout`.
    func next(
        timeout: Duration = .seconds(5),
        where predicate: @escaping @Sendable (Envelope) -> Bool = { _ in true }
    ) async -> Envelope? {
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = self.state.withLock { state -> CheckedContinuation<Envelope?, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.0 == id }) else { return nil }
                return state.waiters.remove(at: index).2
            }
            waiter?.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let found = state.withLock { state -> Envelope? in
                if let index = state.received.firstIndex(where: predicate) {
                    return state.received.remove(at: index)
                }
                state.waiters.append((id, predicate, continuation))
                return nil
            }
            if let found { continuation.resume(returning: found) }
        }
    }
}

/// Credentials and dispositions without a manager.
final class FakeAuthority: AgentAuthority {
    private let state = Mutex<
        (agents: [String: (String, DirectoryEntry)], dispositions: [Dialer_V1_DispositionReport])
    >(
        ([:], []))

    func add(_ entry: DirectoryEntry, password: String) {
        state.withLock { $0.agents[entry.login] = (password, entry) }
    }

    var dispositions: [Dialer_V1_DispositionReport] { state.withLock { $0.dispositions } }

    func authenticate(login: String, password: String, clientAddress: String?) async throws(OperationRefused)
        -> AuthenticatedAgent?
    {
        state.withLock { state in
            guard let (stored, entry) = state.agents[login], stored == password else { return nil }
            return AuthenticatedAgent(entry: entry)
        }
    }

    func reportDisposition(_ report: Dialer_V1_DispositionReport) async throws(OperationRefused) {
        guard report.disposition == "sale" else {
            throw OperationRefused(.notFound, "no disposition \(report.disposition)")
        }
        state.withLock { $0.dispositions.append(report) }
    }
}

extension Envelope {
    var answer: Dialer_V1_AgentRequestAnswer? {
        if case .agentRequestAnswer(let answer) = message { return answer }
        return nil
    }

    var status: Dialer_V1_AgentStatus? {
        switch message {
        case .agentStatus(let status): return status
        case .agentAck(let ack): return ack.status
        case .agentLoggedIn(let loggedIn): return loggedIn.status
        default: return nil
        }
    }

    var errorCode: ProtocolErrorCode? {
        if case .error(let error) = message { return error.code }
        return nil
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

func request(
    _ id: String, queue: String = "sales", epoch: UInt64 = 1, node: String = "node-1",
    kind: RequestKind = .outboundReservation, deadline: Moment
) -> ReservationRequest {
    ReservationRequest(
        id: RequestID(id), queue: QueueID(queue), epoch: Epoch(epoch), node: MemberID(node), kind: kind,
        deadline: deadline)
}
