import DialerSIP
import Testing

/// Runs a transaction's timers on a manual time line: the schedule of what was sent when.
struct TimerBench {
    var now: Duration = .zero
    var deadlines: [SIPTimer: Duration] = [:]
    var sent: [(Duration, SIPMessage, Bool)] = []
    var delivered: [Int] = []
    var timedOut: [SIPTimer] = []
    var terminated = false

    mutating func perform(_ actions: [SIPTransactionAction]) {
        for action in actions {
            switch action {
            case .send(let message, let retransmission): sent.append((now, message, retransmission))
            case .startTimer(let timer, let after): deadlines[timer] = now + after
            case .cancelTimer(let timer): deadlines[timer] = nil
            case .deliver(let response): delivered.append(response.statusCode)
            case .deliverRequest: break
            case .timedOut(let timer): timedOut.append(timer)
            case .terminated: terminated = true
            }
        }
    }

    /// Fires the earliest timer not later than `limit`; returns it.
    mutating func fireNext(until limit: Duration, _ fire: (SIPTimer) -> [SIPTransactionAction]) -> SIPTimer? {
        guard let (timer, deadline) = deadlines.min(by: { $0.value < $1.value }), deadline <= limit else { return nil }
        now = deadline
        deadlines[timer] = nil
        perform(fire(timer))
        return timer
    }
}

func request(_ method: String, branch: String = "z9hG4bKt1") -> SIPRequest {
    SIPRequest(
        method: method, uri: SIPURI(user: "+4522222222", host: "carrier.example"),
        headers: SIPHeaders([
            ("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=\(branch)"), ("From", "<sip:a@x>;tag=1"), ("To", "<sip:b@x>"),
            ("Call-ID", "t@x"), ("CSeq", "1 \(method)"), ("Max-Forwards", "70"),
        ]))
}

func response(_ code: Int, to request: SIPRequest, toTag: String? = "r1") -> SIPResponse {
    var headers = SIPHeaders()
    for name in ["Via", "From", "Call-ID", "CSeq"] { if let value = request.headers[name] { headers.add(name, value) } }
    headers.add("To", (request.headers["To"] ?? "") + (toTag.map { ";tag=\($0)" } ?? ""))
    return SIPResponse(statusCode: code, headers: headers)
}

@Suite("SIP transactions on a manual clock")
struct SIPTransactionTests {
    let timers = SIPTimers()

