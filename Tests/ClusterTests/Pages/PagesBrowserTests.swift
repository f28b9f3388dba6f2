import DialerRuntime
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
        #expect(await browser.wait { try await browser.isVisible("#login") })
        try await expectAccessibleBasics(browser, "agent sign-in")
        try await browser.type("#login", "ann")
        try await browser.type("#password", "secret-pass")
        // A phone that is not a SIP URI is refused at the field, before signing in.
        try await browser.type("#phone", "1001")
        try await browser.click("#sign-in")
        #expect(
            await browser.wait {
                try await browser.text("#phone-error")?.hasPrefix("Phone: enter a SIP address") == true
            },
            "no error at the phone field")
        #expect(try await browser.isVisible("#desk-view") == false)
        try await expectAccessibleBasics(browser, "agent sign-in with a wrong phone")
        // Ann's softphone: sent with the login, the gateway holds it for her grants.
        let phone = "sip:1001@127.0.0.1:5062"
        try await browser.type("#phone", phone)
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#desk-view") }, "the desk did not open")
        #expect(
            await browser.wait { try await gatewayLiveAgent(cluster, "ann")?["agent_phone"] as? String == phone },
            "the gateway does not have Ann's phone")
        #expect(try await browser.text("#agent-name") == "Ann Agent")
        #expect(await browser.wait { try await browser.text("#state") == "Not ready" })
        try await browser.click("#ready")
        // The preview: the contact, the countdown, the history (none yet).
        #expect(await browser.wait(for: .seconds(30)) { try await browser.isVisible("#offer") }, "no preview came")
        #expect(try await browser.text("#contact-fields")?.contains("+12125550101") == true)
        #expect(try await browser.text("#offer-countdown")?.contains("Answer within") == true)
        #expect(await browser.wait { try await browser.text("#contact-fields")?.contains("Spring") == true })
        try await expectAccessibleBasics(browser, "agent preview")
        try await save(browser, "agent-preview")
        try await browser.click("#accept")
        // The call: outbound, the script, the timer.
        #expect(
            await browser.wait(for: .seconds(30)) { try await browser.isVisible("#call") }, "the call did not connect")
        #expect(try await browser.text("#direction") == "Outbound call")
        #expect(await browser.wait { try await browser.text("#script")?.contains("spring offer") == true })
        #expect(await browser.wait { try await browser.text("#call-timer") != "0:00" })
        try await expectAccessibleBasics(browser, "agent call")
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
        try await expectAccessibleBasics(browser, "agent wrap-up")
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
        // Ann signs in again in another tab: this one says its session was taken over.
        let first = try await browser.currentTab()
        let second = try await browser.newTab()
        try await browser.switchTo(second)
        try await browser.open("http://\(cluster.httpAddress(of: "gateway"))/agent/")
        try await browser.type("#login", "ann")
        try await browser.type("#password", "secret-pass")
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#desk-view") }, "the second desk did not open")
        try await browser.switchTo(first)
        #expect(
            await browser.wait { try await browser.text("#banner")?.contains("taken over") == true },
            "the first desk does not say it was taken over")
        try await expectTheConsoleLogIsRead(browser)
    }

    /// The agent's entry in the gateway's live view (`GET /v1/live` on its HTTP port).
    private func gatewayLiveAgent(_ cluster: LocalTestCluster, _ agent: String) async throws -> [String: Any]? {
        let (_, data) = try await ManagerHTTPClient(address: cluster.httpAddress(of: "gateway")).send("GET", "v1/live")
        let agents = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["agents"] as? [[String: Any]]
        return agents?.first { $0["agent"] as? String == agent }
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
        try await expectAccessibleBasics(browser, "console sign-in")
        try await browser.type("#token", try #require(cluster.adminToken))
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#new-campaign") }, "the campaigns did not show")
        try await expectAccessibleBasics(browser, "console campaigns")
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
        try await expectAccessibleBasics(browser, "console import")
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
        try await expectAccessibleBasics(browser, "console campaign editor")
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
        // The wrong ring timeout's 400 above is the one refusal expected.
        try await expectNoConsoleErrors(browser, expectedRefusals: [("/v1/campaigns", 400)])
        try await expectTheAccessibilityCheckFindsProblems(browser)
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
            try await cluster.post(
                "v1/agents",
                #"""
                {"id": "bea", "login": "bea", "name": "Bea Supervised", "password": "secret-pass",
                 "skills": [{"queue": "sales", "rank": 1}]}
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
        try await expectLivePacing(cluster, browser)
        // An agent who signs in on the desk (another tab) appears on the panel: the manager reads
        // the agents from the gateway's HTTP port, the one it bound (port 0 in these tests).
        let panel = try await browser.currentTab()
        let desk = try await browser.newTab()
        try await browser.switchTo(desk)
        try await browser.open("http://\(cluster.httpAddress(of: "gateway"))/agent/")
        try await browser.type("#login", "bea")
        try await browser.type("#password", "secret-pass")
        try await browser.click("#sign-in")
        #expect(await browser.wait { try await browser.isVisible("#desk-view") }, "the desk did not open")
        try await browser.switchTo(panel)
        let onPanel = await browser.wait { try await browser.text("#agents")?.contains("Bea Supervised (bea)") == true }
        let (agents, problems) = (try await browser.text("#agents") ?? "", try await browser.text("#problems") ?? "")
        #expect(onPanel, "the agent is not on the panel: \(agents) \(problems)")
        #expect(try await browser.text("#agents")?.contains("not-ready") == true)
        try await expectAccessibleBasics(browser, "live panel")
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

    /// The campaign's row shows the dialing node's last pacing decision and dial rate, as the
    /// live API (`GET /v1/live/events`) gives them.
    private func expectLivePacing(_ cluster: LocalTestCluster, _ browser: WebDriver) async throws {
        let cell = #"[data-campaign="robo"] [data-figure="pacing"]"#
        func shownReason() async throws -> String? {
            try await browser.run(
                "const e = document.querySelector(arguments[0]); return e ? e.dataset.reason ?? null : null;", [cell])
                as? String
        }
        func apiPacing() async throws -> [String: Any]? {
            let (_, body) = try await cluster.manager.send("GET", "v1/live/events?max_events=1", timeout: 10)
            let text = String(decoding: body, as: UTF8.self)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("data:") }),
                let snapshot = try JSONSerialization.jsonObject(with: Data(line.dropFirst(5).utf8)) as? [String: Any],
                let campaigns = snapshot["campaigns"] as? [[String: Any]]
            else { return nil }
            return campaigns.first { $0["id"] as? String == "robo" }?["pacing"] as? [String: Any]
        }
        var api: [String: Any]?
        var shown: String?
        #expect(
            await browser.wait(for: .seconds(30)) {
                api = try await apiPacing()
                shown = try await shownReason()
                return shown != nil && shown == api?["reason"] as? String
            }, "the panel's pacing (\(shown ?? "none")) is not the API's (\(String(describing: api)))")
        #expect(api?["node"] as? String == "node-1")
        #expect((api?["attempts_last_minute"] as? Int ?? 0) > 0, "\(String(describing: api))")
        #expect(try await browser.text(cell)?.contains("node-1 (epoch") == true)
        let rate = #"[data-campaign="robo"] [data-figure="dial_rate"]"#
        #expect(await browser.wait { try await browser.text(rate).map { $0 != "0/min" } == true }, "no dial rate")
    }

    // MARK: Helpers

    private func save(_ browser: WebDriver, _ name: String) async throws {
        guard let directory = Self.screenshots else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await browser.screenshot().write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(name).png"))
    }

    /// No error in the browser's console since the last read: no uncaught exception, no
    /// `console.error`, no failed request, except the refused requests the scenario caused on
    /// purpose (`expectedRefusals`: a route and its status, as in "/v1/campaigns - ... 400").
    private func expectNoConsoleErrors(_ browser: WebDriver, expectedRefusals: [(String, Int)] = []) async throws {
        let errors = try await browser.browserLog().filter { entry in
            guard entry.level == "SEVERE" else { return false }
            let expected = expectedRefusals.contains { route, status in
                entry.source == "network" && entry.message.contains("\(route) - ")
                    && entry.message.contains("status of \(status) ")
            }
            return !expected
        }
        #expect(errors.isEmpty, "browser console errors: \(errors.map { "\($0.source): \($0.message)" })")
    }

    /// Accessibility basics of what the page shows now, checked in the browser: every visible
    /// control has a name (a label, aria-label or aria-labelledby, a button's text), no positive
    /// tabindex reorders the focus (it follows the document), charts and gauges have a text
    /// alternative, and visible text meets WCAG AA contrast against its background (4.5:1, 3:1
    /// for large text).
    private func expectAccessibleBasics(_ browser: WebDriver, _ page: String) async throws {
        let problems = try await browser.run(Self.accessibilityCheck) as? [String]
        #expect(problems == [], "\(page): \(problems ?? ["the check did not run"])")
    }

    static let accessibilityCheck = #"""
        const problems = [];
        const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && !e.closest("[hidden]");
        const describe = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "");
        if (!document.documentElement.lang) problems.push("html has no lang");
        for (const e of document.querySelectorAll("input, select, textarea, button")) {
          if (!visible(e) || e.type === "hidden") continue;
          const named = (e.labels && [...e.labels].some((l) => l.textContent.trim())) || e.getAttribute("aria-label")?.trim()
            || (e.getAttribute("aria-labelledby") && document.getElementById(e.getAttribute("aria-labelledby"))?.textContent.trim())
            || (e.tagName === "BUTTON" && e.textContent.trim());
          if (!named) problems.push("no accessible name: " + describe(e));
        }
        for (const e of document.querySelectorAll("[tabindex]")) {
          if (Number(e.getAttribute("tabindex")) > 0) problems.push("positive tabindex: " + describe(e));
        }
        for (const e of document.querySelectorAll("svg[role=img], img")) {
          if (visible(e) && !(e.getAttribute("aria-label") || e.getAttribute("alt"))) problems.push("no text alternative: " + describe(e));
        }
        const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
        const rgba = (text) => (text.match(/[\d.]+/g) || []).map(Number);
        const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        const background = (e) => {
          for (let n = e; n; n = n.parentElement) {
            const [r, g, b, a = 1] = rgba(getComputedStyle(n).backgroundColor);
            if (a > 0.5) return [r, g, b];
          }
          return [255, 255, 255];
        };
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const seen = new Set();
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const e = node.parentElement;
          if (!node.textContent.trim() || !e || seen.has(e) || !visible(e) || e.closest("svg")) continue;
          if (e.disabled || e.closest("[disabled]") || e.closest(".skip")) continue;  // inactive controls are exempt; the skip link shows on focus
          seen.add(e);
          const style = getComputedStyle(e);
          const [r, g, b, a = 1] = rgba(style.color);
          if (a < 0.5) continue;
          const [l1, l2] = [luminance([r, g, b]), luminance(background(e))].sort((x, y) => y - x);
          const ratio = (l1 + 0.05) / (l2 + 0.05);
          const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
          const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
          if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ${describe(e)} "${node.textContent.trim().slice(0, 30)}"`);
        }
        return problems;
        """#

    /// The accessibility check above can fail: a page with each problem gets each reported.
    private func expectTheAccessibilityCheckFindsProblems(_ browser: WebDriver) async throws {
        let page = """
            <!doctype html><html><body style="background:#fff">
            <p style="color:#bbb">Pale text</p><input id="unnamed"><button id="ordered" tabindex="2">Go</button>
            <svg role="img" width="10" height="10"><rect width="10" height="10"/></svg></body></html>
            """
        try await browser.open(
            "data:text/html;charset=utf-8," + (page.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        let problems = (try await browser.run(Self.accessibilityCheck) as? [String] ?? []).joined(separator: "\n")
        for expected in [
            "html has no lang", "contrast", "no accessible name: input#unnamed", "positive tabindex",
            "no text alternative: svg",
        ] {
            #expect(problems.contains(expected), "the check missed \(expected): \(problems)")
        }
    }

    /// The log check above can fail: an error the page writes is read back.
    private func expectTheConsoleLogIsRead(_ browser: WebDriver) async throws {
        try await browser.run("console.error('probe: the test reads the console log');")
        var seen: [String] = []
        #expect(
            await browser.wait {
                seen += try await browser.browserLog().filter { $0.level == "SEVERE" }.map(\.message)
                return seen.contains { $0.contains("probe: the test reads the console log") }
            }, "console.error was not seen in the browser's log: \(seen)")
    }
}
