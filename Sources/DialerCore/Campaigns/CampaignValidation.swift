import Foundation

/// A setting that is wrong, named by its path in the settings (`ringTimeout`,
/// `predictive.targetAbandonRate`, `windows[2]`), with what is wrong with it.
public struct FieldError: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The path of the field, as the JSON of the settings spells it.
    public var field: String
    /// What is wrong, for a person: "must be at least 15 s (was 10 s)".
    public var message: String

    /// An error of `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// "field: message".
    public var description: String { "\(field): \(message)" }
}

extension CampaignSettings {
    /// The shortest ring timeout: the FTC's 15 seconds (about four rings).
    public static let minimumRingTimeout: Duration = .seconds(15)
    /// The lines per reserved agent progressive mode allows.
    public static let dialRateRange: ClosedRange<Int> = 1...10
    /// The IVR ports an agentless campaign may have.
    public static let ivrPortRange: ClosedRange<Int> = 1...1000
    /// The longest ring timeout: past five minutes no carrier still rings.
    public static let maximumRingTimeout: Duration = .seconds(300)
    /// The longest retry interval: a year.
    public static let maximumRetryInterval: Duration = .seconds(365 * 24 * 3600)
    /// The attempts per contact a campaign may allow.
    public static let maximumAttemptsRange: ClosedRange<Int> = 1...1000
    /// The highest abandon rate a campaign may aim at, whatever its compliance profile: above
    /// 10 % of live answers hung up on, pacing is not holding a rate but producing nuisance calls.
    public static let maximumTargetAbandonRate = 0.1
    /// The longest call script, in characters: a page an agent can read during a call.
    public static let maximumScriptLength = 20_000

    /// Every wrong setting and every invalid combination, in field order; empty when the
    /// settings are valid. The settings' own ``compliance`` profile is checked, if they name one.
    ///
    /// Checks each value's range (a ring timeout under 15 s, a dial rate outside 1 to 10 ...),
    /// that time zones and numbers are well formed, that each window ends after it starts, and
    /// the combinations: agentless needs IVR ports, automatic needs windows.
    public func validate() -> [FieldError] {
        validate(under: .none)
    }

    /// ``validate()``, then the rules of the settings' ``compliance`` profile or, when they name
    /// none, of `clusterProfile`; each rule's error names the profile.
    public func validate(under clusterProfile: ComplianceProfile) -> [FieldError] {
        rangeErrors() + complianceErrors(under: compliance ?? clusterProfile)
    }

