import DialerRuntime
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DialerManager

/// The console's static files: content types, ETags and 304, unknown paths and path traversal.
@Suite("Pages: static assets")
struct PagesServingTests {
    @Test func theConsoleIsServedWithItsContentTypesAndAnETag() async throws {
        let fixture = try await APIFixture()
        let (router, _) = fixture.process.makeRouter()
        try await Application(router: router).test(.router) { client in
            for (path, type) in [
                ("/console/", "text/html; charset=utf-8"), ("/console/live", "text/html; charset=utf-8"),
                ("/console/console.js", "text/javascript; charset=utf-8"),
                ("/console/console.css", "text/css; charset=utf-8"),
                ("/console/strings.js", "text/javascript; charset=utf-8"),
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == type, "\(path)")
                    #expect(response.headers[.eTag]?.hasPrefix("\"") == true, "\(path)")
                    #expect(response.headers[.cacheControl] == "no-cache", "\(path)")
                    #expect(response.body.readableBytes > 0, "\(path)")
                }
            }
            // No token is needed for the pages themselves: they ask for one.
            try await client.execute(uri: "/console", method: .get) { response in
                #expect(response.status == .movedPermanently)
                #expect(response.headers[.location] == "/console/")
            }
        }
    }

    @Test func aRequestWithTheCurrentETagGets304AndAnOtherOneTheFile() async throws {
        let fixture = try await APIFixture()
        let (router, _) = fixture.process.makeRouter()
        try await Application(router: router).test(.router) { client in
            let etag = try await client.execute(uri: "/console/console.js", method: .get) { response in
                try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/console/console.js", method: .get, headers: [.ifNoneMatch: etag]) {
                response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.eTag] == etag)
            }
            try await client.execute(
                uri: "/console/console.js", method: .get, headers: [.ifNoneMatch: "\"other\", W/\(etag)"]
            ) { response in
                #expect(response.status == .notModified)
            }
            try await client.execute(uri: "/console/console.js", method: .get, headers: [.ifNoneMatch: "\"stale\""]) {
                response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes > 0)
            }
        }
    }

    @Test func unknownPathsAndTraversalAre404() async throws {
        let fixture = try await APIFixture()
        let (router, _) = fixture.process.makeRouter()
        try await Application(router: router).test(.router) { client in
            for path in [
                "/console/nothing.js", "/console/../Package.swift", "/console/%2e%2e/%2e%2e/etc/passwd",
                "/console/..%2fPackage.swift", "/console//etc/passwd", "/console/.hidden", "/console/live/x",
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path) answered \(response.status)")
                }
            }
        }
    }

    @Test func etagsDifferWhenTheBytesDo() {
        let assets = StaticAssets(assets: ["a.js": Array("one".utf8), "b.js": Array("two".utf8), "c.svg": [1]])
        #expect(assets.asset(at: "a.js")?.etag != assets.asset(at: "b.js")?.etag)
        #expect(assets.asset(at: "c.svg")?.contentType == "image/svg+xml")
        #expect(StaticAssets.contentType(of: "x.unknown") == "application/octet-stream")
        #expect(assets.asset(at: "../a.js") == nil)
    }
}

/// The live panel's server-sent events: bounded buffers, slow clients dropped, the route.
@Suite("Pages: live events")
struct LiveEventsTests {
    @Test func aSubscriberGetsTheLatestSnapshotAtOnceThenEveryNewOne() async throws {
        let feed = LiveFeed(bufferedEvents: 8)
        await feed.publish(snapshot: #"{"n":1}"#)
        let (_, events) = await feed.subscribe()
        await feed.publish(snapshot: #"{"n":2}"#)
        await feed.finishAll()
        var received: [String] = []
        for await event in events { received.append(event) }
        #expect(received.first == "retry: 2000\n\n")
        #expect(received.dropFirst().map { $0.contains("event: snapshot\ndata: {\"n\":") } == [true, true])
        #expect(received.last?.hasSuffix("data: {\"n\":2}\n\n") == true)
    }

    @Test func aClientThatDoesNotReadIsDroppedNotBufferedForever() async throws {
        let feed = LiveFeed(bufferedEvents: 4)
        let (_, slow) = await feed.subscribe()
        let (fastID, fast) = await feed.subscribe()
        var fastIterator = fast.makeAsyncIterator()
        _ = await fastIterator.next()  // retry
        for number in 0..<10 {
            await feed.publish(snapshot: #"{"n":\#(number)}"#)
            _ = await fastIterator.next()
        }
        #expect(await feed.dropped == 1)
        // The slow client's stream ends after what its buffer held: the retry line and three.
        var held = 0
        for await _ in slow { held += 1 }
        #expect(held == 4)
        await feed.unsubscribe(fastID)
        #expect(await feed.hasSubscribers == false)
    }

    @Test func theRouteNeedsATokenAndStreamsSnapshots() async throws {
        let fixture = try await APIFixture()
        let (router, _) = fixture.process.makeRouter()
        let feed = fixture.process.liveFeed
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/live/events", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            let bad = try await client.call(.get, "/v1/live/events?max_events=0", token: fixture.adminToken)
            #expect(bad.status == .badRequest)
            #expect(bad.message.contains("max_events"))
            // Publish once the request has subscribed; two snapshots end the stream.
            let publisher = Task {
                while !(await feed.hasSubscribers) { try await Task.sleep(for: .milliseconds(5)) }
                await feed.publish(snapshot: #"{"n":1}"#)
                await feed.publish(snapshot: #"{"n":2}"#)
            }
            try await client.execute(
                uri: "/v1/live/events?max_events=2", method: .get,
                headers: [.authorization: "Bearer \(fixture.adminToken)"]
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                #expect(text.hasPrefix("retry: 2000\n\n"))
                #expect(text.components(separatedBy: "event: snapshot\n").count == 3, "\(text)")
            }
            try await publisher.value
        }
    }
}