    @Test("INVITE client over UDP: A doubles from T1 without a cap, B times out at 64·T1")
    func inviteRetransmitsThenTimerB() {
        var transaction = SIPClientTransaction(request: request("INVITE"), reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.start())
        while bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) != nil {}
        let times = bench.sent.map { $0.0 }
        #expect(times == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5].map { Duration.milliseconds(Int($0 * 1000)) })
        #expect(bench.timedOut == [.b])
        #expect(bench.now == .seconds(32))
        #expect(bench.terminated)
    }

    @Test("INVITE client over TCP: no retransmission, B still runs")
    func inviteReliable() {
        var transaction = SIPClientTransaction(request: request("INVITE"), reliable: true)
        var bench = TimerBench()
        bench.perform(transaction.start())
        while bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) != nil {}
        #expect(bench.sent.count == 1)
        #expect(bench.timedOut == [.b])
    }

    @Test("INVITE client: a provisional stops A; a busy is ACKed on the same branch; its repeat is re-ACKed; D ends it")
    func inviteBusy() {
        let invite = request("INVITE")
        var transaction = SIPClientTransaction(request: invite, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.start())
        bench.perform(transaction.receive(response(180, to: invite)))
        #expect(bench.deadlines[.a] == nil)
        #expect(bench.deadlines[.b] != nil)
        bench.perform(transaction.receive(response(486, to: invite)))
        #expect(bench.delivered == [180, 486])
        guard case .request(let ack) = bench.sent.last?.1 else {
            Issue.record("no ACK")
            return
        }
        #expect(ack.method == "ACK")
        #expect(ack.headers.vias.first?.branch == "z9hG4bKt1")
        #expect(ack.headers.cseq == SIPCSeq(1, "ACK"))
        #expect(ack.headers.to?.tag == "r1")
        bench.perform(transaction.receive(response(486, to: invite)))
        #expect(bench.sent.filter { if case .request(let r) = $0.1 { r.method == "ACK" } else { false } }.count == 2)
        #expect(bench.delivered == [180, 486])
        #expect(bench.fireNext(until: .seconds(40), { transaction.timerFired($0) }) == .d)
        #expect(bench.now == .seconds(32))
        #expect(bench.terminated)
    }

    @Test("INVITE client: a 2xx ends the transaction at once; the dialog ACKs it")
    func inviteSuccess() {
        let invite = request("INVITE")
        var transaction = SIPClientTransaction(request: invite, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.start())
        bench.perform(transaction.receive(response(200, to: invite)))
        #expect(bench.delivered == [200])
        #expect(bench.terminated)
        #expect(bench.deadlines.isEmpty)
        #expect(bench.sent.count == 1)
    }

    @Test("non-INVITE client over UDP: E doubles up to T2, then F times out at 64·T1")
    func nonInviteSchedule() {
        var transaction = SIPClientTransaction(request: request("OPTIONS"), reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.start())
        while bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) != nil {}
        let gaps = zip(bench.sent.dropFirst(), bench.sent).map { $0.0 - $1.0 }
        #expect(Array(gaps.prefix(5)) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4)])
        #expect(gaps.allSatisfy { $0 <= .seconds(4) })
        #expect(bench.timedOut == [.f])
        #expect(bench.now == .seconds(32))
    }

    @Test("non-INVITE client: in Proceeding E fires every T2; a final starts K (T4 over UDP)")
    func nonInviteProceeding() {
        let options = request("BYE")
        var transaction = SIPClientTransaction(request: options, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.start())
        bench.perform(transaction.receive(response(100, to: options)))
        _ = bench.fireNext(until: .seconds(1), { transaction.timerFired($0) })
        #expect(bench.deadlines[.e] == bench.now + .seconds(4))
        bench.perform(transaction.receive(response(200, to: options)))
        #expect(bench.delivered == [100, 200])
        #expect(bench.deadlines[.k] == bench.now + .seconds(5))
        #expect(bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) == .k)
        #expect(bench.terminated)
    }

    @Test("INVITE server: a final non-2xx is resent on G (doubling to T2) until H at 64·T1; ACK confirms")
    func inviteServerTimerH() {
        let invite = request("INVITE")
        var transaction = SIPServerTransaction(request: invite, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.respond(response(180, to: invite)))
        bench.perform(transaction.receive(invite))  // a retransmitted INVITE gets the 180 again
        #expect(bench.sent.count == 2)
        bench.perform(transaction.respond(response(486, to: invite)))
        while bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) != nil {}
        let resends = bench.sent.dropFirst(3).map { $0.0 }
        #expect(Array(resends.prefix(5)) == [0.5, 1.5, 3.5, 7.5, 11.5].map { Duration.milliseconds(Int($0 * 1000)) })
        #expect(bench.timedOut == [.h])
        #expect(bench.now == .seconds(32))

        var confirmed = SIPServerTransaction(request: invite, reliable: false)
        var bench2 = TimerBench()
        bench2.perform(confirmed.respond(response(486, to: invite)))
        var ack = invite
        ack.method = "ACK"
        bench2.perform(confirmed.receive(ack))
        #expect(confirmed.state == .confirmed)
        #expect(bench2.fireNext(until: .seconds(100), { confirmed.timerFired($0) }) == .i)
        #expect(bench2.timedOut.isEmpty)
        #expect(bench2.terminated)
    }

    @Test("INVITE server: a 2xx is retransmitted until the ACK, which reaches the transaction user")
    func inviteServerAccepted() {
        let invite = request("INVITE")
        var transaction = SIPServerTransaction(request: invite, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.respond(response(200, to: invite)))
        _ = bench.fireNext(until: .seconds(1), { transaction.timerFired($0) })
        #expect(bench.sent.count == 2)
        var ack = invite
        ack.method = "ACK"
        let actions = transaction.receive(ack)
        #expect(actions.contains(.deliverRequest(ack)))
        bench.perform(actions)
        #expect(bench.terminated)
    }

    @Test("non-INVITE server: retransmitted requests get the last response; J ends it (zero over TCP)")
    func nonInviteServer() {
        let bye = request("BYE")
        var transaction = SIPServerTransaction(request: bye, reliable: false)
        var bench = TimerBench()
        bench.perform(transaction.respond(response(200, to: bye)))
        bench.perform(transaction.receive(bye))
        #expect(bench.sent.count == 2)
        #expect(bench.sent[1].2)
        #expect(bench.fireNext(until: .seconds(100), { transaction.timerFired($0) }) == .j)
        #expect(bench.now == .seconds(32))
        var reliable = SIPServerTransaction(request: bye, reliable: true)
        var bench2 = TimerBench()
        bench2.perform(reliable.respond(response(200, to: bye)))
        #expect(bench2.deadlines[.j] == .zero)
    }
}
