import DialerCore
import DialerMedia
import DialerTestSupport
import NIOCore
import Testing

private let answered = Moment(nanosecondsSinceOrigin: 5_000_000_000)

private func address(_ port: Int) throws -> SocketAddress { try SocketAddress(ipAddress: "192.0.2.1", port: port) }

private func rtp(_ sequence: UInt16, payloadType: UInt8 = 0, payload: [UInt8] = [0xFF, 0x80, 0x00]) throws -> [UInt8] {
    try RTPPacket(payloadType: payloadType, sequenceNumber: sequence, timestamp: 0, ssrc: 1, payload: payload)
        .serialized()
}

@Suite("RTP relay between the customer's and the agent's legs")
struct RTPRelayTests {
    @Test func forwardsEachLegsPacketsToTheOtherLegsRemoteUnchanged() throws {
        let customer = try address(4000)
        let agent = try address(6000)
        var relay = RTPRelay(
            customer: .init(remote: customer, codec: .muLaw), agent: .init(remote: agent, codec: .muLaw),
            measuredFrom: answered)
        let fromCustomer = try rtp(1)
        #expect(
            relay.receive(fromCustomer, from: customer, on: .customer, at: answered + .milliseconds(5))
                == .send(bytes: fromCustomer, on: .agent, to: agent))
        #expect(relay.firstAgentAudioLatency == nil)  // the customer has not heard the agent yet
        // The agent has: the customer's first packet went to the phone 5 ms after the 200 OK.
        #expect(relay.firstCustomerAudioLatency == .milliseconds(5))
        _ = relay.receive(fromCustomer, from: customer, on: .customer, at: answered + .milliseconds(25))
        #expect(relay.firstCustomerAudioLatency == .milliseconds(5))
        let fromAgent = try rtp(9)
        #expect(
            relay.receive(fromAgent, from: agent, on: .agent, at: answered + .milliseconds(37))
                == .send(bytes: fromAgent, on: .customer, to: customer))
        _ = relay.receive(fromAgent, from: agent, on: .agent, at: answered + .milliseconds(57))
        #expect(relay.firstAgentAudioLatency == .milliseconds(37))
        #expect(relay.counters(for: .customer).forwarded == 2)
        #expect(relay.counters(for: .agent).forwarded == 2)
        #expect(relay.counters(for: .agent).forwardedBytes == 2 * fromAgent.count)
    }

    @Test func dropsStrangersGarbageAndPacketsWithNowhereToGo() throws {
        let customer = try address(4000)
        var relay = RTPRelay(
            customer: .init(remote: customer, codec: .muLaw), agent: .init(remote: nil, codec: .muLaw),
            measuredFrom: answered)
        #expect(relay.receive(try rtp(1), from: try address(4001), on: .customer, at: answered) == nil)
        #expect(relay.receive([1, 2, 3], from: customer, on: .customer, at: answered) == nil)
        #expect(relay.receive(try rtp(2), from: customer, on: .customer, at: answered) == nil)
        let counters = relay.counters(for: .customer)
        // Nothing reached the agent: a packet with nowhere to go is not the agent hearing it.
        #expect(relay.firstCustomerAudioLatency == nil)
        #expect(counters.received == 3)
        #expect(counters.fromStranger == 1)
        #expect(counters.malformed == 1)
        #expect(counters.noDestination == 1)
        #expect(counters.forwarded == 0)
        // The agent's answer arrives: packets flow.
        relay.update(.agent, to: .init(remote: try address(6000), codec: .muLaw))
        #expect(relay.receive(try rtp(3), from: customer, on: .customer, at: answered) != nil)
    }

    @Test func latchesToTheFirstSourceWhenAsked() throws {
        let natted = try address(31000)
        var relay = RTPRelay(
            customer: .init(remote: try address(4000), codec: .muLaw),
            agent: .init(remote: try address(6000), codec: .muLaw, latchesToSource: true), measuredFrom: answered)
        _ = relay.receive(try rtp(1), from: natted, on: .agent, at: answered)
        #expect(relay.leg(.agent).remote == natted)
        #expect(relay.receive(try rtp(2), from: try address(6000), on: .agent, at: answered) == nil)
        #expect(relay.counters(for: .agent).fromStranger == 1)
        // Customer audio now goes where the agent's phone really is.
        guard case .send(_, _, let to) = relay.receive(try rtp(3), from: try address(4000), on: .customer, at: answered)
        else {
            Issue.record("customer audio was not forwarded")
            return
        }
        #expect(to == natted)
    }

    @Test func convertsBetweenMuLawAndALawButPassesOtherPayloadTypes() throws {
        let customer = try address(4000)
        let agent = try address(6000)
        var relay = RTPRelay(
            customer: .init(remote: customer, codec: .muLaw), agent: .init(remote: agent, codec: .aLaw),
            measuredFrom: answered)
        let muLaw: [UInt8] = [0xFF, 0x80, 0x00, 0xEF]
        guard
            case .send(let bytes, _, _) = relay.receive(
                try rtp(1, payload: muLaw), from: customer, on: .customer, at: answered)
        else {
            Issue.record("not forwarded")
            return
        }
        let converted = try RTPPacket(parsing: bytes)
        #expect(converted.payloadType == 8)
        #expect(converted.sequenceNumber == 1)
        #expect(converted.payload == G711Codec.aLaw.encode(G711Codec.muLaw.decode(muLaw)))
        // telephone-event (a dynamic type) is not audio to convert.
        let event = try rtp(2, payloadType: 101, payload: [1, 0, 0, 160])
        #expect(
            relay.receive(event, from: customer, on: .customer, at: answered)
                == .send(bytes: event, on: .agent, to: agent))
        #expect(relay.counters(for: .customer).transcoded == 1)
    }

    @Test func bridgesRealUDPLegsAndMeasuresTheFirstAgentAudio() async throws {
        let clock = ManualClock(start: answered)
        let customerPhone = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let agentPhone = try await MediaSocket.bind(host: "127.0.0.1", port: 0)
        let relay = RTPRelay(
            customer: .init(remote: customerPhone.localAddress, codec: .muLaw),
            agent: .init(remote: agentPhone.localAddress, codec: .muLaw), measuredFrom: answered)
        let server = try await RTPRelayServer.start(relay: relay, host: "127.0.0.1", clock: clock)
        let customerPort = try #require(server.localAddresses[.customer])
        let agentPort = try #require(server.localAddresses[.agent])

        var atAgent = agentPhone.inbound.makeAsyncIterator()
        var atCustomer = customerPhone.inbound.makeAsyncIterator()
        for sequence in UInt16(1)...3 {
            try await customerPhone.send(try rtp(sequence), to: customerPort)
            let datagram = try #require(await atAgent.next())
            #expect(datagram.source.port == agentPort.port)
            #expect(try RTPPacket(parsing: datagram.bytes).sequenceNumber == sequence)
        }
        clock.advance(by: .milliseconds(42))
        try await agentPhone.send(try rtp(77), to: agentPort)
        let heard = try #require(await atCustomer.next())
        #expect(try RTPPacket(parsing: heard.bytes).sequenceNumber == 77)

        let state = try await server.snapshot()
        #expect(state.counters(for: .customer).forwarded == 3)
        #expect(state.counters(for: .agent).forwarded == 1)
        #expect(state.firstAgentAudioLatency == .milliseconds(42))
        await server.close()
        await customerPhone.close()
        await agentPhone.close()
    }
}
