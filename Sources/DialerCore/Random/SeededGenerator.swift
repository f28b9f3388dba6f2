/// A small, fast, seeded pseudo-random generator (SplitMix64).
///
/// Everything random in the product that must be repeatable (the simulated trunk's
/// population, synthetic agents, the simulator, randomised tests) draws from one of these,
/// so that the same seed gives the same run on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A new generator whose sequence is independent of this one's, for a sub-component.
    public mutating func split() -> SeededGenerator {
        SeededGenerator(seed: next())
    }
}
