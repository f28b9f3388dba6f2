import DialerCore
import Foundation
import Testing

/// Settings validation (every bad field named) and the JSON form of the model.
@Suite struct CampaignSettingsTests: CampaignFixtures {
    @Test func defaultsAreValid() {
        #expect(CampaignSettings().validate() == [])
        #expect(openCampaign(timeZone: "Europe/Copenhagen").validate() == [])
    }

    @Test func ringTimeoutAndDialRateNameTheFieldAndTheValue() {
        var settings = CampaignSettings()
        settings.ringTimeout = .seconds(10)
        settings.dialRate = 11
        #expect(
            settings.validate().map(\.description) == [
                "dialRate: must be 1 to 10 (was 11)",
                "ringTimeout: must be at least 15 s and at most 300 s (was 10 s)",
            ])
        settings.ringTimeout = .seconds(15)
        settings.dialRate = 0
        #expect(settings.validate().map(\.field) == ["dialRate"])
    }

    @Test func everyRangeIsChecked() {
        var settings = CampaignSettings(
            callsPerReadyAgent: 0,
            callsPerWrapUpAgent: -1,
            predictive: PredictiveSettings(
                targetAbandonRate: 1.5, targetBusyFactor: 0, targetAverageWait: .zero, regulatedWindows: [],
                maximumDialRate: 0.5, correctionPace: 0, gain: 0),
            ivrPorts: 1001,
            maximumAttempts: 0,
            retryIntervals: RetryIntervals(busy: .zero, unknown: .seconds(10), agentRetry: .zero),
            overdialLimitPercent: 150,
            attemptsPerFiveSeconds: 0,
            noAgentPolicy: .hold(message: "", maximumHold: .zero),
            callerID: CallerIDSettings(
                defaultNumber: "12345", pool: [PooledCallerID(number: "+4512", localPrefixes: ["45"])],
                dailyCapPerNumber: 0),
            timeZone: "Nowhere/Special",
            windows: [CallingWindow(weekday: .monday, start: LocalTime(hour: 17), end: LocalTime(hour: 9))],
            callingHours: CallingHours(start: LocalTime(hour: 21), end: LocalTime(hour: 8)),
            answeringMachine: .leaveMessage(message: ""),
            priorityOrder: [SortKey(.priority), SortKey(.priority, .descending), SortKey(.field(""))]
        )
        #expect(
            settings.validate().map(\.field) == [
                "callsPerReadyAgent", "callsPerWrapUpAgent", "predictive.targetAbandonRate",
                "predictive.targetBusyFactor", "predictive.targetAverageWait", "predictive.regulatedWindows",
                "predictive.maximumDialRate", "predictive.correctionPace", "predictive.gain", "ivrPorts",
                "maximumAttempts", "retryIntervals.busy", "retryIntervals.unknown", "retryIntervals.agentRetry",
                "overdialLimitPercent", "attemptsPerFiveSeconds", "noAgentPolicy.message",
                "noAgentPolicy.maximumHold", "callerID.defaultNumber", "callerID.pool[0].localPrefixes",
                "callerID.dailyCapPerNumber", "timeZone", "windows[0]", "callingHours", "answeringMachine.message",
                "priorityOrder[1].field", "priorityOrder[2].field",
            ])
        // A target abandon rate above 3 % is allowed up to 10 % (the compliance profile may
        // forbid it); beyond that no campaign is sane.
        settings = CampaignSettings()
        settings.predictive.targetAbandonRate = 0.1
        #expect(settings.validate() == [])
        settings.predictive.targetAbandonRate = 0.5
        #expect(settings.validate().map(\.description) == ["predictive.targetAbandonRate: must be 0 to 0.1 (was 0.5)"])
    }

    @Test func upperBoundsAreChecked() {
        var settings = CampaignSettings(
            predictive: PredictiveSettings(targetAverageWait: .seconds(601)), ringTimeout: .seconds(301),
            maximumAttempts: 1001,
            retryIntervals: RetryIntervals(
                busy: .seconds(366 * 24 * 3600), unknown: .seconds(366 * 24 * 3600),
                agentRetry: .seconds(366 * 24 * 3600)),
            attemptsPerFiveSeconds: 100_001, callerID: CallerIDSettings(dailyCapPerNumber: 1_000_001))
        #expect(
            settings.validate().map(\.field) == [
                "predictive.targetAverageWait", "ringTimeout", "maximumAttempts", "retryIntervals.busy",
                "retryIntervals.unknown", "retryIntervals.agentRetry", "attemptsPerFiveSeconds",
                "callerID.dailyCapPerNumber",
            ])
        settings = CampaignSettings(ringTimeout: .seconds(300), maximumAttempts: 1000)
        #expect(settings.validate() == [])
    }

    /// Numbers from outside (the API, the store, the wire) that no duration can hold are
    /// decoding errors naming the key, never a trap.
    @Test(arguments: ["1e300", "-1e300", "1e12", "-1", "1.7976931348623157e308"])
    func durationsOutOfRangeAreDecodingErrors(seconds: String) {
        for json in [
            #"{"ringTimeout": \#(seconds)}"#, #"{"retryIntervals": {"busy": \#(seconds)}}"#,
            #"{"retryIntervals": {"unknown": \#(seconds)}}"#, #"{"predictive": {"targetAverageWait": \#(seconds)}}"#,
            #"{"noAgentPolicy": {"action": "hold", "message": "m", "maximumHold": \#(seconds)}}"#,
        ] {
            do {
                _ = try JSONDecoder().decode(CampaignSettings.self, from: Data(json.utf8))
                Issue.record("\(json) was accepted")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.debugDescription.hasPrefix("must be a number of seconds from 0 to 1000000000"))
                #expect(!context.codingPath.isEmpty, "\(json): no field named")
            } catch {
                Issue.record("\(json): \(error)")
            }
        }
    }

    @Test func invalidCombinationsAreRejected() {
        let agentless = CampaignSettings(mode: .agentless)
        #expect(
            agentless.validate() == [FieldError(field: "ivrPorts", message: "required for agentless mode (1 to 1000)")])
        #expect(CampaignSettings(mode: .agentless, ivrPorts: 30).validate() == [])
        let automatic = CampaignSettings(status: .automatic)
        #expect(automatic.validate().map(\.field) == ["windows"])
        let backwards = CampaignSettings(
            windows: [CallingWindow(weekday: .friday, start: LocalTime(hour: 18), end: LocalTime(hour: 9))])
        #expect(
            backwards.validate().map(\.description) == [
                "windows[0]: end 09:00 must be after start 18:00 (a window cannot cross midnight: use two)"
            ])
    }

    @Test func localTimesParseAndPrint() {
        #expect(LocalTime("08:30") == LocalTime(hour: 8, minute: 30))
        #expect(LocalTime("8:05")?.description == "08:05")
        #expect(LocalTime("24:00") == .endOfDay)
        #expect(LocalTime("24:01") == nil)
        #expect(LocalTime("12:60") == nil)
        #expect(LocalTime("noon") == nil)
        #expect(LocalTime("1230") == nil)
    }

    @Test func settingsRoundTripThroughJSONWithDurationsInSeconds() throws {
        let settings = CampaignSettings(
            status: .automatic, mode: .predictive, callsPerReadyAgent: 1.7, callsPerWrapUpAgent: 0.1, dialRate: 3,
            predictive: PredictiveSettings(target: .averageWait, targetAverageWait: .milliseconds(1500)),
            ivrPorts: 40, ringTimeout: .seconds(30), maximumAttempts: 4,
            retryIntervals: RetryIntervals(busy: .seconds(300), machine: nil),
            overdialLimitPercent: 20, attemptsPerFiveSeconds: 50,
            noAgentPolicy: .hold(message: "please-hold", maximumHold: .seconds(20)),
            callerID: CallerIDSettings(
                defaultNumber: "+4570000000", pool: [PooledCallerID(number: "+12125550000", localPrefixes: ["+1212"])],
                rotation: .leastUsed, dailyCapPerNumber: 200),
            timeZone: "Europe/Copenhagen",
            windows: CallingWindow.on(Weekday.workdays, from: LocalTime(hour: 9), to: LocalTime(hour: 17)),
            callingHours: CallingHours(start: LocalTime(hour: 9), end: LocalTime(hour: 20)),
            answeringMachine: .leaveMessage(message: "vm-1"),
            priorityOrder: [SortKey(.field("region")), SortKey(.priority, .descending)],
            freshVersusRetry: .retriesFirst)
        #expect(settings.validate() == [])
        let data = try JSONEncoder().encode(settings)
        #expect(try JSONDecoder().decode(CampaignSettings.self, from: data) == settings)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["ringTimeout"] as? Double == 30)
        #expect((json["retryIntervals"] as? [String: Any])?["busy"] as? Double == 300)
        #expect((json["retryIntervals"] as? [String: Any])?["machine"] is NSNull)
        #expect((json["windows"] as? [[String: Any]])?.first?["start"] as? String == "09:00")
        #expect((json["priorityOrder"] as? [[String: Any]])?.first?["field"] as? String == "fields.region")
    }

    @Test func missingKeysTakeTheirDefaults() throws {
        let json = #"{"status":"enabled","ringTimeout":20,"retryIntervals":{"busy":null}}"#
        let settings = try JSONDecoder().decode(CampaignSettings.self, from: Data(json.utf8))
        var expected = CampaignSettings(status: .enabled, ringTimeout: .seconds(20))
        expected.retryIntervals.busy = nil
        #expect(settings == expected)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                CampaignSettings.self, from: Data(#"{"windows":[{"weekday":"monday","start":"9","end":"17:00"}]}"#.utf8)
            )
        }
    }

    @Test func contactsAttemptsAndCampaignsRoundTrip() throws {
        let at = utc(2026, 6, 10, 12)
        let contacts = [
            contact("c1"),
            contact(
                "c2", timeZone: "Europe/Copenhagen", fields: ["name": "Ann"], state: .scheduled(at: at), attempts: 1,
                callback: Callback(at: at, privateAgent: alice)),
            contact("c3", state: .inAttempt(AttemptID("a1")), attempts: 2),
            contact("c4", state: .final(.outcome(.invalidNumber)), attempts: 1),
            contact("c5", state: .final(.disposition("sale")), attempts: 1),
            contact("c6", state: .final(.attemptsExhausted), attempts: 3),
        ]
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode([Contact].self, from: encoder.encode(contacts)) == contacts)

        var record = AttemptRecord(id: AttemptID("a1"), contact: ContactID("c1"), node: node1, startedAt: at)
        record.outcome = .connected
        record.endedAt = at
        record.agent = alice
        record.disposition = .callback("cb", at: at, privateTo: alice)
        #expect(try decoder.decode(AttemptRecord.self, from: encoder.encode(record)) == record)

        let result = AttemptResult(
            attempt: AttemptID("a1"), contact: ContactID("c1"), outcome: .abandoned, agent: bob, answeredAt: at)
        #expect(try decoder.decode(AttemptResult.self, from: encoder.encode(result)) == result)

        let campaign = Campaign(
            id: campaignID, name: "Spring", list: listID, queue: QueueID("q-spring"), settings: openCampaign())
        #expect(try decoder.decode(Campaign.self, from: encoder.encode(campaign)) == campaign)
    }
}

