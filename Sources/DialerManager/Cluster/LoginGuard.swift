public import DialerCore
import Metrics

/// The manager's guard on agents' logins: the rate limits (``LoginRateLimiter``, on an injected
/// clock) and the password checks in flight, which it owns.
///
/// A check runs in a task the guard keeps until it ends (the gateway's message loop does not
/// wait for it); the checks themselves run on ``PasswordWork``'s threads, so a burst of logins
/// costs at most two cores and a bounded queue.
public actor LoginGuard {
    private var limiter: LoginRateLimiter
    private let clock: any DialerClock
    private var checks: [UInt64: Task<Void, Never>] = [:]
    private var nextCheck: UInt64 = 0
    private let limited = Counter(label: "dialer_manager_logins_rate_limited_total")

    public init(limiter: LoginRateLimiter = LoginRateLimiter(), clock: any DialerClock = SystemClock()) {
        self.limiter = limiter
        self.clock = clock
    }

    /// What became of a login attempt.
    public enum Verdict: Sendable, Equatable {
        case checked(succeeded: Bool)
        /// Not checked: retry after this long.
        case limited(retryAfter: Duration)
    }

    /// Checks `login` from `address` with `check` (which says whether the password was right),
    /// unless a limit holds; then hands the verdict to `answer`. Returns at once.
    func start(
        login: String, address: String?, check: @escaping @Sendable () async throws -> Bool,
        answer: @escaping @Sendable (Result<Verdict, any Error>) async -> Void
    ) {
        nextCheck += 1
        let id = nextCheck
        checks[id] = Task {
            let verdict: Result<Verdict, any Error>
            do {
                verdict = .success(try await self.verify(login: login, address: address, check: check))
            } catch let busy as PasswordWork.Busy {
                _ = busy
                verdict = .success(.limited(retryAfter: .seconds(1)))
            } catch {
                verdict = .failure(error)
            }
            await answer(verdict)
            self.checkEnded(id)
        }
    }

    /// Checks a login in the caller's task, within the limits.
    func verify(login: String, address: String?, check: @Sendable () async throws -> Bool) async throws -> Verdict {
        if case .limited(let retryAfter, _) = limiter.check(login: login, address: address, at: clock.now()) {
            limited.increment()
            return .limited(retryAfter: retryAfter)
        }
        let succeeded = try await check()
        if succeeded {
            limiter.recordSuccess(login: login)
        } else {
            limiter.recordFailure(login: login, address: address, at: clock.now())
        }
        return .checked(succeeded: succeeded)
    }

    /// Checks in flight (for tests and shutdown).
    var checksInFlight: Int { checks.count }

    /// Cancels the checks in flight (the manager is stopping).
    func stop() {
        for check in checks.values { check.cancel() }
    }

    private func checkEnded(_ id: UInt64) {
        checks[id] = nil
    }
}
