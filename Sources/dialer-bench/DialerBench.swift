import ArgumentParser
import DialerLoad

/// Micro-benchmarks placeholder (filled in below).
@main
struct DialerBench: AsyncParsableCommand {
    func run() async throws {}
}
