public import DialerCore
public import DialerProtocol
import FoundationEssentials

// Conversions between the feeder's wire messages and the core's values, used by the manager
// (which hands out and reads reports) and the node (which reads hand-outs and reports).

extension Dialer_V1_Outcome {
    /// The wire form of an outcome.
    public init(_ outcome: AttemptOutcome) {
        switch outcome {
        case .connected: self = .connected
        case .abandoned: self = .abandoned
        case .machine: self = .machine
        case .busy: self = .busy
        case .noAnswer: self = .noAnswer
        case .invalidNumber: self = .invalidNumber
        case .networkFailure: self = .networkFailure
        case .unknown: self = .unknown
        }
    }

    /// The domain form; `nil` for `OUTCOME_UNSPECIFIED` and values this version does not know.
    public var domain: AttemptOutcome? {
        switch self {
        case .connected: return .connected
        case .abandoned: return .abandoned
        case .machine: return .machine
        case .busy: return .busy
        case .noAnswer: return .noAnswer
        case .invalidNumber: return .invalidNumber
        case .networkFailure: return .networkFailure
        case .unknown: return .unknown
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }
}

extension Dialer_V1_AttemptHandOut {
    /// A contact handed out under `attempt`, as sent to the node (the contact's counter already
    /// counts the attempt).
    public init(attempt: AttemptID, contact: Contact) {
        self.init()
        self.attempt = attempt.rawValue
        self.contact = contact.id.rawValue
        phone = contact.phoneNumber
        callerID = contact.callerID ?? ""
        timeZone = contact.timeZone ?? ""
        fields = contact.fields
        privateAgent = contact.privateCallbackAgent?.rawValue ?? ""
        attemptNumber = UInt32(clamping: contact.attempts)
        priority = Int32(clamping: contact.priority)
    }
}

extension Dialer_V1_AttemptReport {
    /// The report of `result`, for the attempt handed out under `lease`.
    public init(_ result: AttemptResult, lease: HeldLease) {
        self.init()
        self.lease = Dialer_V1_QueueLease(lease)
        attempt = result.attempt.rawValue
        contact = result.contact.rawValue
        outcome = Dialer_V1_Outcome(result.outcome)
        agent = result.agent?.rawValue ?? ""
        dialedAtMs = result.dialedAt.map(Self.unixMilliseconds) ?? 0
        answeredAtMs = result.answeredAt.map(Self.unixMilliseconds) ?? 0
        bridgedAtMs = result.bridgedAt.map(Self.unixMilliseconds) ?? 0
        endedAtMs = result.callEndedAt.map(Self.unixMilliseconds) ?? 0
        callerID = result.callerID ?? ""
        abandonCause = result.abandonCause?.rawValue ?? ""
    }

    /// The result this report carries, or why it cannot be read (a message naming the field).
    ///
    /// A disposition never travels in a report: it comes from the gateway. The call's times
    /// (0: absent) and caller ID are read as sent; whether they can be kept is the receiver's
    /// call (``AttemptResult/callDetailProblems``), since a report is refused only when its
    /// result cannot be read at all.
    public func result() -> Result<AttemptResult, InvalidFeederField> {
        guard !attempt.isEmpty, attempt.utf8.count <= 128 else {
            return .failure(InvalidFeederField("attempt must be 1 to 128 bytes"))
        }
        guard !contact.isEmpty, contact.utf8.count <= 128 else {
            return .failure(InvalidFeederField("contact must be 1 to 128 bytes"))
        }
        guard let domain = outcome.domain else {
            return .failure(InvalidFeederField("outcome \(outcome.rawValue) is not a known outcome"))
        }
        guard agent.utf8.count <= 128 else { return .failure(InvalidFeederField("agent is longer than 128 bytes")) }
        return .success(
            AttemptResult(
                attempt: AttemptID(attempt), contact: ContactID(contact), outcome: domain,
                agent: agent.isEmpty ? nil : AgentID(agent), answeredAt: Self.date(answeredAtMs),
                dialedAt: Self.date(dialedAtMs), bridgedAt: Self.date(bridgedAtMs), callEndedAt: Self.date(endedAtMs),
                callerID: callerID.isEmpty ? nil : callerID,
                // An unknown cause is dropped, never a reason to refuse the result.
                abandonCause: AbandonCause(rawValue: abandonCause)))
    }

    /// The date of a Unix-millisecond field; 0 means absent.
    static func date(_ unixMilliseconds: UInt64) -> Date? {
        unixMilliseconds == 0 ? nil : Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }

    static func unixMilliseconds(_ date: Date) -> UInt64 {
        UInt64(clamping: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }
}

/// A feeder message field whose value cannot be accepted; answered with `INVALID_ARGUMENT`.
public struct InvalidFeederField: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
