import DialerCore
public import DialerProtocol
import DialerTransport
import Foundation
import Logging
import NIOCore
import Synchronization

/// The micro-benchmarks of `dialer-bench`: the frame codec, one real loopback connection, and
/// the reservation book. Each returns rows for a table; a baseline beside a figure gives it a
/// scale (the codec against copying the same bytes, one connection against the codec, the
/// book at 10 agents against many).
public enum MicroBenchmarks {
    /// One line of a benchmark's table.
    public struct Row: Codable, Hashable, Sendable {
        public var benchmark: String
        public var operations: Int
        public var seconds: Double
        /// Operations (frames, grant cycles) per second.
        public var perSecond: Double
        /// Bytes per second, where bytes make sense.
        public var bytesPerSecond: Double?
        /// `perSecond` over the baseline's, when the row has one.
        public var ratioToBaseline: Double?
        public var note: String
        /// CPU time of the whole process (user + system, every thread) per operation, in
        /// microseconds, where measured: unlike `perSecond`, hardly moved by other work on the
        /// machine.
        public var cpuMicrosecondsPerOperation: Double? = nil
    }

    /// User + system CPU seconds this process has used so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// An envelope whose frame (4-byte length + payload) is `frameBytes` long.
    public static func envelope(frameBytes: Int) -> Envelope {
        var disposition = Dialer_V1_AgentDisposition()
        disposition.attempt = "attempt-1"
        var envelope = Envelope(.agentDisposition(disposition), correlationID: 1)
        let base = (try? envelope.serializedBytes() as [UInt8])?.count ?? 0
        // Grow the one text field until the frame has the size (the length varint may grow a byte).
        var padding = max(0, frameBytes - FrameFormat.headerLength - base - 3)
        while true {
            disposition.disposition = String(repeating: "x", count: padding)
            envelope = Envelope(.agentDisposition(disposition), correlationID: 1)
            let size = ((try? envelope.serializedBytes() as [UInt8])?.count ?? 0) + FrameFormat.headerLength
            if size > frameBytes, size - frameBytes < disposition.attempt.count {
                // The text's length prefix grew a byte past the size: shorten the other field.
                disposition.attempt.removeLast(size - frameBytes)
                return Envelope(.agentDisposition(disposition), correlationID: 1)
            }
            if size >= frameBytes || padding > frameBytes { return envelope }
            padding += 1
        }
    }

    // MARK: Frame codec

    /// Encodes and decodes `count` frames of `frameBytes` through ``FrameEncoder`` /
    /// ``FrameDecoder``, beside a baseline that only copies the same bytes in and out of a buffer.
    public static func codec(count: Int, frameBytes: Int = 500) throws -> [Row] {
        let envelope = envelope(frameBytes: frameBytes)
        var buffer = ByteBufferAllocator().buffer(capacity: 4096)
        let start = ContinuousClock.now
        let cpuStart = processCPUSeconds()
        var decoded = 0
        for _ in 0..<count {
            // As the connection does it: each frame serialised into a buffer of its own.
            var frame = try FrameEncoder.frame(envelope, maximumPayload: FrameFormat.defaultMaximumPayload)
            if try FrameDecoder.decodeFrame(from: &frame, maximumPayload: FrameFormat.defaultMaximumPayload) != nil {
                decoded += 1
            }
        }
        let codecSeconds = (ContinuousClock.now - start).seconds
        let codecCPU = processCPUSeconds() - cpuStart
        precondition(decoded == count)

        let bytes = [UInt8](repeating: 0x78, count: frameBytes)
        var copied = 0
        let baselineStart = ContinuousClock.now
        let baselineCPUStart = processCPUSeconds()
        for _ in 0..<count {
            buffer.clear()
            buffer.writeBytes(bytes)
            copied &+= buffer.readBytes(length: frameBytes)?.count ?? 0
        }
        let baselineSeconds = (ContinuousClock.now - baselineStart).seconds
        let baselineCPU = processCPUSeconds() - baselineCPUStart
        precondition(copied == count * frameBytes)

        let codecRate = Double(count) / codecSeconds
        let baselineRate = Double(count) / baselineSeconds
        return [
            Row(
                benchmark: "codec: encode + decode \(frameBytes) B frames", operations: count, seconds: codecSeconds,
                perSecond: codecRate, bytesPerSecond: codecRate * Double(frameBytes),
                ratioToBaseline: codecRate / baselineRate,
                note: "protobuf serialise, length prefix, parse, per frame",
                cpuMicrosecondsPerOperation: codecCPU * 1e6 / Double(count)),
            Row(
                benchmark: "baseline: copy \(frameBytes) B in and out of a buffer", operations: count,
                seconds: baselineSeconds, perSecond: baselineRate, bytesPerSecond: baselineRate * Double(frameBytes),
                ratioToBaseline: 1, note: "ByteBuffer writeBytes + readBytes (the least any codec does)",
                cpuMicrosecondsPerOperation: baselineCPU * 1e6 / Double(count)),
        ]
    }

