import DialerCore
import DialerSIP
import DialerTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

@Suite("SIPTrunk without a carrier")
struct SIPTrunkTests {
    /// A trunk whose proxy never answers (a UDP port nobody reads).
    func silentTrunk(channels: Int = 2, callsPerSecond: Int = 10) async throws -> SIPTrunk {
        var configuration = trunkConfiguration(proxyPort: try SIPp.freePort())
        configuration.channels = channels
        configuration.callsPerSecond = callsPerSecond
        return try await SIPTrunk.start(configuration: configuration)
    }

    @Test("the channel cap refuses a call beyond it; hanging up frees the channel")
    func channelCap() async throws {
        let trunk = try await silentTrunk(channels: 1)
        let request = OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(30))
        let first = try await trunk.originate(request)
        await #expect(throws: TrunkError.channelCapacityExhausted(channels: 1)) { try await trunk.originate(request) }
        try await trunk.hangUp(first.id)
        #expect(kinds(await events(of: first.progress)) == ["hungUp(node)"])
        let second = try await trunk.originate(request)
        try await trunk.hangUp(second.id)
        await trunk.shutDown()
    }

    @Test("the calls-per-second cap refuses the call beyond it")
    func callsPerSecondCap() async throws {
        let trunk = try await silentTrunk(channels: 10, callsPerSecond: 2)
        let request = OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(30))
        _ = try await trunk.originate(request)
        _ = try await trunk.originate(request)
        await #expect(throws: TrunkError.callsPerSecondExceeded(limit: 2)) { try await trunk.originate(request) }
        await trunk.shutDown()
    }

    @Test("bridging an unanswered call is refused; unknown calls are unknown; a shut trunk is closed")
    func unsupportedAndUnknown() async throws {
        let trunk = try await silentTrunk()
        await #expect(throws: TrunkError.unknownCall(CallID("nope"))) { try await trunk.hangUp(CallID("nope")) }
        let call = try await trunk.originate(
            OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(30)))
        // Not answered: the leg does not allow a bridge yet.
        await #expect(throws: TrunkError.self) { try await trunk.bridge(call.id, to: AgentID("a1")) }
        await trunk.shutDown()
        await #expect(throws: TrunkError.closed) {
            try await trunk.originate(
                OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(30)))
        }
    }

    @Test("an agent's phone must be a sip: URI with a host; the error names the field")
    func agentPhones() async throws {
        let trunk = try await silentTrunk()
        try await trunk.setAgentPhone(AgentID("a1"), to: "sip:1001@127.0.0.1:5062")
        try await trunk.setAgentPhone(AgentID("a1"), to: nil)
        for bad in ["tel:+4512345678", "sip:", "not a uri", "sips:1001@127.0.0.1"] {
            do {
                try await trunk.setAgentPhone(AgentID("a2"), to: bad)
                Issue.record("\(bad) was accepted as a phone")
            } catch {
                #expect(error.field == "phone", "\(bad)")
            }
        }
        await trunk.shutDown()
    }

    /// Lookups that block their thread until released, as a slow DNS server makes getaddrinfo do.
    final class BlockingLookups: @unchecked Sendable {
        private let lock = NSLock()
        private let released = DispatchSemaphore(value: 0)
        private var started = 0
        private var open = false

        var startedCount: Int { lock.withLock { started } }

        func lookup(_ host: String, _ port: Int) throws -> SocketAddress {
            let wait = lock.withLock {
                started += 1
                return !open
            }
            if wait {
                released.wait()
                released.signal()  // one release lets every waiter through
            }
            return try SocketAddress(ipAddress: "127.0.0.1", port: port)
        }

        func release() {
            let first = lock.withLock {
                defer { open = true }
                return !open
            }
            if first { released.signal() }
        }
    }

    @Test("slow lookups of agents' phones stall neither the trunk's actor nor Swift's cooperative pool")
    func slowPhoneLookups() async throws {
        // More blocked lookups than the cooperative pool has threads: if any ran there (or on the
        // actor), the trunk could not answer below.
        let slow = ProcessInfo.processInfo.activeProcessorCount + 2
        let threads = NIOThreadPool(numberOfThreads: slow)
        threads.start()
        let lookups = BlockingLookups()
        defer { lookups.release() }
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: try SIPp.freePort()),
            resolver: ThreadPoolSIPResolver(threadPool: threads, lookup: lookups.lookup))
        let pending = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<slow {
                    group.addTask {
                        try await trunk.setAgentPhone(
                            AgentID("slow\(index)"), to: "sip:10\(index)@phone\(index).test:5062")
                    }
                }
                try await group.waitForAll()
            }
        }
        let blocked = await waitForCondition(timeout: .seconds(10), interval: .milliseconds(5)) {
            lookups.startedCount == slow
        }
        try #require(blocked, "the lookups did not all start: \(lookups.startedCount) of \(slow)")
        // Every lookup holds its thread; the trunk goes on: a literal phone, a call placed and hung up.
        try await trunk.setAgentPhone(AgentID("fast"), to: "sip:2000@127.0.0.1:5070")
        #expect(await trunk.agentPhoneAddress(of: AgentID("fast"))?.port == 5070)
        let call = try await trunk.originate(
            OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(30)))
        try await trunk.hangUp(call.id)
        #expect(kinds(await events(of: call.progress)) == ["hungUp(node)"])
        #expect(await trunk.agentPhoneAddress(of: AgentID("slow0")) == nil, "not looked up yet")
        lookups.release()
        try await pending.value
        for index in 0..<slow {
            #expect(await trunk.agentPhoneAddress(of: AgentID("slow\(index)"))?.port == 5062)
        }
        await trunk.shutDown()
        try await threads.shutdownGracefully()
    }

    @Test("a phone given again during its lookup: the later one stands")
    func laterPhoneWins() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        let lookups = BlockingLookups()
        defer { lookups.release() }
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: try SIPp.freePort()),
            resolver: ThreadPoolSIPResolver(threadPool: threads, lookup: lookups.lookup))
        let first = Task { try await trunk.setAgentPhone(AgentID("a1"), to: "sip:1001@desk.test:5062") }
        let started = await waitForCondition(timeout: .seconds(10), interval: .milliseconds(5)) {
            lookups.startedCount == 1
        }
        try #require(started)
        try await trunk.setAgentPhone(AgentID("a1"), to: "sip:1001@127.0.0.1:5080")
        lookups.release()
        try await first.value
        #expect(await trunk.agentPhoneAddress(of: AgentID("a1"))?.port == 5080)
        await trunk.shutDown()
        try await threads.shutdownGracefully()
    }

    /// Waits (generous deadline) until the trunk's timer sleeps until `deadline`.
    func waitForTimer(_ clock: ManualClock, at deadline: Moment) async throws {
        let armed = await waitForCondition(timeout: .seconds(10), interval: .milliseconds(5)) {
            clock.hasSleeper(until: deadline)
        }
        #expect(armed, "no timer armed for \(deadline)")
    }

    @Test("on a manual clock: an INVITE nobody answers fails at timer B (64·T1 = 32 s)")
    func timerBOnTheTrunk() async throws {
        let clock = ManualClock()
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: try SIPp.freePort()), clock: clock)
        let call = try await trunk.originate(
            OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(60)))
        try await waitForTimer(clock, at: .origin + .milliseconds(500))
        clock.advance(by: .seconds(31))
        try await waitForTimer(clock, at: .origin + .seconds(32))
        clock.advance(by: .seconds(1))
        let seen = await events(of: call.progress)
        #expect(kinds(seen) == ["networkFailure"])
        #expect(seen.first?.moment == .origin + .seconds(32))
        await trunk.shutDown()
    }

    @Test("on a manual clock: the ring timeout ends an unanswered call as no answer")
    func ringTimeoutOnTheTrunk() async throws {
        let clock = ManualClock()
        let trunk = try await SIPTrunk.start(
            configuration: trunkConfiguration(proxyPort: try SIPp.freePort()), clock: clock)
        let call = try await trunk.originate(
            OriginateRequest(number: "+4522222222", callerID: "+4511111111", ringTimeout: .seconds(5)))
        try await waitForTimer(clock, at: .origin + .milliseconds(500))
        clock.advance(by: .seconds(5))
        let seen = await events(of: call.progress)
        #expect(kinds(seen) == ["noAnswer"])
        #expect(seen.first?.moment == .origin + .seconds(5))
        await trunk.shutDown()
    }

    @Test("a configuration out of range is refused naming the field")
    func configurationErrors() {
        var configuration = trunkConfiguration(proxyPort: 5060)
        configuration.channels = 0
        #expect(throws: SIPConfigurationError.self) { try configuration.validate() }
        configuration = trunkConfiguration(proxyPort: 70000)
        #expect { try configuration.validate() } throws: { ($0 as? SIPConfigurationError)?.field == "proxy" }
        configuration = trunkConfiguration(proxyPort: 5060)
        configuration.codecs = [.telephoneEvent]
        #expect { try configuration.validate() } throws: { ($0 as? SIPConfigurationError)?.field == "codecs" }
    }
}

