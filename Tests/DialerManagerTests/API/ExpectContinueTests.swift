import DialerRuntime
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DialerManager

#if canImport(Glibc)
import Glibc
#endif

/// `curl -T` sends `Expect: 100-continue` and holds the body back until the server says
/// `100 Continue` (or a second passes): the API answers at once, before reading the body.
@Suite("Manager API: Expect: 100-continue")
struct ExpectContinueTests {
    @Test func anUploadThatExpects100ContinueGetsItBeforeSendingItsBody() async throws {
        let fixture = try await APIFixture()
        let (router, _) = fixture.process.makeRouter()
        let app = Application(
            router: router, server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let token = fixture.adminToken
        try await app.test(.live) { client in
            let created = try await client.call(.post, "/v1/lists", token: token, body: #"{"id": "l1", "name": "L"}"#)
            #expect(created.status == .created)
            let port = try #require(client.port)
            let body = "phone\n+12125550100\n"
            let exchange = try await Task.detached {
                try RawHTTP.exchange(
                    port: port,
                    head: "POST /v1/lists/l1/imports?wait=true HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Authorization: Bearer \(token)\r\nContent-Type: text/csv\r\n"
                        + "Content-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n",
                    body: body)
            }.value
            // The body was not sent until the interim answer came (the client waits up to 30 s).
            #expect(exchange.interim.hasPrefix("HTTP/1.1 100 Continue"), "\(exchange.interim)")
            #expect(exchange.final.hasPrefix("HTTP/1.1 200"), "\(exchange.final)")
            #expect(exchange.final.contains(#""accepted":1"#), "\(exchange.final)")
        }
        try? FileManager.default.removeItem(atPath: fixture.directory)
    }
}

/// A minimal HTTP/1.1 client on a blocking socket: sends a head, waits for the interim answer
/// before sending the body, as curl does.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func exchange(port: Int, head: String, body: String) throws -> (interim: String, final: String) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect") }
        try send(head, on: socket)
        var received = ""
        while !received.contains("\r\n\r\n") { received += try receive(on: socket) }
        let interim = received
        try send(body, on: socket)
        received = ""
        while !isComplete(received) { received += try receive(on: socket) }
        return (interim, received)
    }

    private static func send(_ text: String, on socket: Int32) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "send") }
            sent += count
        }
    }

    private static func receive(on socket: Int32) throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(socket, &buffer, buffer.count, 0)
        guard count > 0 else { throw Failure(description: "no answer (recv \(count))") }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// A final response whose body (by Content-Length) has fully arrived.
    private static func isComplete(_ text: String) -> Bool {
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return true }
        return text[end.upperBound...].utf8.count >= length
    }
}
