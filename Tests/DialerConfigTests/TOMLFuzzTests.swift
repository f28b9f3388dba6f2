import Testing

@testable import DialerConfig

/// SplitMix64: a tiny seeded generator so that the fuzz inputs are the same on every run
/// (this module cannot depend on DialerCore's `SeededGenerator`).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds the parser and the loader inputs no one would write, to show they never trap and that
/// every error still names a line inside the input.
@Suite("TOML fuzzing")
struct TOMLFuzzTests {
    /// Bytes that matter to the grammar, so random inputs reach deep into the parser.
    static let alphabet: [UInt8] =
        Array("[]\"'=#.,{}\\ \t\n\r_-+0123456789eEabcdefxuUtrnil:".utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xE2, 0xFF]

    static let seedDocument = #"""
        # A cluster file with every construct the parser knows.
        [cluster]
        secret = "fuzz-secret"
        max_frame_bytes = 1_048_576
        heartbeat_interval_ms = 1000
        missed_heartbeats = 3
        lease_duration_ms = 10000
        lease_renew_interval_ms = 2500
        lease_safety_margin_ms = 1500
        log_level = 'info'
        run_directory = ".dialer/fuzz\t\u00e9"

        [manager]
        id = "manager"
        cluster_address = "127.0.0.1:7400"
        http_address = "[::1]:8080"

        [gateway]
        "id" = "gateway"

        [[node]]
        id = "node-1"
        http_address = "localhost:0"

        [[queue]]
        id = "sales"
        kind = "campaign"

        [extra]
        list = [1, 2.5e3, -inf, true, "s", 'l',
        ]
        """#

    @Test func randomBytesNeverCrashTheParser() {
        var random = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...160, using: &random)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &random)
                    ? Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &random)]
                    : UInt8.random(in: 0...255, using: &random)
            }
            check(bytes)
        }
    }

    @Test func mutatedValidFilesNeverCrashTheParserOrTheLoader() throws {
        let original = Array(Self.seedDocument.utf8)
        // The unmutated document is valid, so mutations start from a deep parse.
        _ = try TOMLParser.parse(bytes: original)
        var random = SplitMix64(seed: 0x5EED_0002)
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                mutate(&bytes, using: &random)
            }
            check(bytes)
        }
    }

    private func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        let byte = Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &random)]
        switch Int.random(in: 0..<5, using: &random) {
        case 0 where !bytes.isEmpty:
            bytes[position] = byte
        case 1:
            bytes.insert(byte, at: position)
        case 2 where !bytes.isEmpty:
            bytes.remove(at: position)
        case 3 where !bytes.isEmpty:
            // Duplicate a stretch (repeats keys, tables, quotes).
            let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        default:
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        }
    }

    private func check(_ bytes: [UInt8]) {
        let lines = bytes.count { $0 == UInt8(ascii: "\n") } + 1
        do {
            _ = try TOMLParser.parse(bytes: bytes, fileName: "fuzz.toml")
        } catch {
            #expect(error.line.map { (1...lines).contains($0) } == true, "\(error) for \(bytes)")
            #expect(error.description.hasPrefix("fuzz.toml:"))
        }
        do {
            _ = try ConfigLoader.load(
                contents: String(decoding: bytes, as: UTF8.self), fileName: "fuzz.toml", nodeID: "node-1",
                requireSecret: false)
        } catch {
            #expect(!error.description.isEmpty)
        }
    }
}
