import Foundation
import Testing

/// Every page keeps its user-visible strings in one catalog (issue 14): the HTML's texts and
/// labels come from `data-t` / `data-t-label` keys, the scripts' from `t("key")`, and every key
/// used is in the page's catalog. Read from the source tree: the same files the targets embed.
struct PageCatalogTests {
    struct Page: CustomTestStringConvertible, Sendable {
        var name: String
        var html: String
        var scripts: [String]
        var catalog: String
        var testDescription: String { name }
    }

    static let pages = [
        Page(
            name: "agent desktop", html: "Sources/AgentGateway/Pages/agent/index.html",
            scripts: ["Sources/AgentGateway/Pages/agent/desk.js"],
            catalog: "Sources/AgentGateway/Pages/agent/strings.js"),
        Page(
            name: "console", html: "Sources/DialerManager/Pages/console/index.html",
            scripts: ["Sources/DialerManager/Pages/console/console.js", "Sources/DialerManager/Pages/console/api.js"],
            catalog: "Sources/DialerManager/Pages/console/strings.js"),
        Page(
            name: "live panel", html: "Sources/DialerManager/Pages/console/live.html",
            scripts: ["Sources/DialerManager/Pages/console/live.js"],
            catalog: "Sources/DialerManager/Pages/console/live-strings.js"),
    ]

    static func read(_ path: String) throws -> String {
        // Tests/DialerManagerTests/API/<this file> → the package's root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The English catalog's keys: `name:` or `"name":` at the start of a line inside `en: {`.
    static func keys(ofCatalog text: String) throws -> Set<String> {
        let start = try #require(text.range(of: "en: {"))
        let body = text[start.upperBound...]
        let end = try #require(body.range(of: "\n  },"))
        var keys: Set<String> = []
        for line in body[..<end.lowerBound].split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("//") || trimmed.isEmpty { continue }
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            keys.insert(String(trimmed[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        return keys
    }

    static func matches(_ pattern: String, in text: String) throws -> [String] {
        let expression = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return expression.matches(in: text, range: range).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    @Test(arguments: pages)
    func everyKeyThePageUsesIsInItsCatalog(_ page: Page) throws {
        let catalog = try Self.keys(ofCatalog: try Self.read(page.catalog))
        #expect(catalog.count > 10, "the catalog of the \(page.name) was not read")
        let html = try Self.read(page.html)
        var used = try Self.matches(#"data-t(?:-label)?="([^"]+)""#, in: html)
        for script in page.scripts {
            used += try Self.matches(#"(?<![\w.$])t\("([^"]+)""#, in: try Self.read(script))
        }
        #expect(used.count > 10)
        let missing = Set(used).subtracting(catalog)
        #expect(missing.isEmpty, "\(page.name): keys not in \(page.catalog): \(missing.sorted())")
    }

    @Test(arguments: pages)
    func thePageHasNoTextOutsideTheCatalog(_ page: Page) throws {
        let html = try Self.read(page.html)
        let body = String(html[try #require(html.range(of: "<body>")).upperBound...])
        // Words between tags belong to an element with a data-t key (the text is the catalog's
        // English, there for a browser without scripts and replaced when the page starts).
        let expression = try NSRegularExpression(pattern: #"<([a-zA-Z0-9]+)([^>]*)>([^<]*)"#)
        var bare: [String] = []
        for match in expression.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            guard let attributes = Range(match.range(at: 2), in: body),
                let text = Range(match.range(at: 3), in: body)
            else { continue }
            let words = body[text].trimmingCharacters(in: .whitespacesAndNewlines)
            // Figures with no words ("0:00", a timer's start) need no translation.
            guard words.contains(where: \.isLetter) else { continue }
            if !body[attributes].contains("data-t=") { bare.append(words) }
        }
        #expect(bare.isEmpty, "\(page.name): text not from the catalog: \(bare)")
        // Labels and hints written as attributes come from the catalog too.
        for attribute in ["aria-label", "placeholder", "title"] {
            let tags = try Self.matches(#"(<[^>]*\s\#(attribute)="[^"]*"[^>]*>)"#, in: body)
            let untranslated = tags.filter { !$0.contains("data-t-label=") || attribute != "aria-label" }
            #expect(untranslated.isEmpty, "\(page.name): \(attribute) not from the catalog: \(untranslated)")
        }
    }
}