@Suite("SIP dialogs")
struct SIPDialogTests {
    @Test(
        "a caller's dialog from the INVITE and its 2xx: tags, route set reversed, CSeq growing, ACK on the INVITE's CSeq"
    )
    func callerDialog() throws {
        let invite = request("INVITE")
        var ok = response(200, to: invite, toTag: "callee")
        ok.headers.add("Contact", "<sip:callee@198.51.100.9:5080>")
        ok.headers.add("Record-Route", "<sip:p1.example;lr>, <sip:p2.example;lr>")
        var dialog = try #require(SIPDialog.asCaller(invite: invite, response: ok))
        #expect(dialog.localTag == "1")
        #expect(dialog.remoteTag == "callee")
        #expect(dialog.routeSet.map(\.uri.host) == ["p2.example", "p1.example"])
        let via = SIPVia(
            transport: "UDP", host: "192.0.2.10", port: 5060, parameters: [SIPParameter("branch", "z9hG4bKack")])
        let ack = dialog.ack(inviteSequence: 1, via: via)
        #expect(ack.headers.cseq == SIPCSeq(1, "ACK"))
        #expect(ack.uri.host == "198.51.100.9")
        let bye = dialog.request("BYE", via: via, contact: nil)
        #expect(bye.headers.cseq == SIPCSeq(2, "BYE"))
        #expect(bye.headers.values("Route").count == 2)
        #expect(bye.headers.to?.tag == "callee")
        let reinvite = dialog.request(
            "INVITE", via: via, contact: SIPURI(host: "192.0.2.10"), body: [1], contentType: "application/sdp")
        #expect(reinvite.headers.cseq == SIPCSeq(3, "INVITE"))
        // No To tag in the 2xx: no dialog.
        #expect(SIPDialog.asCaller(invite: invite, response: response(200, to: invite, toTag: nil)) == nil)
    }

    @Test("a callee's dialog refuses a request whose CSeq does not grow, and a re-INVITE moves the target")
    func calleeDialog() throws {
        var invite = request("INVITE")
        invite.headers.add("Contact", "<sip:caller@192.0.2.10>")
        var dialog = try #require(SIPDialog.asCallee(invite: invite, localTag: "me"))
        var stale = request("BYE")
        stale.headers.set("CSeq", "1 BYE")
        let staleAccepted = dialog.accept(stale)
        #expect(!staleAccepted)
        var reinvite = request("INVITE")
        reinvite.headers.set("CSeq", "2 INVITE")
        reinvite.headers.add("Contact", "<sip:caller@192.0.2.77>")
        let reinviteAccepted = dialog.accept(reinvite)
        #expect(reinviteAccepted)
        #expect(dialog.remoteTarget.host == "192.0.2.77")
    }
}
