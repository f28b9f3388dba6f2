import DialerTestSupport
import Foundation
import Testing

/// The executor behind ``RunnerBench/settle()``: once installed, a settle returns only after
/// every task that could run has run, however many hops between actors that takes.
@Suite("Quiescence executor", .serialized)
struct QuiescenceExecutorTests {
    actor Counter {
        private(set) var value = 0
        func increment() { value += 1 }
    }

    actor Relay {
        let counter: Counter
        init(counter: Counter) { self.counter = counter }
        /// `hops` more hand-offs, each through a new task and both actors.
        func pass(_ hops: Int) {
            guard hops > 0 else { return }
            let counter = counter
            Task {
                await counter.increment()
                self.pass(hops - 1)
            }
        }
    }

    @Test func settleReturnsOnlyWhenEveryHopHasRun() async {
        QuiescenceExecutor.shared.install()
        defer { QuiescenceExecutor.shared.uninstall() }
        for round in 1...5 {
            let counter = Counter()
            let relay = Relay(counter: counter)
            await relay.pass(2_000)
            await QuiescenceExecutor.shared.settle()
            #expect(await counter.value == 2_000, "round \(round)")
        }
    }

    @Test func afterUninstallJobsRunOnTheGlobalExecutorAgain() async {
        QuiescenceExecutor.shared.install()
        QuiescenceExecutor.shared.uninstall()
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 { group.addTask { await counter.increment() } }
        }
        #expect(await counter.value == 100)
        #expect(QuiescenceExecutor.shared.isQuiet)
    }
}
