import DialerCore
import DialerSimulation
import Foundation
import Testing

private typealias Population = SimulatedTrunk.Population

/// The field a bad population's error names, or `nil` when it decodes and validates.
private func fieldAtFault(_ json: String) -> String? {
    do {
        _ = try Population.decode(json: json)
        return nil
    } catch {
        return error.field ?? "(whole)"
    }
}

/// `POPULATION.md`, found from this file whether the tests run in the package or a copy that
/// links the test folder.
private func populationDocument() throws -> String {
    let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let url = root.appendingPathComponent("Sources/DialerSimulation/Trunk/POPULATION.md")
    return try String(contentsOf: url, encoding: .utf8)
}

@Suite("Simulated trunk: population")
struct TrunkPopulationTests {
    @Test func anEmptyObjectIsTheDefaultPopulation() throws {
        let population = try Population.decode(json: "{}")
        #expect(population == Population())
        #expect(population.outcomes == .standard)
        #expect(abs(Population.Outcomes.standard.total - 1) < 1e-12)
        try Population().validate()
    }

    @Test func jsonRoundTrips() throws {
        var population = Population(seed: 99, timeScale: 60)
        population.signalSeconds = .uniform(min: 1, max: 4)
        population.inbound = [
            .init(did: "+4570101010", callsPerHour: 120),
            .init(
                did: "+4570202020", callsPerHour: 30, fromNumbers: ["+4512345678"],
                patienceSeconds: .logNormal(mean: 90, standardDeviation: 60), talkSeconds: .fixed(seconds: 100)),
        ]
        population.messageSeconds = ["no-agent": 8]
        #expect(try Population.decode(json: population.json()) == population)
    }

    @Test func durationForms() throws {
        let population = try Population.decode(
            json: """
                { "ringSeconds": 4, "signalSeconds": { "fixed": 2 }, "greetingSeconds": { "min": 1, "max": 3 },
                  "talkSeconds": { "mean": 100, "sd": 50 }, "patienceSeconds": { "mean": 7, "sd": 0 } }
                """)
        #expect(population.ringSeconds == .fixed(seconds: 4))
        #expect(population.signalSeconds == .fixed(seconds: 2))
        #expect(population.greetingSeconds == .uniform(min: 1, max: 3))
        #expect(population.talkSeconds == .logNormal(mean: 100, standardDeviation: 50))
        #expect(population.patienceSeconds == .fixed(seconds: 7))
    }

