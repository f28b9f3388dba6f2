import DialerSimulation
import Foundation
import Testing

@Suite("Scenario files")
struct ScenarioFileTests {
    private static let valid = """
        {
          "name": "t", "agents": 5, "shiftHours": 1,
          "outcomes": { "live": 0.3, "noAnswer": 0.7 },
          "timeToAnswerSeconds": { "mean": 10, "sd": 5 },
          "talkSeconds": { "mean": 120, "sd": 90 },
          "wrapUpSeconds": { "fixed": 15 }
        }
        """

    private func error(_ json: String) -> ScenarioError? {
        do {
            _ = try Scenario.decode(json: json)
            return nil
        } catch {
            return error
        }
    }

    @Test func aMinimalFileGetsTheDefaults() throws {
        let scenario = try Scenario.decode(json: Self.valid)
        #expect(scenario.seed == 1)
        #expect(scenario.days == 1)
        #expect(scenario.connectGraceSeconds == 2)
        #expect(scenario.wrapUpSeconds == .fixed(seconds: 15))
        #expect(scenario.effectivePolicies == PolicySpec.standardSet)
    }

    @Test func theShippedScenariosLoad() throws {
        // The repository's scenarios/, found upwards from this file.
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("scenarios/agents-10.json").path)
        {
            let parent = directory.deletingLastPathComponent()
            try #require(parent.path != directory.path, "no scenarios/ above \(#filePath)")
            directory = parent
        }
        directory.appendPathComponent("scenarios")
        for name in [
            "agents-10", "agents-100", "agents-500", "answer-rate-drops", "predictive-tuning", "agents-100-3days",
        ] {
            let scenario = try Scenario.load(path: directory.appendingPathComponent(name + ".json").path)
            #expect(scenario.name == name)
        }
    }

    @Test(arguments: [
        // A field of the wrong type, a missing one, a misspelt one, an unknown kind.
        ("\"agents\": 5", "\"agents\": \"five\"", "agents", "expected a whole number"),
        ("\"agents\": 5, ", "", "agents", "missing (required)"),
        ("\"shiftHours\"", "\"shiftHour\"", "shiftHour", "unknown field"),
        ("\"fixed\": 15", "\"fixed\": 15, \"mean\": 3", "wrapUpSeconds.fixed", "not both"),
        ("\"wrapUpSeconds\": { \"fixed\": 15 }", "\"wrapUpSeconds\": { \"mean\": 15 }", "wrapUpSeconds", "\"sd\""),
        (
            "\"shiftHours\": 1,", "\"shiftHours\": 1, \"policies\": [{ \"name\": \"p\", \"kind\": \"psychic\" }],",
            "policies[0].kind", "\"psychic\" is not one of"
        ),
        // Values the types allow but the simulation cannot use.
        ("\"live\": 0.3", "\"live\": 0.4", "outcomes", "add up to 1"),
        ("\"agents\": 5", "\"agents\": 0", "agents", "at least 1"),
        ("\"mean\": 120", "\"mean\": -1", "talkSeconds.mean", "above 0"),
        (
            "\"shiftHours\": 1,", "\"shiftHours\": 1, \"answerRateSchedule\": [{ \"fromHour\": 2, \"live\": 0.1 }],",
            "answerRateSchedule[0].fromHour", "within the shift"
        ),
        (
            "\"shiftHours\": 1,",
            "\"shiftHours\": 1, \"policies\": [{ \"name\": \"p\", \"kind\": \"progressive\", \"dialRate\": 11 }],",
            "policies[0].dialRate", "from 1 to 10"
        ),
    ])
    func aBadFieldIsNamedWithTheReason(find: String, replace: String, field: String, reason: String) throws {
        let json = Self.valid.replacingOccurrences(of: find, with: replace)
        #expect(json != Self.valid)
        let error = try #require(self.error(json))
        #expect(error.field == field)
        #expect(error.reason.contains(reason), "\(error.reason)")
    }

    @Test func aFileThatIsNotJSONSaysWhere() throws {
        let error = try #require(self.error("{\n  \"name\": \"t\",\n  \"agents\": 5,,\n}"))
        #expect(error.field == nil)
        #expect(error.reason.contains("not valid JSON"))
        #expect(error.reason.contains("line 3"), "\(error.reason)")
    }

    @Test func errorsFromAFileNameIt() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("dialer-sim-\(UInt64.random(in: 0...UInt64.max)).json").path
        try Data(Self.valid.replacingOccurrences(of: "\"live\": 0.3", with: "\"live\": 1.3").utf8)
            .write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Scenario.load(path: path)
            Issue.record("a live rate of 1.3 was accepted")
        } catch {
            #expect(error.path == path)
            #expect(error.field == "outcomes.live")
            #expect(error.description == "\(path): outcomes.live: must be a probability from 0 to 1 (is 1.3)")
        }

        do {
            _ = try Scenario.load(path: path + ".missing")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.path == path + ".missing")
            #expect(error.reason.hasPrefix("cannot read the file"))
        }
    }
}
