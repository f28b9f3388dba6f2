import DialerProtocol
import DialerTestSupport
import NIOCore
import NIOEmbedded
import Testing

@testable import DialerTransport

@Suite("Outbound gate")
struct OutboundGateTests {
    private func frame(_ bytes: Int) -> ByteBuffer {
        ByteBuffer(repeating: 0x61, count: bytes)
    }

    // MARK: The state, without I/O

    @Test func theFirstFrameAsksForADrainAndTheDrainTakesTheBurst() {
        var gate = OutboundGateState<Int>(pendingLimit: 1000)
        guard case .queued(drain: true, wait: false) = gate.submit(frame(10)) else {
            Issue.record("the first frame must ask for a drain")
            return
        }
        guard case .queued(drain: false, wait: false) = gate.submit(frame(20)) else {
            Issue.record("a drain is already asked for")
            return
        }
        let (frames, wake) = gate.takePending(channelWritable: true)
        #expect(frames?.readableBytes == 30, "one buffer for the burst")
        #expect(wake.isEmpty)
        guard case .queued(drain: true, _) = gate.submit(frame(5)) else {
            Issue.record("after a drain, the next frame asks for another")
            return
        }
    }

    @Test func sendersWaitWhileTheChannelIsNotWritableAndWakeWhenItIs() {
        var gate = OutboundGateState<Int>(pendingLimit: 1000)
        _ = gate.writabilityChanged(false)
        guard case .queued(_, wait: true) = gate.submit(frame(10)) else {
            Issue.record("a sender must wait while the channel is not writable")
            return
        }
        let parkedFirst = gate.park(1, 101)
        #expect(parkedFirst)
        guard case .queued(_, wait: true) = gate.submit(frame(10)) else {
            Issue.record("a second sender must wait too")
            return
        }
        let parkedSecond = gate.park(2, 102)
        #expect(parkedSecond)
        // A drain while still not writable wakes no one.
        let drained = gate.takePending(channelWritable: false)
        #expect(drained.wake.isEmpty)
        let woken = gate.writabilityChanged(true)
        #expect(woken == [101, 102])
        #expect(gate.waiters.isEmpty)
    }

    @Test func sendersWaitWhileTheEventLoopHasNotTakenTheLimit() {
        var gate = OutboundGateState<Int>(pendingLimit: 100)
        guard case .queued(_, wait: false) = gate.submit(frame(60)) else {
            Issue.record("under the limit a sender goes on")
            return
        }
        guard case .queued(_, wait: true) = gate.submit(frame(60)) else {
            Issue.record("over the limit of pending bytes a sender waits")
            return
        }
        let parked = gate.park(1, 7)
        #expect(parked)
        // The channel stays writable; the drain opens the gate.
        let drained = gate.takePending(channelWritable: true)
        #expect(drained.wake == [7])
    }

    @Test func aSenderThatFindsTheGateOpenAgainDoesNotPark() {
        var gate = OutboundGateState<Int>(pendingLimit: 1000)
        _ = gate.writabilityChanged(false)
        _ = gate.submit(frame(10))
        _ = gate.writabilityChanged(true)
        let parked = gate.park(1, 1)
        #expect(!parked, "the gate opened between the submit and the park")
    }

    @Test func closingWakesEveryoneAndRefusesMore() {
        var gate = OutboundGateState<Int>(pendingLimit: 1000)
        _ = gate.writabilityChanged(false)
        _ = gate.submit(frame(10))
        let parked = gate.park(1, 1)
        #expect(parked)
        let woken = gate.close()
        #expect(woken == [1])
        #expect(gate.pending == nil, "what waited is let go")
        guard case .closed = gate.submit(frame(10)) else {
            Issue.record("a closed gate takes nothing")
            return
        }
        let parkedAfterClose = gate.park(2, 2)
        #expect(!parkedAfterClose)
    }

    @Test func aCancelledSenderIsTakenOut() {
        var gate = OutboundGateState<Int>(pendingLimit: 1000)
        _ = gate.writabilityChanged(false)
        _ = gate.submit(frame(10))
        let parked = [gate.park(1, 11), gate.park(2, 12)]
        #expect(parked == [true, true])
        let unparked = [gate.unpark(1), gate.unpark(1)]
        #expect(unparked == [11, nil])
        let woken = gate.writabilityChanged(true)
        #expect(woken == [12])
    }

    // MARK: On a channel