    // MARK: Queue pictures

    /// A queue's picture as the gateway sends it to the queue's node, for a floor of `agents`
    /// who all serve the queue: a twentieth free, four tenths on a call, a tenth in wrap-up, a
    /// few reserved, the rest not ready (the 10,000-agent scenario's mix, about).
    public static func picture(agents: Int) -> Envelope {
        var picture = Dialer_V1_QueuePictureUpdate()
        picture.lease = Dialer_V1_QueueLease(HeldLease(queue: QueueID("campaign-1"), epoch: Epoch(7)))
        for index in 0..<agents {
            var time = Dialer_V1_AgentTime()
            time.agent = "agent-\(index)"
            time.elapsedMs = UInt32(truncatingIfNeeded: index &* 7919 % 600_000)
            time.rank = 2
            switch index % 100 {
            case 0..<5: picture.available.append(time)
            case 5..<45: picture.onCall.append(time)
            case 45..<55: picture.wrapUp.append(time)
            case 55..<57: picture.reserved.append(time)
            default: picture.notReady += 1
            }
        }
        picture.onCallForQueue = UInt32(clamping: picture.onCall.count)
        picture.wrapUpForQueue = UInt32(clamping: picture.wrapUp.count)
        picture.sequence = 1
        return Envelope(.queuePicture(picture), correlationID: 0)
    }

    /// The largest floor whose picture fits the cluster's default frame limit, with room to spare.
    public static let largestPictureAgents = 50_000

    /// Decodes a queue's picture frame `count` times for each floor size in `agents`, as a
    /// node's connection does on its event loop for every picture: what one picture holds that
    /// loop (and every message behind it on the connection) at each size. Ratios are against the
    /// first size's pictures per second.
    public static func pictures(agents sizes: [Int], count: Int) throws -> [Row] {
        var rows: [Row] = []
        var first: Double?
        for agents in sizes {
            let frame = try FrameEncoder.frame(
                picture(agents: agents), maximumPayload: FrameFormat.defaultMaximumPayload)
            let bytes = frame.readableBytes
            let start = ContinuousClock.now
            let cpuStart = processCPUSeconds()
            var decoded = 0
            for _ in 0..<count {
                var copy = frame
                if case .queuePicture? = try FrameDecoder.decodeFrame(
                    from: &copy, maximumPayload: FrameFormat.defaultMaximumPayload)?.message
                {
                    decoded += 1
                }
            }
            let seconds = (ContinuousClock.now - start).seconds
            let cpu = processCPUSeconds() - cpuStart
            guard decoded == count else {
                throw LoadTestError("\(count - decoded) of \(count) picture frames did not decode as a picture")
            }
            let rate = Double(count) / seconds
            if first == nil { first = rate }
            rows.append(
                Row(
                    benchmark: "picture of \(agents) agents: decode (\(bytes) B)", operations: count,
                    seconds: seconds, perSecond: rate, bytesPerSecond: rate * Double(bytes),
                    ratioToBaseline: first.map { rate / $0 },
                    note: String(format: "%.3f ms a picture", seconds * 1000 / Double(count)),
                    cpuMicrosecondsPerOperation: cpu * 1e6 / Double(count)))
        }
        return rows
    }

    // MARK: One connection

