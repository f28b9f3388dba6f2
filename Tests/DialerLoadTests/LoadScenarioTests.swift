import DialerProtocol
import Foundation
import Testing

@testable import DialerLoad

@Suite("Load scenarios: strict files, named errors")
struct LoadScenarioTests {
    private func decode(_ json: String) throws(LoadScenarioError) -> LoadScenario {
        try LoadScenario.decode(Data(json.utf8), file: "s.json")
    }

    @Test func aFullScenarioDecodes() throws {
        let scenario = try decode(
            """
            {"name": "big", "agents": 2000, "nodes": 2, "durationSeconds": 60, "timeScale": 30, "seed": 7,
             "campaigns": [{"queue": "a", "mode": "predictive", "contacts": 100000},
                           {"queue": "b", "mode": "power", "contacts": 5}],
             "inboundQueues": ["in"], "talkSeconds": {"mean": 60, "sd": 20}, "wrapUpSeconds": {"fixed": 5}}
            """)
        #expect(scenario.agents == 2000)
        #expect(
            scenario.campaigns == [
                .init(queue: "a", mode: .predictive, contacts: 100_000), .init(queue: "b", mode: .power, contacts: 5),
            ])
        #expect(scenario.wrapUpSeconds == .init(mean: 5, standardDeviation: 0))
        #expect(scenario.seed == 7)
    }

    @Test func theShippedScenariosLoad() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("load-scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 2)
        for file in files {
            _ = try LoadScenario.load(path: directory.appendingPathComponent(file).path)
        }
    }

    /// Issue 17's floor: 10,000 agents in real time with contact-centre times, valid as shipped.
    @Test func theTenThousandAgentScenarioLoadsAndValidates() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("load-scenarios/agents-10000.json").path
        let scenario = try LoadScenario.load(path: path)
        try scenario.validate()
        #expect(scenario.agents == 10_000 && scenario.timeScale == 1 && scenario.durationSeconds == 300)
        #expect(scenario.talkSeconds.mean >= 120 && scenario.wrapUpSeconds.mean >= 15, "realistic times at scale 1")
        #expect(scenario.campaigns.map(\.contacts).reduce(0, +) >= 100_000)
    }

    @Test func theInboundCallersAndTheCarrierCapsDecode() throws {
        let scenario = try decode(
            #"{"agents": 40, "inboundCallsPerMinute": 12.5, "trunkChannels": 500, "trunkCallsPerSecond": 50}"#)
        #expect(scenario.inboundCallsPerMinute == 12.5)
        #expect(scenario.trunkCapacity.channels == 500)
        #expect(scenario.trunkCapacity.callsPerSecond == 50)
        let sized = try decode(#"{"agents": 2000, "inboundQueues": ["a", "b"], "inboundCallsPerMinute": 60}"#)
        #expect(sized.trunkChannels == nil)
        #expect(try decode(#"{"agents": 40}"#).callersPerMinute == 4, "one a minute per 10 agents")
        let expected = TrunkPlan.capacity(agents: 2000, inboundCallsPerMinute: 120)
        #expect(
            sized.trunkCapacity.channels == expected.channels, "the rate is per number: two queues, twice the callers")
        #expect(sized.trunkCapacity.callsPerSecond == expected.callsPerSecond)
    }

    @Test func missingFieldsTakeTheirDefaults() throws {
        let scenario = try decode(#"{"agents": 3}"#)
        #expect(scenario.agents == 3)
        #expect(scenario.campaigns == LoadScenario().campaigns)
    }

    @Test func anUnknownFieldIsRefusedWithTheFileAndTheField() {
        #expect(throws: LoadScenarioError.self) { try decode(#"{"agnets": 3}"#) }
        do {
            _ = try decode(#"{"campaigns": [{"queue": "a", "mdoe": "power", "contacts": 1}]}"#)
            Issue.record("decoded")
        } catch {
            #expect(error.file == "s.json")
            #expect(error.field == "campaigns[0].mdoe")
            #expect(error.description.hasPrefix("s.json: campaigns[0].mdoe: unknown field"))
        }
    }

    @Test func badValuesNameTheirField() {
        let cases: [(String, String)] = [
            (#"{"agents": 0}"#, "agents"),
            (#"{"campaigns": [{"queue": "a", "mode": "fast", "contacts": 1}]}"#, "campaigns[0].mode"),
            (
                #"{"campaigns": [{"queue": "a", "mode": "power", "contacts": 1}, {"queue": "a", "mode": "power", "contacts": 1}]}"#,
                "campaigns[1].queue"
            ),
            (#"{"talkSeconds": {"mean": -1}}"#, "talkSeconds"),
            (#"{"durationSeconds": "long"}"#, "durationSeconds"),
            (#"{"inboundCallsPerMinute": -1}"#, "inboundCallsPerMinute"),
            (#"{"inboundCallsPerMinute": "many"}"#, "inboundCallsPerMinute"),
            (#"{"trunkChannels": 0}"#, "trunkChannels"),
            (#"{"trunkChannels": 2.5}"#, "trunkChannels"),
            (#"{"agents": 2.5}"#, "agents"),
            (#"{"campaigns": [{"queue": "a", "mode": "power", "contacts": 1.5}]}"#, "campaigns[0].contacts"),
            (#"{"campaigns": [{"queue": "a", "mode": "power"}]}"#, "campaigns[0].contacts"),
            (#"{"trunkCallsPerSecond": 0}"#, "trunkCallsPerSecond"),
        ]
        for (json, field) in cases {
            do {
                _ = try decode(json)
                Issue.record("\(json) decoded")
            } catch {
                #expect(error.field == field, "\(json): \(error)")
            }
        }
    }

    @Test func brokenJSONIsNamed() {
        do {
            _ = try decode("{")
            Issue.record("decoded")
        } catch {
            #expect(error.description == "s.json: not valid JSON")
        }
    }
}

@Suite("Load measurements: /proc, Prometheus text, the grant log")
struct LoadMeasurementTests {
    @Test func procStatGivesUserPlusSystemTime() {
        let stat = "1234 (agent gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 8 0 100 0 0"
        #expect(ProcessUsage.cpuSeconds(stat: stat, ticksPerSecond: 100) == 4.0)
        #expect(ProcessUsage.peakMemoryKiB(status: "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   61234 kB\n") == 61234)
    }

    @Test func theOwnProcessCanBeRead() throws {
        #if os(Linux)
        let usage = try #require(ProcessUsage.read(pid: getpid(), role: "test", id: "self"))
        #expect(usage.peakMemoryMiB > 0)
        #endif
    }

    @Test func prometheusHistogramsAreAddedOverLabelsAndBounded() {
        let text = """
            # TYPE dialer_node_answer_to_bridge_seconds histogram
            dialer_node_answer_to_bridge_seconds_bucket{queue="a",le="0.005"} 50
            dialer_node_answer_to_bridge_seconds_bucket{queue="a",le="0.05"} 99
            dialer_node_answer_to_bridge_seconds_bucket{queue="a",le="+Inf"} 100
            dialer_node_answer_to_bridge_seconds_bucket{queue="b",le="0.005"} 50
            dialer_node_answer_to_bridge_seconds_bucket{queue="b",le="0.05"} 100
            dialer_node_answer_to_bridge_seconds_bucket{queue="b",le="+Inf"} 100
            dialer_node_answer_to_bridge_seconds_sum{queue="a"} 1.0
            dialer_node_answer_to_bridge_seconds_count{queue="a"} 100
            dialer_node_calls_in_flight{queue="a",stage="dialing"} 3
            dialer_node_calls_in_flight{queue="b",stage="waiting"} 2
            """
        let buckets = PrometheusText.buckets("dialer_node_answer_to_bridge_seconds", in: text)
        #expect(buckets == [0.005: 100, 0.05: 199, .infinity: 200])
        let latency = BucketedLatency(buckets: buckets, sum: 2, source: "test")
        #expect(latency.p50AtMostMs == 5)
        #expect(latency.p99AtMostMs == 50)
        #expect(latency.p999AtMostMs == nil, "above the largest finite bucket")
        #expect(latency.meanMs == 10)
        #expect(PrometheusText.sum("dialer_node_calls_in_flight", in: text) == 5)
    }

    @Test func aHistogramOverTheRunIsTheEndLessTheStartOrSaysWhyItIsMissing() {
        let name = "dialer_node_ready_to_dial_decision_seconds"
        let start = """
            \(name)_bucket{queue="a",le="0.001"} 10
            \(name)_bucket{queue="a",le="0.01"} 10
            \(name)_bucket{queue="a",le="+Inf"} 10
            \(name)_sum{queue="a"} 0.005
            """
        let end = """
            \(name)_bucket{queue="a",le="0.001"} 10
            \(name)_bucket{queue="a",le="0.01"} 110
            \(name)_bucket{queue="a",le="+Inf"} 110
            \(name)_sum{queue="a"} 0.505
            """
        let latency = BucketedLatency(name, start: start, end: end, source: "test")
        #expect(latency.count == 100, "the 10 values before the run are not the run's")
        #expect(latency.p50AtMostMs == 10)
        #expect(abs((latency.meanMs ?? 0) - 5) < 1e-9)
        #expect(latency.note == nil)

        let empty = BucketedLatency(name, start: start, end: start, source: "test")
        #expect(empty.count == 0)
        #expect(empty.p99AtMostMs == nil)
        #expect(empty.note == "\(name) recorded nothing during the run")

        let absent = BucketedLatency(name, start: "", end: "dialer_node_calls_in_flight 0\n", source: "test")
        #expect(absent.count == 0)
        #expect(absent.note?.hasPrefix("no process read exposes the \(name) histogram") == true)
    }

    @Test func grantsAreCountedOnceAcrossReadsAndTimedToTheirConfirm() {
        func entry(_ ms: Int64, _ request: String, _ event: String) -> ReservationLog.Entry {
            .init(momentMs: ms, agent: "a", request: request, queue: "q", event: event)
        }
        var tracker = GrantTracker()
        // The first read only marks the start: what it holds is from before the run.
        tracker.take(ReservationLog(nowMs: 100, entries: [entry(50, "old", "granted")]))
        #expect(tracker.nextSinceMs == 100, "the next read asks from the last answer's now_ms")
        tracker.take(
            ReservationLog(
                nowMs: 200,
                entries: [entry(110, "r1", "granted"), entry(113, "r1", "connected"), entry(200, "r2", "granted")]))
        // A read from 200 sends again what happened in its first millisecond.
        tracker.take(ReservationLog(nowMs: 300, entries: [entry(200, "r2", "granted"), entry(250, "r3", "granted")]))
        #expect(tracker.grants == 3, "r1, r2 and r3, each once")
        #expect(tracker.grantToConfirm.totalCount == 1)
        #expect(tracker.grantToConfirm.valueAtPercentile(50) == 3000)
        #expect(tracker.nextSinceMs == 300)
        #expect(!tracker.gaps)

        tracker.take(ReservationLog(nowMs: 400, truncated: true, entries: [entry(390, "r4", "granted")]))
        #expect(tracker.gaps, "the gateway said entries since the last read may be lost")
        #expect(tracker.grants == 4)
    }
}

@Suite("Inbound callers and the carrier of a local cluster")
struct InboundTrafficTests {
    @Test func theCarrierIsSizedForTheFloorAndNeverBelowItsDefaults() {
        let small = TrunkPlan.capacity(agents: 5, inboundCallsPerMinute: 0)
        #expect(small.channels == 100)
        #expect(small.callsPerSecond == 10)
        let floor = TrunkPlan.capacity(agents: 2000, inboundCallsPerMinute: 600)
        #expect(floor.channels >= 2000 * 6, "a call per agent and lines dialing for it")
        #expect(floor.channels > 2000 * 6, "inbound callers hold channels too")
        #expect(floor.callsPerSecond >= 4000)
    }

    @Test func thePopulationHasOneLineForEachNumberAndValidates() throws {
        let population = TrunkPlan.population(
            dids: [TrunkPlan.did(0), TrunkPlan.did(1)], callsPerMinute: 3, channels: 700, callsPerSecond: 70, seed: 9)
        try population.validate()
        #expect(population.inbound.map(\.did) == ["+18005550100", "+18005550101"])
        #expect(population.inbound.map(\.callsPerHour) == [180, 180])
        #expect(population.inbound.allSatisfy { $0.patienceSeconds == TrunkPlan.callerPatience })
        #expect(population.channels == 700)
        #expect(population.callsPerSecond == 70)
        #expect(population.seed == 9)
        let none = TrunkPlan.population(
            dids: [TrunkPlan.did(0)], callsPerMinute: 0, channels: 100, callsPerSecond: 10, seed: 1)
        #expect(none.inbound.isEmpty, "0 a minute: no callers")
    }

    @Test func aLocalClusterDeclaresTheNumbersAndWritesThePopulation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-local-cluster-test-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var plan = LocalCluster.Plan(
            runDirectory: directory, nodes: ["node-1"],
            queues: [
                .init(id: "sales", kind: "campaign"), .init(id: "support", kind: "inbound", dids: ["+18005550100"]),
            ],
            trunkTimeScale: 30)
        let population = TrunkPlan.population(
            dids: ["+18005550100"], callsPerMinute: 2, channels: 150, callsPerSecond: 12, seed: 4)
        plan.trunkPopulation = population
        let cluster = try LocalCluster(plan: plan, binDirectory: directory)
        let config = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
        #expect(config.contains("trunk_population = \"\(directory)/trunk-population.json\""))
        #expect(config.contains("id = \"support\"\nkind = \"inbound\"\ndids = [\"+18005550100\"]\n"))
        #expect(!config.contains("id = \"sales\"\nkind = \"campaign\"\ndids"), "no numbers, no dids line")
        let written = try type(of: population).load(path: directory + "/trunk-population.json")
        #expect(written == population)

        plan.trunkPopulation = nil
        let without = try LocalCluster(plan: plan, binDirectory: directory)
        #expect(!(try String(contentsOfFile: without.configPath, encoding: .utf8)).contains("trunk_population"))
    }

    @Test func inboundCallsAreCountedOverTheRunByQueueAndOutcome() {
        let start = """
            dialer_node_inbound_calls_total{queue="support",outcome="connected"} 2
            dialer_node_inbound_calls_total{queue="support",outcome="abandoned"} 1
            """
        let end = """
            # TYPE dialer_node_inbound_calls_total counter
            dialer_node_inbound_calls_total{queue="support",outcome="connected"} 7
            dialer_node_inbound_calls_total{queue="support",outcome="abandoned"} 2
            dialer_node_inbound_calls_total{outcome="missed",queue="support"} 1
            dialer_node_inbound_calls_total{queue="sales",outcome="connected"} 2
            dialer_node_inbound_calls_total{queue="other-run",outcome="connected"} 50

            dialer_node_inbound_calls_total{queue="support",outcome="connected"} 4
            """
        let traffic = InboundTraffic(
            start: start, end: end, queues: ["support", "sales"], campaignQueues: ["sales"], source: "test")
        #expect(traffic.taken == 9 + 2, "both nodes' texts, less the start; the other run's queue left out")
        #expect(traffic.abandoned == 1)
        #expect(traffic.missed == 1)
        #expect(traffic.arrived == 13)
        #expect(traffic.takenForCampaigns == 2, "callers routed to the campaign's queue")
        #expect(
            traffic.byQueue == ["support": ["connected": 9, "abandoned": 1, "missed": 1], "sales": ["connected": 2]])
        #expect(traffic.abandonRate == 1.0 / 13)
        #expect(traffic.line == "arrived 13, taken 11, abandoned 1 (7.7 %), missed 1")
    }

    @Test func labelsAreReadInAnyOrderAndUnescaped() {
        #expect(PrometheusText.labels(#"queue="a",outcome="connected""#) == ["queue": "a", "outcome": "connected"])
        #expect(PrometheusText.labels(#"le="+Inf", queue="q\"x\\y""#) == ["le": "+Inf", "queue": #"q"x\y"#])
        #expect(PrometheusText.labels("").isEmpty)
    }
}

@Suite("Micro-benchmarks run (figures are not checked)")
struct MicroBenchmarkTests {
    @Test func theCodecBenchmarkMakesFramesOfTheAskedSize() throws {
        let envelope = MicroBenchmarks.envelope(frameBytes: 500)
        let payload: [UInt8] = try envelope.serializedBytes()
        #expect(payload.count + 4 == 500)
        let rows = try MicroBenchmarks.codec(count: 100)
        #expect(rows.count == 2)
    }

    @Test func oneConnectionCarriesEveryFrame() async throws {
        let rows = try await MicroBenchmarks.connection(count: 2_000, window: 500)
        #expect(rows.map(\.operations) == [2_000, 2_000])
        #expect(rows.allSatisfy { ($0.cpuMicrosecondsPerOperation ?? 0) > 0 }, "each row has its CPU cost")
    }

    @Test func thePictureBenchmarkDecodesAFloorsPictureAtEachSize() throws {
        guard case .queuePicture(let picture)? = MicroBenchmarks.picture(agents: 200).message else {
            Issue.record("not a queue picture")
            return
        }
        // Every agent is in the picture once: in one of its lists, or counted not ready.
        let listed = picture.available.count + picture.onCall.count + picture.wrapUp.count + picture.reserved.count
        #expect(listed + Int(picture.notReady) == 200)
        #expect(picture.available.count == 10)
        let rows = try MicroBenchmarks.pictures(agents: [10, 200], count: 5)
        #expect(rows.map(\.operations) == [5, 5])
        #expect(rows[0].ratioToBaseline == 1)
    }

    @Test func theBookCyclesAtEachSize() throws {
        let rows = try MicroBenchmarks.reservationBook(agents: [3, 50], cycles: 500)
        #expect(rows.map(\.operations) == [500, 500])
        #expect(rows[0].ratioToBaseline == 1)
    }
}
