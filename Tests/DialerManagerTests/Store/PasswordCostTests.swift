import Foundation
import Testing

@testable import DialerManager

#if canImport(Glibc)
import Glibc
#endif

/// The cost of one password check at the default rounds, measured on demand (it takes a core for
/// a while): `DIALER_MEASURE_PASSWORDS=1 swift test -c release --filter PasswordCostTests`.
@Suite("Password hashing cost", .enabled(if: ProcessInfo.processInfo.environment["DIALER_MEASURE_PASSWORDS"] != nil))
struct PasswordCostTests {
    @Test func oneCheckAtTheDefaultRounds() async throws {
        let hasher = PasswordHasher(iterations: PasswordHasher.defaultIterations)
        let stored = try hasher.hash("correct horse battery staple")
        var samples: [Double] = []
        for _ in 0..<5 {
            let (ok, cpu) = try await PasswordWork.shared.run { () throws -> (Bool, Double) in
                let start = Self.threadCPUSeconds()
                let ok = try PasswordHasher.verify("correct horse battery staple", against: stored)
                return (ok, Self.threadCPUSeconds() - start)
            }
            #expect(ok)
            samples.append(cpu)
        }
        samples.sort()
        let line =
            "one PBKDF2-HMAC-SHA256 check at \(PasswordHasher.defaultIterations) rounds: "
            + "median \(Int(samples[2] * 1000)) ms of CPU (min \(Int(samples[0] * 1000)), max \(Int(samples[4] * 1000)))"
        print(line)
    }

    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
