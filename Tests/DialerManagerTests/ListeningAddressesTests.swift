import DialerRuntime
import DialerTestSupport
import Synchronization
import Testing

/// A listener's bound address, as a process registers it (a configured port 0 becomes the port
/// the system chose).
struct ListeningAddressesTests {
    @Test func aWaiterGetsTheAddressOnceItIsBoundAndLaterOnesAtOnce() async throws {
        let fired = Mutex<[String: String]?>(nil)
        let listening = ListeningAddresses(waitingFor: ["http", "cluster"]) { all in fired.withLock { $0 = all } }
        async let waiting = listening.address(of: "http")
        listening.bound("cluster", address: "127.0.0.1:7000")
        listening.bound("http", address: "127.0.0.1:41234")
        #expect(await waiting == "127.0.0.1:41234")
        #expect(await listening.address(of: "http") == "127.0.0.1:41234")
        #expect(fired.withLock { $0 } == ["http": "127.0.0.1:41234", "cluster": "127.0.0.1:7000"])
    }

    @Test func aCancelledWaiterGetsNil() async {
        let listening = ListeningAddresses(waitingFor: ["http"]) { _ in }
        let waiter = Task { await listening.address(of: "http") }
        waiter.cancel()
        #expect(await waiter.value == nil)
        // Cancelled before it waits, too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await listening.address(of: "http")
        }
        #expect(await early.value == nil)
    }
}
