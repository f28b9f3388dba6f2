import FoundationEssentials
public import Logging
import Synchronization

/// Collects the addresses a process's listeners actually bound, and fires once all of them
/// are known (used to write the ready file after the HTTP server and the cluster listener
/// are both up).
public final class ListeningAddresses: Sendable {
    private struct State {
        var expected: Set<String>
        var addresses: [String: String] = [:]
        var fired = false
        /// Tasks waiting in ``address(of:)``, by listener and waiter number.
        var waiters: [String: [UInt64: CheckedContinuation<String?, Never>]] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>
    private let onAllBound: @Sendable ([String: String]) -> Void

    /// - Parameters:
    ///   - names: the listeners to wait for, e.g. `["http", "cluster"]`.
    ///   - onAllBound: called once with name → `host:port` when every listener reported.
    public init(waitingFor names: Set<String>, onAllBound: @escaping @Sendable ([String: String]) -> Void) {
        self.state = Mutex(State(expected: names))
        self.onAllBound = onAllBound
    }

    /// Reports one listener's bound `host:port`.
    public func bound(_ name: String, address: String) {
        let (complete, waiting): ([String: String]?, [CheckedContinuation<String?, Never>]) = state.withLock { state in
            state.addresses[name] = address
            let waiting = Array((state.waiters.removeValue(forKey: name) ?? [:]).values)
            guard !state.fired, state.expected.isSubset(of: state.addresses.keys) else { return (nil, waiting) }
            state.fired = true
            return (state.addresses, waiting)
        }
        for waiter in waiting { waiter.resume(returning: address) }
        if let complete { onAllBound(complete) }
    }

    /// The `host:port` one listener bound, once it reported it: what a process tells others to
    /// reach it at (a configured port 0 becomes the port the system chose). `nil` when the
    /// waiting task is cancelled first.
    public func address(of name: String) async -> String? {
        let number = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let known: String?? = state.withLock { state in
                    if let address = state.addresses[name] { return .some(address) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[name, default: [:]][number] = continuation
                    return .none
                }
                if let known { continuation.resume(returning: known) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters[name]?.removeValue(forKey: number) }
            waiter?.resume(returning: nil)
        }
    }

    /// Waits for `names`, then logs the addresses and, when `readyFile` is set, writes them there
    /// for whoever started the process.
    public static func announcing(
        _ names: Set<String>, role: String, id: String, readyFile: String?, logger: Logger
    ) -> ListeningAddresses {
        ListeningAddresses(waitingFor: names) { addresses in
            logger.notice(
                "listening", metadata: addresses.reduce(into: [:]) { $0[$1.key] = "\($1.value)" })
            guard let readyFile else { return }
            let file = ReadyFile(
                role: role, id: id, pid: Int32(ProcessInfo.processInfo.processIdentifier),
                clusterAddress: addresses["cluster"], httpAddress: addresses["http"] ?? "")
            do {
                try file.write(to: readyFile)
            } catch {
                logger.error("cannot write the ready file", metadata: ["path": "\(readyFile)", "error": "\(error)"])
            }
        }
    }

    /// Formats a NIO socket address as `host:port`.
    public static func describe(host: String, port: Int?) -> String {
        host.contains(":") ? "[\(host)]:\(port ?? 0)" : "\(host):\(port ?? 0)"
    }
}
