/// How often logins may fail, per login and per client address: a value type, on the clock
/// it is given, with no I/O.
///
/// Each login and each address has a bucket of `attempts` failures that refills evenly over
/// `period`. A login attempt is checked before the password is (the check is what costs: PBKDF2
/// at 600,000 rounds); only a failure takes from the buckets, so that an office whose agents all
/// log in at the start of a shift from one address is not held back. A success empties the
/// login's record.
public struct LoginRateLimiter: Sendable {
    /// A budget of failures.
    public struct Rule: Sendable, Hashable {
        /// Failures allowed in a burst.
        public var attempts: Int
        /// The time over which the whole burst comes back.
        public var period: Duration

        public init(attempts: Int, period: Duration) {
            self.attempts = max(1, attempts)
            self.period = max(.milliseconds(1), period)
        }
    }

    /// What the limiter says of an attempt.
    public enum Decision: Sendable, Hashable {
        case allowed
        /// Refused without checking the password; the next attempt may be made after
        /// `retryAfter`.
        case limited(retryAfter: Duration, by: Limit)
    }

    /// Which budget ran out.
    public enum Limit: String, Sendable, Hashable {
        case login
        case address
    }

    private struct Bucket {
        var tokens: Double
        var updated: Moment
    }

    public var perLogin: Rule
    public var perAddress: Rule
    /// Logins and addresses remembered at most, each; beyond it full buckets are forgotten
    /// first, then the oldest, so that a flood of invented logins cannot grow the memory.
    public var maximumTracked: Int
    private var logins: [String: Bucket] = [:]
    private var addresses: [String: Bucket] = [:]

    public init(
        perLogin: Rule = Rule(attempts: 5, period: .seconds(60)),
        perAddress: Rule = Rule(attempts: 50, period: .seconds(60)), maximumTracked: Int = 10_000
    ) {
        self.perLogin = perLogin
        self.perAddress = perAddress
        self.maximumTracked = max(1, maximumTracked)
    }

    /// Whether an attempt for `login` from `address` (`nil`: unknown) may be checked now.
    public func check(login: String, address: String?, at now: Moment) -> Decision {
        var wait: (Duration, Limit)?
        if let bucket = logins[Self.key(login)] {
            let tokens = Self.refilled(bucket, rule: perLogin, at: now)
            if tokens < 1 { wait = (Self.timeToOne(tokens, rule: perLogin), .login) }
        }
        if let address, let bucket = addresses[address] {
            let tokens = Self.refilled(bucket, rule: perAddress, at: now)
            if tokens < 1 {
                let addressWait = Self.timeToOne(tokens, rule: perAddress)
                if wait.map({ addressWait > $0.0 }) ?? true { wait = (addressWait, .address) }
            }
        }
        guard let wait else { return .allowed }
        return .limited(retryAfter: wait.0, by: wait.1)
    }

    /// A wrong password or an unknown login: takes one from both budgets.
    public mutating func recordFailure(login: String, address: String?, at now: Moment) {
        Self.take(from: &logins, Self.key(login), rule: perLogin, at: now, limit: maximumTracked)
        if let address { Self.take(from: &addresses, address, rule: perAddress, at: now, limit: maximumTracked) }
    }

    /// The login succeeded: its failures are forgotten (its address's are not).
    public mutating func recordSuccess(login: String) {
        logins[Self.key(login)] = nil
    }

    /// Logins and addresses remembered now.
    public var trackedCount: (logins: Int, addresses: Int) { (logins.count, addresses.count) }

    /// Logins compare without case, as the store's do.
    private static func key(_ login: String) -> String { login.lowercased() }

    private static func refilled(_ bucket: Bucket, rule: Rule, at now: Moment) -> Double {
        let elapsed = max(.zero, now - bucket.updated)
        let perToken = rule.period / rule.attempts
        let gained = Double(elapsed.totalNanoseconds) / Double(max(1, perToken.totalNanoseconds))
        return min(Double(rule.attempts), bucket.tokens + gained)
    }

    private static func timeToOne(_ tokens: Double, rule: Rule) -> Duration {
        let perToken = Double((rule.period / rule.attempts).totalNanoseconds)
        return .nanoseconds(Int64(((1 - tokens) * perToken).rounded(.up)))
    }

    private static func take(
        from buckets: inout [String: Bucket], _ key: String, rule: Rule, at now: Moment, limit: Int
    ) {
        let current = buckets[key].map { refilled($0, rule: rule, at: now) } ?? Double(rule.attempts)
        buckets[key] = Bucket(tokens: max(0, current - 1), updated: now)
        guard buckets.count > limit else { return }
        // Full buckets say nothing a missing one does not. Then the oldest go, down to 90 % of
        // the limit, so that pruning is rare under a flood.
        buckets = buckets.filter { refilled($0.value, rule: rule, at: now) < Double(rule.attempts) }
        let keep = max(1, limit - limit / 10)
        if buckets.count > keep {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count - keep)
            for (key, _) in oldest { buckets[key] = nil }
        }
    }
}