    private func rangeErrors() -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) {
            errors.append(FieldError(field: field, message: message))
        }
        func show(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        }

        if script.count > Self.maximumScriptLength {
            fail("script", "must be at most \(Self.maximumScriptLength) characters (was \(script.count))")
        }
        if status == .automatic, windows.isEmpty {
            fail("windows", "an automatic campaign needs at least one window")
        }
        if !(callsPerReadyAgent > 0 && callsPerReadyAgent <= 10) {
            fail("callsPerReadyAgent", "must be above 0 and at most 10 (was \(show(callsPerReadyAgent)))")
        }
        if !(callsPerWrapUpAgent >= 0 && callsPerWrapUpAgent <= 10) {
            fail("callsPerWrapUpAgent", "must be 0 to 10 (was \(show(callsPerWrapUpAgent)))")
        }
        if !Self.dialRateRange.contains(dialRate) {
            fail("dialRate", "must be 1 to 10 (was \(dialRate))")
        }

        let predictive = self.predictive
        if !(predictive.targetAbandonRate >= 0 && predictive.targetAbandonRate <= Self.maximumTargetAbandonRate) {
            fail(
                "predictive.targetAbandonRate",
                "must be 0 to \(show(Self.maximumTargetAbandonRate)) (was \(show(predictive.targetAbandonRate)))")
        }
        if !(predictive.targetBusyFactor > 0 && predictive.targetBusyFactor <= 1) {
            fail(
                "predictive.targetBusyFactor",
                "must be above 0 and at most 1 (was \(show(predictive.targetBusyFactor)))")
        }
        if !(predictive.targetAverageWait > .zero && predictive.targetAverageWait <= .seconds(600)) {
            fail(
                "predictive.targetAverageWait",
                "must be above 0 s and at most 600 s (was \(predictive.targetAverageWait.secondsText))")
        }
        if predictive.regulatedWindows.isEmpty {
            fail("predictive.regulatedWindows", "must name at least one window (24h, 30d)")
        } else if Set(predictive.regulatedWindows).count != predictive.regulatedWindows.count {
            fail("predictive.regulatedWindows", "names a window twice")
        }
        if !(predictive.maximumDialRate >= 1 && predictive.maximumDialRate <= 10) {
            fail("predictive.maximumDialRate", "must be 1 to 10 (was \(show(predictive.maximumDialRate)))")
        }
        if !(predictive.correctionPace > 0 && predictive.correctionPace <= 1) {
            fail("predictive.correctionPace", "must be above 0 and at most 1 (was \(show(predictive.correctionPace)))")
        }
        if !(predictive.gain > 0 && predictive.gain <= 5) {
            fail("predictive.gain", "must be above 0 and at most 5 (was \(show(predictive.gain)))")
        }

        if let ports = ivrPorts {
            if !Self.ivrPortRange.contains(ports) { fail("ivrPorts", "must be 1 to 1000 (was \(ports))") }
        } else if mode == .agentless {
            fail("ivrPorts", "required for agentless mode (1 to 1000)")
        }
        if ringTimeout < Self.minimumRingTimeout || ringTimeout > Self.maximumRingTimeout {
            fail("ringTimeout", "must be at least 15 s and at most 300 s (was \(ringTimeout.secondsText))")
        }
        if !Self.maximumAttemptsRange.contains(maximumAttempts) {
            fail("maximumAttempts", "must be 1 to 1000 (was \(maximumAttempts))")
        }

        let retry = retryIntervals
        let optionalIntervals: [(String, Duration?)] = [
            ("busy", retry.busy), ("noAnswer", retry.noAnswer), ("machine", retry.machine),
            ("networkFailure", retry.networkFailure), ("abandoned", retry.abandoned),
        ]
        let longest = Self.maximumRetryInterval
        for (name, interval) in optionalIntervals {
            if let interval, interval <= .zero || interval > longest {
                fail(
                    "retryIntervals.\(name)",
                    "must be above 0 s and at most \(longest.secondsText) (a year), or null for no retry "
                        + "(was \(interval.secondsText))")
            }
        }
        if retry.unknown < RetryIntervals.minimumUnknown {
            fail(
                "retryIntervals.unknown",
                "must be at least \(RetryIntervals.minimumUnknown.secondsText): the customer may have just been called (was \(retry.unknown.secondsText))"
            )
        } else if retry.unknown > longest {
            fail("retryIntervals.unknown", "must be at most \(longest.secondsText) (was \(retry.unknown.secondsText))")
        }
        if !(retry.agentRetry > .zero && retry.agentRetry <= longest) {
            fail(
                "retryIntervals.agentRetry",
                "must be above 0 s and at most \(longest.secondsText) (was \(retry.agentRetry.secondsText))")
        }

        if let percent = overdialLimitPercent, !(percent >= 0 && percent <= 100) {
            fail("overdialLimitPercent", "must be 0 to 100 (was \(show(percent)))")
        }
        if let cap = attemptsPerFiveSeconds, !(1...100_000).contains(cap) {
            fail("attemptsPerFiveSeconds", "must be 1 to 100000, or null for no cap (was \(cap))")
        }
        if case .hold(let message, let maximumHold) = noAgentPolicy {
            if message.isEmpty { fail("noAgentPolicy.message", "must name the message played while holding") }
            if !(maximumHold > .zero && maximumHold <= .seconds(600)) {
                fail(
                    "noAgentPolicy.maximumHold", "must be above 0 s and at most 600 s (was \(maximumHold.secondsText))")
            }
        }

        if let number = callerID.defaultNumber, !PhoneNumbers.isE164(number) {
            fail("callerID.defaultNumber", "must be an E.164 number like +4512345678 (was \"\(number)\")")
        }
        var pooled: Set<String> = []
        for (index, entry) in callerID.pool.enumerated() {
            if !PhoneNumbers.isE164(entry.number) {
                fail(
                    "callerID.pool[\(index)].number",
                    "must be an E.164 number like +4512345678 (was \"\(entry.number)\")")
            } else if !pooled.insert(entry.number).inserted {
                fail("callerID.pool[\(index)].number", "\(entry.number) is in the pool twice")
            }
            for prefix in entry.localPrefixes where !Self.isNumberPrefix(prefix) {
                fail("callerID.pool[\(index)].localPrefixes", "must be \"+\" and digits like +1212 (was \"\(prefix)\")")
            }
        }
        if let cap = callerID.dailyCapPerNumber, !(1...1_000_000).contains(cap) {
            fail("callerID.dailyCapPerNumber", "must be 1 to 1000000, or null for no cap (was \(cap))")
        }
        for (index, rule) in callerID.preDialRules.enumerated() {
            let path = "callerID.preDialRules[\(index)]"
            if !PhoneNumbers.isE164(rule.present) {
                fail("\(path).present", "must be an E.164 number like +4512345678 (was \"\(rule.present)\")")
            }
            for prefix in rule.numberPrefixes where !Self.isNumberPrefix(prefix) {
                fail("\(path).numberPrefixes", "must be \"+\" and digits like +1212 (was \"\(prefix)\")")
            }
            if let field = rule.field {
                if field.isEmpty { fail("\(path).field", "must name a contact field, or be left out") }
                if rule.fieldValues.isEmpty {
                    fail("\(path).fieldValues", "must list the values of \(field) that match")
                }
            } else if !rule.fieldValues.isEmpty {
                fail("\(path).field", "must name the field that fieldValues are values of")
            }
            if rule.numberPrefixes.isEmpty, rule.field == nil {
                // A rule matching every call would silence the contact's own number and the pool:
                // that is the campaign's default number, said the long way round.
                fail(path, "must match on numberPrefixes, a field, or both (use defaultNumber for every call)")
            }
        }

        if TimeZone(identifier: timeZone) == nil {
            fail("timeZone", "must be an IANA time zone like Europe/Copenhagen (was \"\(timeZone)\")")
        }
        for (index, window) in windows.enumerated() {
            if !window.start.isValid || !window.end.isValid {
                fail("windows[\(index)]", "times must be 00:00 to 24:00 (was \(window.start)-\(window.end))")
            } else if window.end <= window.start {
                fail(
                    "windows[\(index)]",
                    "end \(window.end) must be after start \(window.start) (a window cannot cross midnight: use two)")
            }
        }
        if !callingHours.start.isValid || !callingHours.end.isValid {
            fail("callingHours", "times must be 00:00 to 24:00 (was \(callingHours))")
        } else if callingHours.end <= callingHours.start {
            fail("callingHours", "end \(callingHours.end) must be after start \(callingHours.start)")
        }
        if case .leaveMessage(let message) = answeringMachine, message.isEmpty {
            fail("answeringMachine.message", "must name the message left on machines")
        }
        for error in answeringMachineDetection.errors {
            fail("answeringMachineDetection.\(error.field)", error.message)
        }
        var keys: Set<SortField> = []
        for (index, key) in priorityOrder.enumerated() {
            if case .field(let name) = key.field, name.isEmpty {
                fail("priorityOrder[\(index)].field", "must name a custom field after \"fields.\"")
            } else if !keys.insert(key.field).inserted {
                fail("priorityOrder[\(index)].field", "\(key.field) is already a key")
            }
        }
        return errors
    }

    /// "+" and 1 to 15 digits.
    static func isNumberPrefix(_ prefix: String) -> Bool {
        let digits = prefix.utf8.dropFirst()
        return prefix.utf8.first == UInt8(ascii: "+") && (1...15).contains(digits.count)
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