    @Test func outcomesLeftOutAreZero() throws {
        let population = try Population.decode(json: #"{ "outcomes": { "live": 0.5, "noAnswer": 0.5 } }"#)
        #expect(population.outcomes == .init(live: 0.5, noAnswer: 0.5))
    }

    @Test func probabilitiesThatDoNotSumToOneAreRefusedWithTheSum() throws {
        let json =
            #"{ "outcomes": { "live": 0.3, "machine": 0.15, "busy": 0.05, "noAnswer": 0.3, "invalid": 0.05, "failed": 0.05 } }"#
        let error = try #require(throws: SimulatedTrunk.PopulationError.self) { try Population.decode(json: json) }
        #expect(error.field == "outcomes")
        #expect(error.reason.contains("sum to 1"))
        #expect(error.reason.contains("0.9"))
        #expect(error.description.hasPrefix("population: outcomes: "))
    }

    @Test(arguments: [
        (#"{ "outcomes": { "live": 1.2, "busy": -0.2 } }"#, "outcomes.live"),
        (#"{ "outcomes": { "live": 0.5, "lve": 0.5 } }"#, "outcomes.lve"),
        (#"{ "timeScale": 0 }"#, "timeScale"),
        (#"{ "ringSeconds": { "mean": 9, "sd": -1 } }"#, "ringSeconds.sd"),
        (#"{ "ringSeconds": { "mean": 0, "sd": 1 } }"#, "ringSeconds.mean"),
        (#"{ "signalSeconds": { "min": 3, "max": 1 } }"#, "signalSeconds.max"),
        (#"{ "greetingSeconds": -1 }"#, "greetingSeconds.fixed"),
        (#"{ "talkSeconds": { "mean": 9, "sd": 1, "fixed": 3 } }"#, "talkSeconds"),
        (#"{ "talkSeconds": "long" }"#, "talkSeconds"),
        (#"{ "machineDetection": { "falsePositiveRate": 1.5 } }"#, "machineDetection.falsePositiveRate"),
        (#"{ "machineDetection": { "falseNegativeRate": -0.1 } }"#, "machineDetection.falseNegativeRate"),
        (#"{ "machineDetection": { "seconds": { "min": -1, "max": 2 } } }"#, "machineDetection.seconds.min"),
        (#"{ "patienceSeconds": { "mean": 1e9, "sd": 1 } }"#, "patienceSeconds.mean"),
        (
            #"{ "inbound": [ { "did": "+1", "callsPerHour": 1 }, { "did": "+1", "callsPerHour": 2 } ] }"#,
            "inbound[1].did"
        ),
        (#"{ "inbound": [ { "did": "", "callsPerHour": 1 } ] }"#, "inbound[0].did"),
        (#"{ "inbound": [ { "did": "+1", "callsPerHour": -1 } ] }"#, "inbound[0].callsPerHour"),
        (#"{ "inbound": [ { "did": "+1" } ] }"#, "inbound[0].callsPerHour"),
        (
            #"{ "inbound": [ { "did": "+1", "callsPerHour": 1, "patienceSeconds": { "mean": -2, "sd": 1 } } ] }"#,
            "inbound[0].patienceSeconds.mean"
        ),
        (#"{ "channels": 0 }"#, "channels"),
        (#"{ "channels": "ten" }"#, "channels"),
        (#"{ "callsPerSecond": 0 }"#, "callsPerSecond"),
        (#"{ "messageSeconds": { "no-agent": -3 } }"#, "messageSeconds.no-agent"),
        (#"{ "defaultMessageSeconds": -1 }"#, "defaultMessageSeconds"),
        (#"{ "ringTime": 3 }"#, "ringTime"),
        (#"{ "seed": -1 }"#, "seed"),
        (#"{ "channels": 2.5 }"#, "channels"),
        (#"{ "channels": 10 "#, "(whole)"),
    ])
    func aBadPopulationNamesTheField(json: String, field: String) {
        #expect(fieldAtFault(json) == field, "\(json)")
    }

    @Test func theTrunkRefusesABadPopulationBuiltInSwift() async throws {
        var population = Population()
        population.machineDetection.falsePositiveRate = 2
        let error = try await #require(throws: SimulatedTrunk.PopulationError.self) {
            _ = try await SimulatedTrunk(population: population, clock: TrunkTestClock())
        }
        #expect(error.field == "machineDetection.falsePositiveRate")
    }

    @Test func loadNamesTheFileAndTheField() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("population-\(UUID()).json")
        try Data(#"{ "channels": -4 }"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: SimulatedTrunk.PopulationError.self) { try Population.load(path: url.path) }
        #expect(error.path == url.path)
        #expect(error.field == "channels")
        let missing = try #require(throws: SimulatedTrunk.PopulationError.self) {
            try Population.load(path: url.path + ".missing")
        }
        #expect(missing.field == nil)
    }

    @Test func theDocumentsExampleIsValidAndEveryFieldIsDocumented() throws {
        let document = try populationDocument()
        let start = try #require(document.range(of: "```json\n"))
        let end = try #require(document.range(of: "\n```", range: start.upperBound..<document.endIndex))
        let example = try Population.decode(json: String(document[start.upperBound..<end.lowerBound]))
        #expect(example.seed == 7 && example.timeScale == 60 && example.inbound.count == 2)
        #expect(example.signalSeconds == .uniform(min: 1, max: 4))

        // Every field of the JSON form has a row, and the row's default is the code's.
        let fields = try #require(
            JSONSerialization.jsonObject(with: Data(Population().json().utf8)) as? [String: Any])
        let rows = Dictionary(
            document.split(separator: "\n").compactMap { line -> (String, String)? in
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count == 3, cells[0].hasPrefix("`") else { return nil }
                return (cells[0].trimmingCharacters(in: ["`"]), cells[2])
            },
            uniquingKeysWith: { first, _ in first })
        for field in fields.keys where field != "machineDetection" {
            #expect(rows[field] != nil, "\(field) has no row")
        }
        for field in [
            "inbound[].did", "inbound[].callsPerHour", "inbound[].fromNumbers", "inbound[].patienceSeconds",
            "inbound[].talkSeconds", "machineDetection.seconds", "machineDetection.falsePositiveRate",
            "machineDetection.falseNegativeRate",
        ] {
            #expect(rows[field] != nil, "\(field) has no row")
        }
        func documented<T: Decodable & Equatable>(_ field: String, _ value: T) throws {
            let cell = try #require(rows[field], "\(field) has no row")
            let json = cell.trimmingCharacters(in: ["`"])
            #expect(try JSONDecoder().decode(T.self, from: Data(json.utf8)) == value, "\(field)")
        }
        let defaults = Population()
        try documented("seed", defaults.seed)
        try documented("timeScale", defaults.timeScale)
        try documented("outcomes", defaults.outcomes)
        try documented("ringSeconds", defaults.ringSeconds)
        try documented("signalSeconds", defaults.signalSeconds)
        try documented("greetingSeconds", defaults.greetingSeconds)
        try documented("machineDetection.seconds", defaults.machineDetection.seconds)
        try documented("machineDetection.falsePositiveRate", defaults.machineDetection.falsePositiveRate)
        try documented("machineDetection.falseNegativeRate", defaults.machineDetection.falseNegativeRate)
        try documented("talkSeconds", defaults.talkSeconds)
        try documented("patienceSeconds", defaults.patienceSeconds)
        try documented("inbound", defaults.inbound)
        try documented("channels", defaults.channels)
        try documented("callsPerSecond", defaults.callsPerSecond)
        try documented("messageSeconds", defaults.messageSeconds)
        try documented("defaultMessageSeconds", defaults.defaultMessageSeconds)
    }
}
