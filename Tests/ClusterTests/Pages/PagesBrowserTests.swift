import DialerTestSupport
import Foundation
import Testing

/// The pages in headless Chromium, against a real local cluster on the simulated trunk. With
/// `DIALER_SCREENSHOTS=<directory>` set, each scenario also saves its pages at 1366×768 there
/// (`scripts/screenshots.sh`).
///
/// They run where chromium and chromedriver are installed and are skipped, saying so, where they
/// are not; with `DIALER_REQUIRE_TOOLS=1` (CI) a missing browser fails them instead.
@Suite("Pages in a browser", .serialized)
struct PagesBrowserTests {
    static let screenshots = ProcessInfo.processInfo.environment["DIALER_SCREENSHOTS"]

    @Test func theBrowserIsHereWhenCIRequiresIt() {
        if WebDriver.Tools.required {
            #expect(
                WebDriver.Tools.available,
                "DIALER_REQUIRE_TOOLS=1 but chromium or chromedriver is missing: apt-get install -y chromium chromium-driver"
            )
        } else if !WebDriver.Tools.available {
            print(
                "skipping the browser tests: chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)"
            )
        }
    }

    // MARK: The agent's desktop

    @Test(.enabled(if: WebDriver.Tools.shouldRun, "chromium and chromedriver are not installed"))
    func anAgentTakesAPreviewTalksAndLeavesAPrivateCallback() async throws {
        var timings = LocalTestCluster.Timings()
        // Everyone answers after a second and talks ten minutes: the agent hangs up.
        timings.trunkPopulationJSON = """
            {"outcomes": {"live": 1}, "ringSeconds": {"fixed": 1}, "talkSeconds": {"fixed": 600},
             "patienceSeconds": {"fixed": 60}}
            """
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [("sales", "campaign")], timings: timings)
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            try await cluster.post("v1/lists", #"{"id": "spring", "name": "Spring leads"}"#)
            try await cluster.post(
                "v1/lists/spring/imports?format=csv&default_region=US&wait=true",
                "phone,first_name,city\n+12125550101,Ann,New York\n")
            try await cluster.post(
                "v1/campaigns",
                #"""
                {"id": "spring", "name": "Spring", "list": "spring", "queue": "sales", "settings": {
                 "mode": "preview", "status": "enabled", "caller_id": {"default_number": "+12125550000"},
                 "calling_hours": {"start": "00:00", "end": "24:00"},
                 "script": "Good morning, this is the spring offer.\nAsk for the account holder."}}
                """#)
            try await cluster.post("v1/campaigns/spring/dispositions", #"{"name": "sale", "kind": "final"}"#)
            try await cluster.post(
                "v1/campaigns/spring/dispositions",
                #"{"name": "call back", "kind": "callback", "private_allowed": true}"#)
            try await cluster.post(
                "v1/agents",
                #"""
                {"id": "ann", "login": "ann", "name": "Ann Agent", "password": "secret-pass",
                 "skills": [{"queue": "sales", "rank": 1}]}
                """#)
            let browser = try await WebDriver()
            do {
                try await agentScenario(cluster, browser)
                await browser.quit()
            } catch {
                await browser.quit()
                throw error
            }
        }
    }

    private func agentScenario(_ cluster: LocalTestCluster, _ browser: WebDriver) async throws {
        try await browser.open("http://\(cluster.httpAddress(of: "gateway"))/agent/")
        try await browser.type("#login", "ann")
        try await browser.type("#password", "secret-pass")
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#desk-view") }, "the desk did not open")
        #expect(try await browser.text("#agent-name") == "Ann Agent")
        #expect(await browser.wait { try await browser.text("#state") == "Not ready" })
        try await browser.click("#ready")
        // The preview: the contact, the countdown, the history (none yet).
        #expect(await browser.wait(for: .seconds(30)) { try await browser.isVisible("#offer") }, "no preview came")
        #expect(try await browser.text("#contact-fields")?.contains("+12125550101") == true)
        #expect(try await browser.text("#offer-countdown")?.contains("Answer within") == true)
        #expect(await browser.wait { try await browser.text("#contact-fields")?.contains("Spring") == true })
        try await save(browser, "agent-preview")
        try await browser.click("#accept")
        // The call: outbound, the script, the timer.
        #expect(
            await browser.wait(for: .seconds(30)) { try await browser.isVisible("#call") }, "the call did not connect")
        #expect(try await browser.text("#direction") == "Outbound call")
        #expect(await browser.wait { try await browser.text("#script")?.contains("spring offer") == true })
        #expect(await browser.wait { try await browser.text("#call-timer") != "0:00" })
        try await save(browser, "agent-call")
        try await browser.run("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'h', altKey: true}))")
        // Wrap-up: a private callback, an hour from now on the contact's clock by default.
        #expect(await browser.wait { try await browser.isVisible("#wrapup") }, "no wrap-up after hanging up")
        try await browser.run(
            "const s = document.getElementById('disposition'); s.value = 'call back'; s.dispatchEvent(new Event('change'));"
        )
        #expect(await browser.wait { try await browser.isVisible("#callback-at") })
        try await browser.click("#callback-private")
        try await browser.type("#notes", "Call after ten.")
        try await save(browser, "agent-wrap-up")
        try await browser.click("#save-disposition")
        #expect(await browser.wait { try await browser.text("#banner") == "Disposition saved." })
        #expect(await browser.wait { try await browser.text("#state") != "Wrap-up" })
        // The manager has the callback, private to Ann, about an hour ahead.
        let (_, found) = try await cluster.manager.send("GET", "v1/contacts?list=spring")
        let contacts = try #require(
            (try JSONSerialization.jsonObject(with: found) as? [String: Any])?["contacts"] as? [[String: Any]])
        let contact = try #require(contacts.first?["id"] as? String)
        let (_, body) = try await cluster.manager.send("GET", "v1/contacts/\(contact)")
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let callback = try #require(json["callback"] as? [String: Any], "no callback: \(json)")
        #expect(callback["private_agent"] as? String == "ann")
        let at = try #require((callback["at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(abs(at.timeIntervalSinceNow - 3600) < 600, "callback at \(at)")
        try await expectNoConsoleErrors(browser)
    }

    // MARK: The console

    @Test(.enabled(if: WebDriver.Tools.shouldRun, "chromium and chromedriver are not installed"))
    func theManagerCreatesACampaignAndSeesTheRejectedRowsOfAnImport() async throws {
        let cluster = try LocalTestCluster(nodes: [], queues: [("sales", "campaign")])
        await cluster.runThenShutDown { cluster in
            try await cluster.startManager()
            let browser = try await WebDriver()
            do {
                try await consoleScenario(cluster, browser)
                await browser.quit()
            } catch {
                await browser.quit()
                throw error
            }
        }
    }

    private func consoleScenario(_ cluster: LocalTestCluster, _ browser: WebDriver) async throws {
        let console = "http://\(cluster.httpAddress(of: "manager"))/console/"
        try await browser.open(console)
        #expect(await browser.wait { try await browser.isVisible("#token") })
        try await browser.type("#token", try #require(cluster.adminToken))
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#new-campaign") }, "the campaigns did not show")
        // A list, then an import with two bad rows.
        try await browser.open(console + "#/lists")
        #expect(await browser.wait { try await browser.isVisible("#list-form") })
        try await browser.type("#list-id", "autumn")
        try await browser.type("#list-name", "Autumn leads")
        try await browser.click("#list-form button[type=submit]")
        #expect(await browser.wait { try await browser.isVisible("#import-form") }, "no import form for the list")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("autumn-\(UUID().uuidString).csv")
        try "phone,name\n+12125550101,Ann\nnot-a-number,Bad\n+12125550102,Bob\n,Nobody\n".write(
            to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await browser.sendKeys("#import-file", file.path)
        try await browser.type("#import-region", "US")
        try await browser.click("#upload")
        #expect(
            await browser.wait { try await browser.text("#rejected")?.contains("contains letters") == true },
            "the rejected rows were not shown")
        #expect(try await browser.text("#rejected")?.contains("missing") == true)
        #expect(try await browser.text("#job-progress")?.contains("2 accepted") == true)
        #expect(try await browser.run("return document.getElementById('upload-progress').value;") as? Int == 100)
        try await save(browser, "console-import")
        // A campaign: a wrong setting is shown at its field, then fixed.
        try await browser.open(console + "#/campaigns/new")
        #expect(await browser.wait { try await browser.isVisible("#campaign-form") })
        try await browser.type("#campaign-id", "autumn")
        try await browser.type("#campaign-name", "Autumn")
        try await browser.run("document.getElementById('campaign-list').value = 'autumn';")
        try await browser.type("#campaign-queue", "sales")
        try await browser.type("#f-ring_timeout", "5")
        try await browser.type("#f-script", "Hello from the autumn campaign.")
        try await browser.click("#save-campaign")
        #expect(
            await browser.wait { try await browser.text("#f-ring_timeout-error")?.contains("at least 15") == true },
            "the ring timeout's error is not at its field")
        #expect(try await browser.run("return document.activeElement.id;") as? String == "f-ring_timeout")
        try await save(browser, "console-campaign-errors")
        try await browser.type("#f-ring_timeout", "20")
        try await browser.click("#save-campaign")
        #expect(
            await browser.wait { try await browser.run("return location.hash;") as? String == "#/campaigns/autumn" })
        let (status, body) = try await cluster.manager.send("GET", "v1/campaigns/autumn")
        #expect(status == 200)
        let settings = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["settings"] as? [String: Any]
        #expect(settings?["ring_timeout"] as? Int == 20)
        #expect(settings?["script"] as? String == "Hello from the autumn campaign.")
        #expect(await browser.wait { try await browser.isVisible("#disposition-form") })
        try await save(browser, "console-campaign")
        try await expectNoConsoleErrors(browser)
    }

    // MARK: The live panel

    @Test(.enabled(if: WebDriver.Tools.shouldRun, "chromium and chromedriver are not installed"))
    func theLivePanelShowsTheAPIsCountsAndUpdatesWithinSeconds() async throws {
        var timings = LocalTestCluster.Timings()
        timings.trunkTimeScale = 10
        timings.trunkPopulationJSON = """
            {"outcomes": {"live": 0.5, "noAnswer": 0.3, "busy": 0.2}, "ringSeconds": {"fixed": 5},
             "signalSeconds": {"fixed": 2}, "talkSeconds": {"fixed": 20}}
            """
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [("sales", "campaign")], timings: timings)
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            try await cluster.post("v1/lists", #"{"id": "robo", "name": "Reminders"}"#)
            let rows = (0..<400).map { String(format: "+1212555%04d", $0) }.joined(separator: "\n")
            try await cluster.post("v1/lists/robo/imports?format=csv&default_region=US&wait=true", "phone\n" + rows)
            try await cluster.post(
                "v1/campaigns",
                #"""
                {"id": "robo", "name": "Reminders", "list": "robo", "queue": "sales", "settings": {
                 "mode": "agentless", "ivr_ports": 4, "status": "enabled", "maximum_attempts": 1,
                 "caller_id": {"default_number": "+12125550000"}, "calling_hours": {"start": "00:00", "end": "24:00"}}}
                """#)
            let browser = try await WebDriver()
            do {
                try await liveScenario(cluster, browser)
                await browser.quit()
            } catch {
                await browser.quit()
                throw error
            }
        }
    }

    private func liveScenario(_ cluster: LocalTestCluster, _ browser: WebDriver) async throws {
        try await browser.open("http://\(cluster.httpAddress(of: "manager"))/console/live")
        #expect(await browser.wait { try await browser.isVisible("#token") })
        try await browser.type("#token", try #require(cluster.adminToken))
        try await browser.click("#sign-in")
        let attempts = #"[data-campaign="robo"] [data-figure="attempts"]"#
        func shown(_ figure: String) async throws -> Int? {
            (try await browser.text(#"[data-campaign="robo"] [data-figure="\#(figure)"]"#)).flatMap { Int($0) }
        }
        #expect(await browser.wait { try await browser.isVisible(attempts) }, "the campaign is not on the panel")
        // Live: the count grows while the campaign dials, without reloading.
        #expect(await browser.wait(for: .seconds(30)) { (try await shown("attempts") ?? 0) > 0 })
        let first = try await shown("attempts") ?? 0
        #expect(
            await browser.wait(for: .seconds(10)) { (try await shown("attempts") ?? 0) > first },
            "the panel did not update within seconds")
        #expect(try await browser.text("#nodes")?.contains("node-1") == true)
        #expect(try await browser.text("#queues")?.contains("node-1") == true)
        try await save(browser, "live-panel")
        // Stopped and settled, the panel shows the report's counts.
        try await cluster.post("v1/campaigns/robo/stop", "")
        var report: [String: Any] = [:]
        #expect(
            await browser.wait(for: .seconds(60)) {
                let (_, body) = try await cluster.manager.send("GET", "v1/campaigns/robo/report")
                report = try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
                return report["open_attempts"] as? Int == 0
            }, "the attempts did not close")
        for figure in ["attempts", "live_answers", "abandons"] {
            let expected = report[figure] as? Int
            let matched = await browser.wait(for: .seconds(10)) { try await shown(figure) == expected }
            let panel = try await shown(figure)
            #expect(
                matched,
                "\(figure): the panel shows \(String(describing: panel)), the API \(String(describing: expected))")
        }
        try await expectNoConsoleErrors(browser)
    }

    // MARK: Helpers

    private func save(_ browser: WebDriver, _ name: String) async throws {
        guard let directory = Self.screenshots else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await browser.screenshot().write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).png"))
    }

    private func expectNoConsoleErrors(_ browser: WebDriver) async throws {
        let errors = try await browser.browserLog().filter { $0.level == "SEVERE" }
        #expect(errors.isEmpty, "browser console errors: \(errors.map(\.message))")
    }
}
