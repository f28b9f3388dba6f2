import DialerCore
import DialerMedia
import DialerTestSupport
import NIOCore
import Testing

private let start = Moment(nanosecondsSinceOrigin: 1_000_000_000)

private func playback(bytes: Int, ptime: Int = 20, burst: Int = 3) throws -> PromptPlayback {
    try PromptPlayback(
        payload: (0..<bytes).map { UInt8(truncatingIfNeeded: $0) }, codec: .muLaw, ssrc: 0xCAFE,
        firstSequence: 65534, firstTimestamp: UInt32.max - 100, ptime: ptime, start: start, maximumBurst: burst)
}

@Suite("Prompt playback as RTP")
struct PromptPlaybackTests {
    @Test func sendsOnePacketPerPtimeWithMarkerSequenceAndTimestamp() throws {
        var player = try playback(bytes: 400)  // 2.5 packets of 160
        #expect(player.packetCount == 3)
        #expect(player.packetsDue(at: start - .milliseconds(1)).isEmpty)
        #expect(player.nextDeadline == start)

        let first = player.packetsDue(at: start)
        #expect(first.count == 1)
        #expect(first[0].marker)
        #expect(first[0].payloadType == 0)
        #expect(first[0].ssrc == 0xCAFE)
        #expect(first[0].sequenceNumber == 65534)
        #expect(first[0].timestamp == UInt32.max - 100)
        #expect(first[0].payload == (0..<160).map { UInt8($0) })
        #expect(player.nextDeadline == start + .milliseconds(20))
        #expect(player.packetsDue(at: start + .milliseconds(19)).isEmpty)

        let second = player.packetsDue(at: start + .milliseconds(20))
        #expect(second.map(\.marker) == [false])
        #expect(second[0].sequenceNumber == 65535)
        #expect(second[0].timestamp == UInt32.max - 100 &+ 160)

        let third = player.packetsDue(at: start + .milliseconds(45))
        #expect(third[0].sequenceNumber == 0)  // wrapped
        #expect(third[0].timestamp == UInt32.max - 100 &+ 320)
        // The short last packet is filled with µ-law silence to a whole ptime.
        #expect(third[0].payload.count == 160)
        #expect(Array(third[0].payload[80...]) == Array(repeating: 0xFF, count: 80))
        #expect(player.isFinished)
        #expect(player.nextDeadline == nil)
        #expect(player.sentPackets == 3)
    }

    @Test func aLateWakeUpSendsABoundedBurstAndSkipsTheRest() throws {
        var player = try playback(bytes: 160 * 10, burst: 3)
        _ = player.packetsDue(at: start)
        // Woken 150 ms late: packets 1...7 are due; 5, 6, 7 go, 1...4 are skipped.
        let burst = player.packetsDue(at: start + .milliseconds(150))
        let sequences: [UInt16] = [3, 4, 5]  // 65534 + 5, wrapped
        #expect(burst.map(\.sequenceNumber) == sequences)
        let timestamps: [UInt32] = [5, 6, 7].map { (UInt32.max - 100) &+ UInt32($0 * 160) }
        #expect(burst.map(\.timestamp) == timestamps)
        #expect(player.skippedPackets == 4)
        #expect(player.sentPackets == 4)
        #expect(player.nextDeadline == start + .milliseconds(160))
    }

    @Test func ptimeSetsThePacketSize() throws {
        var player = try playback(bytes: 480, ptime: 30)
        #expect(player.samplesPerPacket == 240)
        #expect(player.packetsDue(at: start + .milliseconds(30)).map(\.payload.count) == [240, 240])
    }

    @Test func refusesPacketTimesThatAreNotWholeTensTo60() {
        for ptime in [0, 5, 25, 70, -20] {
            #expect(throws: PromptPlaybackError.packetTimeOutOfRange(milliseconds: ptime)) {
                try playback(bytes: 10, ptime: ptime)
            }
        }
        #expect(throws: PromptPlaybackError.burstLimitOutOfRange(0)) { try playback(bytes: 10, burst: 0) }
    }

    @Test func anEmptyPromptIsFinishedAtOnce() throws {
        var player = try playback(bytes: 0)
        #expect(player.isFinished)
        #expect(player.packetsDue(at: start + .seconds(1)).isEmpty)
    }

    @Test func theSenderPlaysOnTheInjectedClocksScheduleOverUDP() async throws {
        let clock = ManualClock(start: start)
        let sender = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let receiver = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let audio = WAVAudio(encoding: .pcm16, samples: Array(repeating: 1000, count: 160 * 5))
        let player = try PromptPlayback(
            payload: audio.payload(for: .aLaw), codec: .aLaw, ssrc: 7, firstSequence: 1, firstTimestamp: 0, start: start
        )
        let playing = Task {
            try await PromptSender.play(player, from: sender, to: receiver.localAddress, clock: clock)
        }
        var iterator = receiver.inbound.makeAsyncIterator()
        var received: [RTPPacket] = []
        for index in 0..<5 {
            // Each packet leaves only once the clock reaches its time.
            let due = start + .milliseconds(Int64(index) * 20)
            try await waitUntil { clock.hasSleeper(until: due) || index == 0 }
            if index > 0 { clock.advance(by: .milliseconds(20)) }
            guard let datagram = await iterator.next() else { break }
            received.append(try RTPPacket(parsing: datagram.bytes))
        }
        let finished = try await playing.value
        #expect(received.map(\.sequenceNumber) == [1, 2, 3, 4, 5])
        #expect(received.map(\.timestamp) == [0, 160, 320, 480, 640])
        #expect(received.map(\.marker) == [true, false, false, false, false])
        #expect(received.allSatisfy { $0.payloadType == 8 && $0.payload.count == 160 })
        #expect(finished.sentPackets == 5)
        await sender.close()
        await receiver.close()
    }
}

/// Waits for `condition` with a generous deadline; fails the test if it never holds.
func waitUntil(
    timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