    /// Pushes `count` frames of `frameBytes` one way over one authenticated loopback cluster
    /// connection (ClusterServer ← ClusterClient, the product's pipeline), counting them at
    /// the receiver; twice: awaiting each write (back-pressure), and writing without waiting
    /// with at most `window` frames in flight.
    public static func connection(count: Int, frameBytes: Int = 500, window: Int = 20_000) async throws -> [Row] {
        let secret = ClusterSecret("bench-\(UInt64.random(in: 0...UInt64.max))")
        let serverSettings = ConnectionSettings(
            localID: "bench-gateway", localRole: .gateway, secret: secret, acceptedRoles: [.node])
        let clientSettings = ConnectionSettings(localID: "bench-node", localRole: .node, secret: secret)
        // Violations either side finds are logged (stderr), so a dropped connection says why.
        let violations = ViolationLog(logger: Logger(label: "dialer-bench"))
        let server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0, settings: serverSettings, violationLog: violations)
        let received = FrameCounter()
        let serverTask = Task {
            try await server.run { connection in
                _ = try? await connection.run { _, inbound in
                    try await inbound.forEach { _ in received.count.add(1, ordering: .relaxed) }
                }
            }
        }
        defer { serverTask.cancel() }
        let envelope = envelope(frameBytes: frameBytes)
        let client = try await ClusterClient.connect(
            host: "127.0.0.1", port: server.port, settings: clientSettings, violationLog: violations)
        let rows = try await client.run { link, inbound in
            // The sender reads too: a dropped connection ends this loop, and the benchmark
            // fails with a message instead of waiting for frames that will never come.
            let reader = Task {
                try? await inbound.forEach { _ in }
                received.closed.store(true, ordering: .releasing)
            }
            defer { reader.cancel() }
            func waitFor(_ total: Int) async throws {
                var seen = received.count.load(ordering: .relaxed)
                var lastProgress = ContinuousClock.now
                while seen < total {
                    if received.closed.load(ordering: .acquiring) {
                        throw LoadTestError(
                            "the connection dropped: \(seen) of \(total) frames counted at the receiver")
                    }
                    try await Task.sleep(for: .microseconds(100))
                    let now = received.count.load(ordering: .relaxed)
                    if now != seen {
                        seen = now
                        lastProgress = .now
                    } else if ContinuousClock.now - lastProgress > .seconds(10) {
                        throw LoadTestError("no frame arrived for 10 s: \(seen) of \(total) frames counted")
                    }
                }
            }
            var rows: [Row] = []
            // Awaited writes: the channel's writability paces the sender.
            var start = ContinuousClock.now
            var cpuStart = processCPUSeconds()
            for index in 0..<count {
                do {
                    try await link.send(envelope)
                } catch {
                    throw LoadTestError(
                        "the connection dropped after \(index) awaited sends (\(error)): "
                            + "\(received.count.load(ordering: .relaxed)) frames counted at the receiver")
                }
            }
            try await waitFor(count)
            var seconds = (ContinuousClock.now - start).seconds
            rows.append(
                Row(
                    benchmark: "one connection: awaited send, \(frameBytes) B frames", operations: count,
                    seconds: seconds, perSecond: Double(count) / seconds,
                    bytesPerSecond: Double(count * frameBytes) / seconds, ratioToBaseline: nil,
                    note: "ClusterLink.send per frame, counted at the receiving side",
                    cpuMicrosecondsPerOperation: (processCPUSeconds() - cpuStart) * 1e6 / Double(count)))
            // Unawaited writes, a bounded window in flight.
            start = ContinuousClock.now
            cpuStart = processCPUSeconds()
            for index in 0..<count {
                link.sendNow(envelope)
                if index % 1000 == 999 { try await waitFor(count + index + 1 - window) }
            }
            try await waitFor(2 * count)
            seconds = (ContinuousClock.now - start).seconds
            rows.append(
                Row(
                    benchmark: "one connection: sendNow, \(frameBytes) B frames", operations: count, seconds: seconds,
                    perSecond: Double(count) / seconds, bytesPerSecond: Double(count * frameBytes) / seconds,
                    ratioToBaseline: nil,
                    note: "ClusterLink.sendNow (queued, written in bursts), at most \(window) frames in flight",
                    cpuMicrosecondsPerOperation: (processCPUSeconds() - cpuStart) * 1e6 / Double(count)))
            return rows
        }
        await server.close()
        return rows
    }

    // MARK: Reservation book

    /// Grant cycles through a ``ReservationBook`` with `agents` agents ready: request → grant →
    /// confirm → call ended (wrap-up) → wrap-up finished (the agent is available again).
    public static func reservationBook(agents: Int, cycles: Int) throws -> Row {
        var book = ReservationBook()
        let queue = QueueID("sales")
        let node = MemberID("node-1")
        let epoch = Epoch(1)
        var now = Moment.origin
        for index in 0..<agents {
            let agent = AgentID("agent-\(index)")
            _ = try book.logIn(agent, skills: AgentSkills([queue: 1]), now: now)
            _ = try book.makeReady(agent, now: now)
        }
        let requests = (0..<cycles).map { RequestID("r-\($0)") }
        let start = ContinuousClock.now
        for id in requests {
            now += .milliseconds(1)
            let request = ReservationRequest(
                id: id, queue: queue, epoch: epoch, node: node, kind: .connectAnsweredCall,
                deadline: now + .seconds(2))
            var granted: AgentID?
            for action in try book.request(request, now: now) {
                if case .granted(let grant) = action { granted = grant.agent }
            }
            guard let agent = granted else { throw LoadTestError("the book granted no agent to \(id)") }
            _ = try book.confirm(id, epoch: epoch, now: now)
            _ = try book.callEnded(id, now: now)
            _ = try book.finishWrapUp(agent, now: now)
        }
        let seconds = (ContinuousClock.now - start).seconds
        return Row(
            benchmark: "reservation book: \(agents) agents", operations: cycles, seconds: seconds,
            perSecond: Double(cycles) / seconds, bytesPerSecond: nil, ratioToBaseline: nil,
            note: "request, grant, confirm, call end, wrap-up end per cycle")
    }

    /// The book at each size in `agents`, each row's ratio against the first.
    public static func reservationBook(agents: [Int], cycles: Int) throws -> [Row] {
        var rows = try agents.map { try reservationBook(agents: $0, cycles: cycles) }
        if let base = rows.first?.perSecond {
            for index in rows.indices { rows[index].ratioToBaseline = rows[index].perSecond / base }
        }
        return rows
    }

    /// Rows as a text table.
    public static func table(_ rows: [Row]) -> String {
        func number(_ value: Double) -> String {
            switch value {
            case 1e9...: String(format: "%.2f G", value / 1e9)
            case 1e6...: String(format: "%.2f M", value / 1e6)
            case 1e3...: String(format: "%.1f k", value / 1e3)
            default: String(format: "%.1f", value)
            }
        }
        let width = max(10, rows.map(\.benchmark.count).max() ?? 0)
        var text =
            "benchmark".padding(toLength: width + 2, withPad: " ", startingAt: 0)
            + "ops        seconds   per second   bytes/s     ratio   cpu µs/op\n"
        for row in rows {
            text += row.benchmark.padding(toLength: width + 2, withPad: " ", startingAt: 0)
            text += String(row.operations).padding(toLength: 11, withPad: " ", startingAt: 0)
            text += String(format: "%-10.3f", row.seconds)
            text += number(row.perSecond).padding(toLength: 13, withPad: " ", startingAt: 0)
            text += (row.bytesPerSecond.map { number($0) + "B" } ?? "-").padding(
                toLength: 12, withPad: " ", startingAt: 0)
            text += (row.ratioToBaseline.map { String(format: "%.3f", $0) } ?? "-").padding(
                toLength: 8, withPad: " ", startingAt: 0)
            text += row.cpuMicrosecondsPerOperation.map { String(format: "%.2f", $0) } ?? "-"
            text += "\n"
        }
        return text
    }
}

/// Frames counted by the receiving side of the connection benchmark.
private final class FrameCounter: Sendable {
    let count = Atomic<Int>(0)
    /// The sender's side of the connection closed.
    let closed = Atomic<Bool>(false)
}
