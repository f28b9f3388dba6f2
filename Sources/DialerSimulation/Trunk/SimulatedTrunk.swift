public import DialerCore

/// A trunk that places and receives calls among a seeded statistical population.
///
/// What each call does is drawn from the ``Population`` when it is placed (``Fate``) or
/// arrives (``InboundFate``), from the seed, the number and how many times it was called
/// before: the same seed gives the same customers in every run, whatever the order or
/// pace of dialing. The trunk is faithful to its population: outcome shares, ring, talk
/// and patience times, detection errors, the channel capacity and the calls-per-second cap
/// are what it says (a seeded statistical test holds it to that).
///
/// Durations are in call time; the trunk keeps time on a ``ScaledClock`` over the clock it
/// is given, so a population's `timeScale` of 60 runs a minute of calls per second of the
/// given clock. Moments it reports are on that scaled clock (``clock``).
///
/// The trunk keeps an agenda of what happens next and works through everything due
/// whenever its timer fires and before every operation, in order of moment, so the result
/// does not depend on how promptly tasks run. Moving a manual clock and calling
/// ``catchUp()`` drives it step by step.
///
/// How a call goes, outbound (see `POPULATION.md` for the population's fields):
/// - live or machine: ringing at once, the answer after the ring time; with detection, the
///   answer is announced at once (`answered`) and classified after the detection time, or
///   reported live at the request's detection limit after the greeting if that comes first;
///   without detection it is reported live at once. An answer later than the ring timeout
///   is a no-answer at the timeout. A person hangs up `patience` after their greeting unless
///   bridged, and `talk` after the bridge; a machine never hangs up.
/// - no answer: ringing, then no answer at the ring timeout.
/// - busy, invalid, failed: reported after the signal time (at most the ring timeout). A
///   number that is not E.164 is always invalid.
///
/// Inbound: calls arrive on each line as a Poisson process; a caller waits `patience` from
/// the arrival to be bridged (the node must accept first), then talks for `talk`. A call
/// arriving when every channel is in use is refused by the network and never offered.
public actor SimulatedTrunk: Trunk {
    /// Receives everything the trunk does, as it does it, including the truth of each call
    /// (for tests, load tests and the demo's view). Called on the trunk's executor, so it must
    /// be quick; it receives phone numbers, which must not be logged as they are.
    public typealias Observer = @Sendable (Observation) -> Void

    /// Something the trunk did.
    public enum Observation: Hashable, Sendable {
        /// An outbound call was placed, and this is what it will do.
        case originated(CallID, OriginateRequest, at: Moment, fate: Fate)
        /// An outbound call was refused (capacity or calls-per-second cap).
        case refused(OriginateRequest, TrunkError, at: Moment)
        /// An inbound call arrived and was offered, and this is what it will do.
        case arrived(CallID, did: String, at: Moment, fate: InboundFate)
        /// An inbound call arrived when every channel was in use; it was never offered.
        case arrivalRefused(did: String, at: Moment)
        /// A call's progress event, as sent to its stream.
        case progress(CallID, CallProgress)
    }

    /// Counts since the trunk started.
    public struct Statistics: Hashable, Sendable {
        /// Outbound calls placed.
        public var originated = 0
        /// Outbound calls refused for lack of a channel.
        public var refusedForCapacity = 0
        /// Outbound calls refused by the calls-per-second cap.
        public var refusedForRate = 0
        /// Inbound calls offered.
        public var arrived = 0
        /// Inbound calls refused for lack of a channel.
        public var arrivalsRefused = 0
        /// Inbound calls to numbers this trunk does not take now (another node's): not offered.
        public var arrivalsElsewhere = 0
        /// Calls in progress now, outbound and inbound.
        public var activeCalls = 0
        /// The most calls in progress at once.
        public var peakActiveCalls = 0
    }

    /// The population the trunk simulates.
    public nonisolated let population: Population
    /// The trunk's clock: the given clock run at the population's time scale. Every moment the
    /// trunk reports is on it, so a node working with the trunk should use it too.
    public nonisolated let clock: ScaledClock
    public nonisolated let inboundCalls: AsyncStream<InboundCall>
    private nonisolated let inboundContinuation: AsyncStream<InboundCall>.Continuation
    private let observer: Observer?

    /// Counts since the trunk started.
    public private(set) var statistics = Statistics()

    private struct Call {
        var leg: CallLegStateMachine
        let continuation: AsyncStream<CallProgress>.Continuation
        /// Talk time once bridged; `nil` for a machine, which never hangs up.
        let talkTime: Duration?
        /// Bumped to cancel a scheduled hang-up (patience, then talk).
        var customerToken = 0
        /// Bumped to cancel a scheduled message end.
        var messageToken = 0
    }

    private struct Line {
        var generator: SeededGenerator
        var arrivals = 0
    }

    private var calls: [CallID: Call] = [:]
    private var agenda = TrunkAgenda()
    private var lines: [Line]
    /// How many calls were placed to each number, for the next call's fate.
    private var attemptsByNumber: [String: Int] = [:]
    /// Moments of the calls placed in the last second of call time, oldest first.
    private var recentOriginations: [Moment] = []
    private var placedCount = 0
    private var arrivedCount = 0
    private var timer: (deadline: Moment, task: Task<Void, Never>)?
    private var isClosed = false
    /// The numbers whose calls are offered here; `nil`: every line's.
    private var receivedNumbers: Set<String>?

    /// A trunk for `population`, keeping time on `clock` scaled by the population's time scale.
    ///
    /// Validates the population first. Inbound arrivals start from the clock's current moment.
    /// Asynchronous only so that the trunk can start its timer once it exists.
    public init(
        population: Population,
        clock: any DialerClock,
        observer: Observer? = nil
    ) async throws(PopulationError) {
        try population.validate()
        self.population = population
        self.clock = ScaledClock(base: clock, scale: population.timeScale)
        self.observer = observer
        (inboundCalls, inboundContinuation) = AsyncStream.makeStream(of: InboundCall.self)
        self.lines = population.inbound.map { Line(generator: population.arrivalGenerator(line: $0)) }
        let now = self.clock.now()
        for index in population.inbound.indices {
            if let gap = population.inbound[index].arrivalGap(&lines[index].generator) {
                agenda.schedule(.arrival(line: index), at: now + gap)
            }
        }
        armTimer()
    }

    deinit {
        timer?.task.cancel()
        for call in calls.values { call.continuation.finish() }
        inboundContinuation.finish()
    }

    // MARK: Trunk

    public func originate(_ request: OriginateRequest) throws(TrunkError) -> OutboundCall {
        catchUp()
        guard !isClosed else { throw .closed }
        let now = clock.now()
        if calls.count >= population.channels {
            statistics.refusedForCapacity += 1
            throw refused(request, .channelCapacityExhausted(channels: population.channels), at: now)
        }
        // The carrier's window: the calls placed in the last second, up to and including now.
        let windowStart = now - .seconds(1)
        recentOriginations.removeAll { $0 <= windowStart }
        if recentOriginations.count >= population.callsPerSecond {
            statistics.refusedForRate += 1
            throw refused(request, .callsPerSecondExceeded(limit: population.callsPerSecond), at: now)
        }
        recentOriginations.append(now)

        let attempt = attemptsByNumber[request.number, default: 0]
        attemptsByNumber[request.number] = attempt + 1
        var fate = population.fate(number: request.number, attempt: attempt)
        if !PhoneNumbers.isE164(request.number) { fate.outcome = .invalid }

        placedCount += 1
        let id = CallID("out-\(placedCount)")
        let (stream, continuation) = AsyncStream.makeStream(of: CallProgress.self)
        let talkTime = fate.outcome == .live ? fate.talkTime : nil
        calls[id] = Call(leg: CallLegStateMachine(direction: .outbound), continuation: continuation, talkTime: talkTime)
        statistics.originated += 1
        callStarted()
        observer?(.originated(id, request, at: now, fate: fate))
        plan(id, fate: fate, request: request, at: now)
        armTimer()
        return OutboundCall(id: id, number: request.number, originatedAt: now, progress: stream)
    }

    public func receiveCalls(to numbers: Set<String>?) {
        catchUp()
        receivedNumbers = numbers
    }

    public func accept(_ call: CallID) throws(TrunkError) {
        try prepare(call, for: .accept)
        emit(.accepted(at: clock.now()), on: call)
        armTimer()
    }

    public func bridge(_ call: CallID, to agent: AgentID) throws(TrunkError) {
        try prepare(call, for: .bridge(agent))
        let now = clock.now()
        // The bridge stops any message and the wait: from now on the customer talks.
        calls[call]?.messageToken += 1
        calls[call]?.customerToken += 1
        emit(.bridged(to: agent, at: now), on: call)
        if let entry = calls[call], let talk = entry.talkTime {
            agenda.schedule(.customerHangsUp(call, token: entry.customerToken), at: now + talk)
        }
        armTimer()
    }

    public func play(_ message: CallMessage, on call: CallID) throws(TrunkError) {
        try prepare(call, for: .play(message))
        let now = clock.now()
        calls[call]?.messageToken += 1
        emit(.messageStarted(message, at: now), on: call)
        if let token = calls[call]?.messageToken {
            agenda.schedule(.messageEnds(call, message, token: token), at: now + population.length(of: message))
        }
        armTimer()
    }

    public func hangUp(_ call: CallID) throws(TrunkError) {
        try prepare(call, for: .hangUp)
        emit(.hungUp(by: .node, at: clock.now()), on: call)
        armTimer()
    }

    // MARK: Driving

    /// Works through everything due by the clock's current moment, in order.
    ///
    /// The trunk's own timer does this, and so does every operation before it acts; a test
    /// or a discrete-event driver that moves a manual clock calls it to know the trunk is up
    /// to date.
    public func catchUp() {
        performDue()
        armTimer()
    }

    /// The moment of the next thing scheduled (an event, a hang-up, an arrival), if any.
    ///
    /// Something scheduled may have been overtaken by then (the call ended), so nothing may
    /// happen at that moment; nothing happens before it.
    public func nextScheduledMoment() -> Moment? {
        agenda.nextMoment
    }

    /// Ends every call with a network failure, stops arrivals and refuses all further work.
    public func shutDown() {
        guard !isClosed else { return }
        performDue()
        isClosed = true
        let now = clock.now()
        for id in calls.keys.sorted() {
            emit(.networkFailure(at: now), on: id)
        }
        agenda.removeAll()
        inboundContinuation.finish()
        timer?.task.cancel()
        timer = nil
    }

    // MARK: Outbound plans

    /// Schedules what the network will report for a call placed at `start`: the ringing at
    /// once, the rest on the agenda.
    private func plan(_ id: CallID, fate: Fate, request: OriginateRequest, at start: Moment) {
        for report in Self.plan(fate: fate, request: request, at: start) {
            if case .ringing = report.event {
                emit(report.event, on: id)
            } else {
                agenda.schedule(.network(id, report.event, holdUntil: report.customerHangsUpAt), at: report.at)
            }
        }
    }

    /// One thing the network reports on an outbound call, planned when the call is placed.
    public struct PlannedReport: Hashable, Sendable {
        /// What is reported.
        public var event: CallProgress
        /// When.
        public var at: Moment
        /// For a live answer: when the person hangs up unless bridged by then (their patience
        /// after the greeting, or at once if they gave up while the detector listened).
        public var customerHangsUpAt: Moment?
    }

    /// What the network will report for a call with `fate` placed at `start`, in order: the
    /// trunk's whole outbound plan, as a pure function, so that the cluster simulator
    /// (``ClusterRun``) places its calls exactly as this trunk does.
    public static func plan(fate: Fate, request: OriginateRequest, at start: Moment) -> [PlannedReport] {
        let timeout = max(request.ringTimeout, .zero)
        switch fate.outcome {
        case .live, .machine:
            let ringing = PlannedReport(event: .ringing(at: start), at: start)
            guard fate.ringTime <= timeout else {
                return [ringing, PlannedReport(event: .noAnswer(at: start + timeout), at: start + timeout)]
            }
            var reports = [ringing]
            let answeredAt = start + fate.ringTime
            let greetingEndsAt = answeredAt + fate.greetingLength
            // Without detection the answer is reported as it happens, and always as live.
            // With it, the answer is announced at once as being classified, and the verdict
            // follows after the detection time, or at the detection limit after the greeting
            // (undecided then: reported live).
            var reportedAt = answeredAt
            var reportsMachine = false
            if request.detectsMachines {
                reports.append(PlannedReport(event: .answered(at: answeredAt), at: answeredAt))
                reportedAt = answeredAt + fate.detectionTime
                reportsMachine = fate.detectedAs == .machine
                if let limit = request.detectionLimit, greetingEndsAt + max(limit, .zero) < reportedAt {
                    reportedAt = max(answeredAt, greetingEndsAt + max(limit, .zero))
                    reportsMachine = false
                }
            }
            let event: CallProgress =
                reportsMachine
                ? .answeredByMachine(at: answeredAt, detectedAt: reportedAt)
                : .answeredLive(at: answeredAt, greetingEndsAt: greetingEndsAt)
            // A person holds on for their patience after the greeting; one who gave up while
            // the detector was still listening hangs up as soon as the answer is reported.
            let holdUntil = fate.outcome == .live ? max(greetingEndsAt + fate.patience, reportedAt) : nil
            reports.append(PlannedReport(event: event, at: reportedAt, customerHangsUpAt: holdUntil))
            return reports
        case .noAnswer:
            return [
                PlannedReport(event: .ringing(at: start), at: start),
                PlannedReport(event: .noAnswer(at: start + timeout), at: start + timeout),
            ]
        case .busy, .invalid, .failed:
            let at = start + min(fate.signalTime, timeout)
            let event: CallProgress =
                switch fate.outcome {
                case .busy: .busy(at: at)
                case .invalid: .invalidNumber(at: at)
                default: .networkFailure(at: at)
                }
            return [PlannedReport(event: event, at: at)]
        }
    }

    // MARK: The agenda

    private func perform(_ entry: TrunkAgenda.Entry) {
        switch entry.action {
        case .network(let id, let event, let holdUntil):
            guard let call = calls[id], call.leg.allows(event) else { return }
            emit(event, on: id)
            if let holdUntil, let token = calls[id]?.customerToken {
                agenda.schedule(.customerHangsUp(id, token: token), at: holdUntil)
            }
        case .customerHangsUp(let id, let token):
            guard let call = calls[id], call.customerToken == token else { return }
            emit(.hungUp(by: .customer, at: entry.moment), on: id)
        case .messageEnds(let id, let message, let token):
            guard let call = calls[id], call.messageToken == token else { return }
            emit(.messageFinished(message, at: entry.moment), on: id)
        case .arrival(let index):
            arrive(on: index, at: entry.moment)
        }
    }

    private func arrive(on index: Int, at moment: Moment) {
        let line = population.inbound[index]
        if let gap = line.arrivalGap(&lines[index].generator) {
            agenda.schedule(.arrival(line: index), at: moment + gap)
        }
        // The k-th caller of a line is the same person whether or not earlier ones got through.
        let fate = population.inboundFate(line: line, index: lines[index].arrivals)
        lines[index].arrivals += 1
        // The line's callers call whichever node takes the number: the same stream of callers,
        // so that which node has the number does not change who calls.
        if let receivedNumbers, !receivedNumbers.contains(line.did) {
            statistics.arrivalsElsewhere += 1
            return
        }
        guard calls.count < population.channels else {
            statistics.arrivalsRefused += 1
            observer?(.arrivalRefused(did: line.did, at: moment))
            return
        }
        arrivedCount += 1
        let id = CallID("in-\(arrivedCount)")
        let (stream, continuation) = AsyncStream.makeStream(of: CallProgress.self)
        calls[id] = Call(
            leg: CallLegStateMachine(direction: .inbound), continuation: continuation, talkTime: fate.talkTime)
        statistics.arrived += 1
        callStarted()
        observer?(.arrived(id, did: line.did, at: moment, fate: fate))
        agenda.schedule(.customerHangsUp(id, token: 0), at: moment + fate.patience)
        inboundContinuation.yield(
            InboundCall(id: id, from: fate.from, did: line.did, arrivedAt: moment, progress: stream))
    }

    // MARK: Helpers

    /// Catches up, then throws unless `operation` is allowed on `id` now.
    private func prepare(_ id: CallID, for operation: CallOperation) throws(TrunkError) {
        catchUp()
        guard !isClosed else { throw .closed }
        guard let call = calls[id] else { throw .unknownCall(id) }
        do {
            try call.leg.check(operation)
        } catch {
            throw .operationNotAllowed(id, operation, state: call.leg.state)
        }
    }

    /// Reports a refused call to the observer and returns the error to throw.
    private func refused(_ request: OriginateRequest, _ error: TrunkError, at now: Moment) -> TrunkError {
        observer?(.refused(request, error, at: now))
        return error
    }

    /// Applies `event` to the call's leg, sends it, and forgets the call when it is final.
    private func emit(_ event: CallProgress, on id: CallID) {
        guard var call = calls[id] else { return }
        do {
            try call.leg.apply(event)
        } catch {
            // The trunk only schedules what its own legs allow; reaching here is a bug.
            assertionFailure("simulated trunk produced \(error)")
            return
        }
        call.continuation.yield(event)
        observer?(.progress(id, event))
        if event.isFinal {
            call.continuation.finish()
            calls[id] = nil
            statistics.activeCalls = calls.count
        } else {
            calls[id] = call
        }
    }

    private func callStarted() {
        statistics.activeCalls = calls.count
        statistics.peakActiveCalls = max(statistics.peakActiveCalls, calls.count)
    }

    /// Makes sure a timer is set for the earliest thing on the agenda.
    private func armTimer() {
        guard !isClosed, let next = agenda.nextMoment else { return }
        if let timer, timer.deadline <= next { return }
        timer?.task.cancel()
        let clock = self.clock
        let task = Task { [weak self] in
            do {
                try await clock.sleep(until: next)
            } catch {
                return  // cancelled: a nearer timer took over, or the trunk shut down
            }
            await self?.timerFired(deadline: next)
        }
        timer = (next, task)
    }

    private func timerFired(deadline: Moment) {
        if timer?.deadline == deadline { timer = nil }
        catchUp()
    }

    /// Performs everything on the agenda due by the clock's current moment, in order; what
    /// that schedules for now or earlier is performed too.
    private func performDue() {
        let now = clock.now()
        while let entry = agenda.popDue(by: now) {
            perform(entry)
        }
    }
}