    @Test func anAwaitedSendSuspendsWhileTheChannelIsNotWritable() async throws {
        let pair = try await AsyncPair()
        let beat = Envelope(.heartbeat(Dialer_V1_Heartbeat()), correlationID: 0)
        // Writable: the send returns, and its frame reaches the socket.
        try await pair.serverGate.send(beat)
        #expect(try await pair.server.readOutbound(as: ByteBuffer.self) != nil)

        pair.server.isWritable = false
        try await pair.server.testingEventLoop.executeInContext {
            pair.server.pipeline.fireChannelWritabilityChanged()
        }
        let sender = Task { try await pair.serverGate.send(beat) }
        let parked = await waitForCondition(timeout: .seconds(20), interval: .milliseconds(5)) {
            pair.serverGate.parkedSenders == 1
        }
        #expect(parked, "the send waits while the channel is not writable")

        pair.server.isWritable = true
        try await pair.server.testingEventLoop.executeInContext {
            pair.server.pipeline.fireChannelWritabilityChanged()
        }
        try await sender.value
        #expect(pair.serverGate.parkedSenders == 0)
    }

    @Test func aSendWaitingWhenTheConnectionClosesFails() async throws {
        let pair = try await AsyncPair()
        pair.server.isWritable = false
        try await pair.server.testingEventLoop.executeInContext {
            pair.server.pipeline.fireChannelWritabilityChanged()
        }
        let beat = Envelope(.heartbeat(Dialer_V1_Heartbeat()), correlationID: 0)
        let sender = Task { try await pair.serverGate.send(beat) }
        let parked = await waitForCondition(timeout: .seconds(20), interval: .milliseconds(5)) {
            pair.serverGate.parkedSenders == 1
        }
        #expect(parked)
        try await pair.server.close()
        await #expect(throws: ConnectionClosed.self) { try await sender.value }
        await #expect(throws: ConnectionClosed.self) { try await pair.serverGate.send(beat) }
    }

    @Test func aCancelledWaitingSendThrowsCancellation() async throws {
        let pair = try await AsyncPair()
        pair.server.isWritable = false
        try await pair.server.testingEventLoop.executeInContext {
            pair.server.pipeline.fireChannelWritabilityChanged()
        }
        let beat = Envelope(.heartbeat(Dialer_V1_Heartbeat()), correlationID: 0)
        let sender = Task { try await pair.serverGate.send(beat) }
        let parked = await waitForCondition(timeout: .seconds(20), interval: .milliseconds(5)) {
            pair.serverGate.parkedSenders == 1
        }
        #expect(parked)
        sender.cancel()
        await #expect(throws: CancellationError.self) { try await sender.value }
        #expect(pair.serverGate.parkedSenders == 0)
    }
}

/// Two connection pipelines on async testing channels (safe to use from tasks), established.
struct AsyncPair {
    let server: NIOAsyncTestingChannel
    let client: NIOAsyncTestingChannel
    let serverGate: OutboundGate

    init() async throws {
        let loop = NIOAsyncTestingEventLoop()
        server = NIOAsyncTestingChannel(loop: loop)
        client = NIOAsyncTestingChannel(loop: loop)
        let serverSettings = settings(id: "gateway", role: .gateway)
        let clientSettings = settings(id: "node-1", role: .node)
        let (server, client) = (server, client)
        let (gate, serverHandshake) = try await loop.executeInContext {
            func add(
                _ channel: NIOAsyncTestingChannel, _ settings: ConnectionSettings, _ side: ConnectionStateMachine.Side
            )
                throws -> (OutboundGate?, EventLoopFuture<PeerIdentity>)
            {
                let promise = loop.makePromise(of: PeerIdentity.self)
                let handler = ClusterConnectionHandler(
                    settings: settings, side: side, handshakePromise: promise, violationLog: nil)
                let operations = channel.pipeline.syncOperations
                try operations.addHandler(ByteToMessageHandler(FrameDecoder(maximumPayload: settings.maximumPayload)))
                try operations.addHandler(handler)
                return (handler.gate, promise.futureResult)
            }
            let (gate, handshake) = try add(server, serverSettings, .server)
            _ = try add(client, clientSettings, .client(nonce: ClusterConnectionHandler.randomNonce()))
            return (gate, handshake)
        }
        serverGate = try #require(gate)
        try await server.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1))
        try await client.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 2))
        // The handshake: challenge, hello, welcome.
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(server, client), (client, server)] {
                while let bytes = try await from.readOutbound(as: ByteBuffer.self) {
                    moved = true
                    try await to.writeInbound(bytes)
                }
            }
        }
        _ = try await serverHandshake.get()
        // Inbound messages are not this test's business.
        while try await server.readInbound(as: Envelope.self) != nil {}
    }
}
