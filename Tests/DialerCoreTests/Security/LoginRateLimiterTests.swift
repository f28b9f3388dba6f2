import DialerCore
import Testing

@Suite("Login rate limiter")
struct LoginRateLimiterTests {
    private let start = Moment.origin + .seconds(1_000)

    @Test func failuresOfOneLoginAreLimitedAndComeBackOverThePeriod() {
        var limiter = LoginRateLimiter(
            perLogin: .init(attempts: 3, period: .seconds(30)), perAddress: .init(attempts: 100, period: .seconds(60)))
        for _ in 0..<3 {
            #expect(limiter.check(login: "Ann", address: "10.0.0.1", at: start) == .allowed)
            limiter.recordFailure(login: "Ann", address: "10.0.0.1", at: start)
        }
        // Logins compare without case; a failure comes back every 10 s.
        #expect(
            limiter.check(login: "ann", address: "10.0.0.2", at: start)
                == .limited(retryAfter: .seconds(10), by: .login))
        #expect(
            limiter.check(login: "ann", address: nil, at: start + .seconds(4))
                == .limited(retryAfter: .seconds(6), by: .login))
        #expect(limiter.check(login: "ann", address: nil, at: start + .seconds(10)) == .allowed)
        // Another agent is not held back.
        #expect(limiter.check(login: "bob", address: "10.0.0.1", at: start) == .allowed)
    }

    @Test func aSuccessForgetsTheLoginsFailuresButNotTheAddresss() {
        var limiter = LoginRateLimiter(
            perLogin: .init(attempts: 2, period: .seconds(60)), perAddress: .init(attempts: 2, period: .seconds(60)))
        limiter.recordFailure(login: "ann", address: "10.0.0.1", at: start)
        limiter.recordSuccess(login: "ann")
        limiter.recordFailure(login: "ann", address: "10.0.0.1", at: start)
        #expect(limiter.check(login: "ann", address: "10.0.0.9", at: start) == .allowed)
        #expect(
            limiter.check(login: "carl", address: "10.0.0.1", at: start)
                == .limited(retryAfter: .seconds(30), by: .address))
    }

    @Test func guessingManyLoginsFromOneAddressIsLimitedByTheAddress() {
        var limiter = LoginRateLimiter(
            perLogin: .init(attempts: 5, period: .seconds(60)), perAddress: .init(attempts: 10, period: .seconds(60)))
        var refused = 0
        for index in 0..<50 {
            if case .limited(_, .address) = limiter.check(login: "agent-\(index)", address: "203.0.113.7", at: start) {
                refused += 1
            } else {
                limiter.recordFailure(login: "agent-\(index)", address: "203.0.113.7", at: start)
            }
        }
        #expect(refused == 40)
    }

    @Test func memoryIsBoundedUnderAFloodOfInventedLogins() {
        var limiter = LoginRateLimiter(maximumTracked: 100)
        for index in 0..<5_000 {
            limiter.recordFailure(
                login: "nobody-\(index)", address: "198.51.100.\(index % 250)", at: start + .milliseconds(Int64(index)))
        }
        #expect(limiter.trackedCount.logins <= 100)
        #expect(limiter.trackedCount.addresses <= 100)
    }
}
