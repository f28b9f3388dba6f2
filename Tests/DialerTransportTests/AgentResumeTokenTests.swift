import Foundation
import Testing

@testable import DialerTransport

@Suite("Agents' resume tokens: signed, expiring, tied to a credential generation")
struct AgentResumeTokenTests {
    let tokens = AgentResumeTokens(secret: "cluster-secret", lifetime: .seconds(3600))
    let now: UInt64 = 1_800_000_000_000

    @Test func aTokenVerifiesToWhatWasIssued() throws {
        let issued = tokens.issue(agent: "ann", generation: 42, nowMs: now)
        #expect(issued.expiresAtMs == now + 3_600_000)
        let claims = try tokens.verify(issued.token, nowMs: now + 1000)
        #expect(claims == .init(agent: "ann", generation: 42, expiresAtMs: now + 3_600_000))
        // Text safe for JSON and URLs.
        #expect(issued.token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    @Test func anExpiredTokenIsRefused() {
        let issued = tokens.issue(agent: "ann", generation: 1, nowMs: now)
        #expect(throws: AgentResumeTokens.Refusal.expired) {
            try tokens.verify(issued.token, nowMs: now + 3_600_000)
        }
        #expect(throws: AgentResumeTokens.Refusal.expired) {
            try tokens.verify(issued.token, nowMs: UInt64.max)
        }
    }

    @Test func aTokenSignedWithAnotherSecretIsRefused() {
        let other = AgentResumeTokens(secret: "another-cluster", lifetime: .seconds(3600))
        let issued = other.issue(agent: "ann", generation: 1, nowMs: now)
        #expect(throws: AgentResumeTokens.Refusal.badSignature) { try tokens.verify(issued.token, nowMs: now) }
    }

    /// Every byte of a token matters: flipping any bit of the agent, expiry, generation or the
    /// signature itself is caught by the signature (or the layout).
    @Test func everyTamperedByteIsRefused() throws {
        let issued = tokens.issue(agent: "ann", generation: 7, nowMs: now)
        let bytes = try #require(AgentResumeTokens.decodeBase64URL(issued.token))
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x01
            let text = AgentResumeTokens.base64URL(tampered)
            #expect(throws: AgentResumeTokens.Refusal.self) { try tokens.verify(text, nowMs: now) }
        }
        // A token for bob made by swapping the name (lengths equal) fails the signature.
        var swapped = bytes
        swapped.replaceSubrange(18..<21, with: Array("bob".utf8))
        #expect(throws: AgentResumeTokens.Refusal.badSignature) {
            try tokens.verify(AgentResumeTokens.base64URL(swapped), nowMs: now)
        }
    }

    @Test func malformedTokensAreRefusedWithoutTrapping() {
        let long = String(repeating: "A", count: AgentResumeTokens.maximumLength + 1)
        for text in ["", "!!!", "A", "AAAA", "v1.abc.def", "+/+/", long, "🙂🙂🙂🙂"] {
            #expect(throws: AgentResumeTokens.Refusal.self) { try tokens.verify(text, nowMs: now) }
        }
        // An unknown version byte.
        var body: [UInt8] = [2] + AgentResumeTokens.bigEndian(now + 1000) + AgentResumeTokens.bigEndian(1) + [1, 65]
        body += [UInt8](repeating: 0, count: 32)
        #expect(throws: AgentResumeTokens.Refusal.malformed("unknown version 2")) {
            try tokens.verify(AgentResumeTokens.base64URL(body), nowMs: now)
        }
        // An agent id length that does not match the token's length.
        body[0] = 1
        body[17] = 9
        #expect(throws: AgentResumeTokens.Refusal.self) {
            try tokens.verify(AgentResumeTokens.base64URL(body), nowMs: now)
        }
    }

    /// A validly signed expiry further ahead than any issuer makes is refused: the range of a
    /// number from outside is checked even when it is signed.
    @Test func anExpiryBeyondTheLongestLifetimeIsRefused() {
        let issued = tokens.issue(agent: "ann", generation: 1, nowMs: now + 8 * 24 * 3_600_000)
        #expect(throws: AgentResumeTokens.Refusal.expiryTooFar) { try tokens.verify(issued.token, nowMs: now) }
        // Issuing near the end of time does not overflow.
        let late = tokens.issue(agent: "ann", generation: 1, nowMs: UInt64.max - 10)
        #expect(late.expiresAtMs == UInt64.max)
    }

    /// The generation is the stored update time's exact bits: a password change a moment later
    /// gives another one.
    @Test func theGenerationChangesWithTheRecordsUpdateTime() {
        let first = Date(timeIntervalSinceReferenceDate: 800_000_000.123456)
        let second = first.addingTimeInterval(0.000_001)
        #expect(AgentResumeTokens.generation(updatedAt: first) != AgentResumeTokens.generation(updatedAt: second))
        #expect(AgentResumeTokens.generation(updatedAt: first) == AgentResumeTokens.generation(updatedAt: first))
    }

    @Test func aLongAgentIDFitsTheLengthLimit() throws {
        let id = String(repeating: "é", count: 64)  // 128 bytes
        let issued = tokens.issue(agent: id, generation: UInt64.max, nowMs: now)
        #expect(issued.token.utf8.count <= AgentResumeTokens.maximumLength)
        #expect(try tokens.verify(issued.token, nowMs: now).agent == id)
    }
}
