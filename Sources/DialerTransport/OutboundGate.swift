import DialerProtocol
import NIOCore
import Synchronization

/// What stands between the tasks that send on a connection and the event loop that writes, as
/// a value type: frames in, drains and wake-ups out.
///
/// Senders append encoded frames to one pending buffer; the first frame into an empty buffer
/// asks for one drain, which takes everything pending at once (one write and one flush for a
/// burst of frames). A sender must wait after its frame while the gate is closed: the channel is
/// not writable (the peer has not taken the high water), or the pending bytes are over the
/// limit (the event loop has not caught up). Each sender waits with its frame already queued,
/// so what is buffered stays within the high water, the limit, and one frame per sender.
struct OutboundGateState<Waiter> {
    /// What a sender does after handing in its frame.
    enum Submitted {
        /// The connection is closed: the frame was dropped.
        case closed
        /// The frame is queued; `drain`: ask the event loop for a drain; `wait`: the gate is
        /// closed, wait for ``writabilityChanged(_:)`` or ``takePending()`` to wake you.
        case queued(drain: Bool, wait: Bool)
    }

    let pendingLimit: Int
    private(set) var pending: ByteBuffer?
    private(set) var drainRequested = false
    private(set) var channelWritable = true
    private(set) var closed = false
    private(set) var waiters: [(id: UInt64, waiter: Waiter)] = []

    init(pendingLimit: Int) {
        precondition(pendingLimit > 0)
        self.pendingLimit = pendingLimit
    }

    /// Senders may go on.
    var isOpen: Bool { channelWritable && (pending?.readableBytes ?? 0) < pendingLimit }

    mutating func submit(_ frame: ByteBuffer) -> Submitted {
        guard !closed else { return .closed }
        if pending == nil {
            pending = frame
        } else {
            pending!.writeImmutableBuffer(frame)
        }
        let drain = !drainRequested
        drainRequested = true
        return .queued(drain: drain, wait: !isOpen)
    }

    /// Parks a sender that was told to wait; `false` when it need not (the gate opened or
    /// closed meanwhile).
    mutating func park(_ id: UInt64, _ waiter: Waiter) -> Bool {
        guard !closed, !isOpen else { return false }
        waiters.append((id, waiter))
        return true
    }

    /// Takes a parked sender out (its task was cancelled).
    mutating func unpark(_ id: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).waiter
    }

    /// The event loop drains: everything pending, and the senders to wake if the gate is open.
    mutating func takePending(channelWritable writable: Bool) -> (frames: ByteBuffer?, wake: [Waiter]) {
        let frames = pending
        pending = nil
        drainRequested = false
        channelWritable = writable
        return (frames, wakeIfOpen())
    }

    /// The channel's writability changed: the senders to wake if the gate is open.
    mutating func writabilityChanged(_ writable: Bool) -> [Waiter] {
        channelWritable = writable
        return wakeIfOpen()
    }

    /// The connection closed: pending frames are let go, and every parked sender is woken to
    /// learn it.
    mutating func close() -> [Waiter] {
        closed = true
        pending = nil
        defer { waiters = [] }
        return waiters.map(\.waiter)
    }

    private mutating func wakeIfOpen() -> [Waiter] {
        guard isOpen, !waiters.isEmpty else { return [] }
        defer { waiters = [] }
        return waiters.map(\.waiter)
    }
}

/// The outbound side of one established connection, shared by every task that sends on it
/// (see ``OutboundGateState``): frames are encoded on the sender's thread, queued, and written
/// by the connection handler in one write and one flush per drain.
final class OutboundGate: Sendable {
    private struct Locked {
        var state: OutboundGateState<CheckedContinuation<Void, any Error>>
        var nextWaiterID: UInt64 = 0
    }

    private let locked: Mutex<Locked>
    private let eventLoop: any EventLoop
    private let maximumPayload: Int
    private let drain: @Sendable () -> Void

    /// - Parameter drain: runs on `eventLoop`; it calls ``takePending(channelWritable:)`` and
    ///   writes what it gets.
    init(eventLoop: any EventLoop, pendingLimit: Int, maximumPayload: Int, drain: @escaping @Sendable () -> Void) {
        self.locked = Mutex(Locked(state: OutboundGateState(pendingLimit: pendingLimit)))
        self.eventLoop = eventLoop
        self.maximumPayload = maximumPayload
        self.drain = drain
    }

    /// Queues `envelope` and returns once the connection can take more: while the channel is
    /// not writable, or the frames handed in are not yet written, this suspends.
    ///
    /// - Throws: ``ConnectionClosed`` when the connection is closed (before or while waiting),
    ///   `CancellationError` when the task is cancelled while waiting (the frame is queued and
    ///   still goes out), ``ProtocolViolation`` for a frame over the maximum payload.
    func send(_ envelope: Envelope) async throws {
        guard try submit(envelope) else { return }
        let id = locked.withLock { locked in
            defer { locked.nextWaiterID &+= 1 }
            return locked.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = locked.withLock { locked in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if locked.state.closed { return .failure(ConnectionClosed()) }
                    return locked.state.park(id, continuation) ? nil : .success(())
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            locked.withLock { $0.state.unpark(id) }?.resume(throwing: CancellationError())
        }
    }

    /// Queues `envelope` without waiting; a closed connection drops it.
    func sendNow(_ envelope: Envelope) throws {
        _ = try submit(envelope)
    }

    /// Queues the frame; `true` when the sender must wait.
    private func submit(_ envelope: Envelope) throws -> Bool {
        let frame = try FrameEncoder.frame(envelope, maximumPayload: maximumPayload)
        let submitted = locked.withLock { $0.state.submit(frame) }
        switch submitted {
        case .closed:
            throw ConnectionClosed()
        case .queued(let drain, let wait):
            if drain { eventLoop.execute(self.drain) }
            return wait
        }
    }

    /// Senders parked now (tests wait on this).
    var parkedSenders: Int { locked.withLock { $0.state.waiters.count } }

    /// For the connection handler, on the event loop: takes the frames to write.
    func takePending(channelWritable: Bool) -> ByteBuffer? {
        let (frames, wake) = locked.withLock { $0.state.takePending(channelWritable: channelWritable) }
        for waiter in wake { waiter.resume() }
        return frames
    }

    /// For the connection handler, on the event loop.
    func writabilityChanged(_ writable: Bool) {
        let wake = locked.withLock { $0.state.writabilityChanged(writable) }
        for waiter in wake { waiter.resume() }
    }

    /// For the connection handler: the connection is gone.
    func close() {
        let wake = locked.withLock { $0.state.close() }
        for waiter in wake { waiter.resume(throwing: ConnectionClosed()) }
    }
}
