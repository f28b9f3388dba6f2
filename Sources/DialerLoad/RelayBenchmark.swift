import DialerCore
import DialerMedia
import Foundation
import NIOCore

/// `dialer-bench --only relay`: the delay one RTP packet takes through the node's media relay
/// on loopback, against the same packet sent straight from one UDP port to another.
///
/// Packets go one at a time (the next after the last arrived), so the figures are the relay's
/// own delay on an idle loop, not queueing; a G.711 call is 50 packets a second each way.
public enum RelayBenchmark {
    /// The table in Markdown.
    public static func report(packets: Int) async throws -> String {
        let customerPhone = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let agentPhone = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let relay = RTPRelay(
            customer: .init(remote: customerPhone.localAddress, codec: .muLaw),
            agent: .init(remote: agentPhone.localAddress, codec: .muLaw), measuredFrom: SystemClock().now())
        let server = try await RTPRelayServer.start(relay: relay, host: "127.0.0.1", clock: SystemClock())
        do {
            let table = try await measure(
                server: server, customerPhone: customerPhone, agentPhone: agentPhone, packets: packets)
            await close(server, customerPhone, agentPhone)
            return table
        } catch {
            await close(server, customerPhone, agentPhone)
            throw error
        }
    }

    private static func close(_ server: RTPRelayServer, _ sockets: MediaSocket...) async {
        await server.close()
        for socket in sockets { await socket.close() }
    }

    private static func measure(
        server: RTPRelayServer, customerPhone: MediaSocket, agentPhone: MediaSocket, packets: Int
    ) async throws -> String {
        guard let relayPort = server.localAddresses[.customer] else { return "the relay has no customer port" }
        var arrivals = agentPhone.inbound.makeAsyncIterator()
        let payload = [UInt8](repeating: 0xFF, count: 160)

        func measure(to destination: SocketAddress) async throws -> [Double] {
            var delays: [Double] = []
            delays.reserveCapacity(packets)
            for sequence in 0..<packets {
                let packet = try RTPPacket(
                    payloadType: 0, sequenceNumber: UInt16(truncatingIfNeeded: sequence),
                    timestamp: UInt32(truncatingIfNeeded: sequence * 160), ssrc: 1, payload: payload
                ).serialized()
                let sent = ContinuousClock.now
                try await customerPhone.send(packet, to: destination)
                guard await arrivals.next() != nil else { break }
                delays.append(Double((ContinuousClock.now - sent).totalNanoseconds) / 1000)
            }
            return delays.sorted()
        }
        let direct = try await measure(to: agentPhone.localAddress)
        let relayed = try await measure(to: relayPort)
        let state = try await server.snapshot()

        func row(_ name: String, _ delays: [Double]) -> String {
            func at(_ share: Double) -> String {
                delays.isEmpty
                    ? "–" : String(format: "%.0f", delays[min(delays.count - 1, Int(share * Double(delays.count)))])
            }
            return
                "| \(name) | \(delays.count) | \(at(0.5)) | \(at(0.99)) | \(at(0.999)) | \(delays.last.map { String(format: "%.0f", $0) } ?? "–") |"
        }
        return [
            "| path (loopback, one packet at a time) | packets | p50 µs | p99 µs | p99.9 µs | max µs |",
            "|---|---:|---:|---:|---:|---:|",
            row("direct: port to port", direct),
            row("through the relay", relayed),
            "",
            "Relay counters (customer leg): received \(state.counters(for: .customer).received), "
                + "forwarded \(state.counters(for: .customer).forwarded).",
        ].joined(separator: "\n")
    }
}