/// The caller ID presented on a call.
@Suite struct CallerIDSelectionTests: CampaignFixtures {
    let settings = CallerIDSettings(
        defaultNumber: "+4570000000",
        pool: [
            PooledCallerID(number: "+12125550001", localPrefixes: ["+1212"]),
            PooledCallerID(number: "+12125550002", localPrefixes: ["+1212", "+1212555"]),
            PooledCallerID(number: "+13105550003", localPrefixes: ["+1310"]),
        ],
        rotation: .roundRobin,
        dailyCapPerNumber: 2)

    func chosen(_ phone: String, used: [String: Int] = [:], cursor: Int = 0, settings: CallerIDSettings? = nil)
        -> String?
    {
        CallerIDSelection.choose(
            for: contact("c", phone: phone), settings: settings ?? self.settings, usedToday: used,
            rotationCursor: cursor)?
            .number
    }

    @Test func theContactsOwnNumberWins() {
        var person = contact("c", phone: "+12125559999")
        person.callerID = "+4588888888"
        #expect(CallerIDSelection.choose(for: person, settings: settings)?.number == "+4588888888")
    }

    @Test func localPresencePrefersTheLongestPrefixUnderItsCap() {
        #expect(chosen("+12125559999") == "+12125550002")
        #expect(chosen("+12127779999") == "+12125550001")
        #expect(chosen("+12125559999", used: ["+12125550002": 2]) == "+12125550001")
        #expect(chosen("+13105559999") == "+13105550003")
    }

    @Test func otherNumbersRotateAndTheDefaultIsTheLastResort() {
        #expect(chosen("+4512345678", cursor: 0) == "+12125550001")
        #expect(chosen("+4512345678", cursor: 1) == "+12125550002")
        #expect(chosen("+4512345678", cursor: 4) == "+12125550002")
        #expect(chosen("+4512345678", used: ["+12125550002": 2], cursor: 1) == "+13105550003")
        var leastUsed = settings
        leastUsed.rotation = .leastUsed
        #expect(
            chosen("+4512345678", used: ["+12125550001": 1, "+12125550002": 1], settings: leastUsed) == "+13105550003")
        let allUsed = ["+12125550001": 2, "+12125550002": 2, "+13105550003": 2]
        #expect(chosen("+12125559999", used: allUsed) == "+4570000000")
        #expect(chosen("+4512345678", settings: CallerIDSettings()) == nil)
    }
}
