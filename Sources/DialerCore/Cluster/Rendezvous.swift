/// Placement of queues on nodes by rendezvous (highest-random-weight) hashing.
///
/// Every node gets a weight for every queue; the queue belongs to the node with the highest
/// weight. Adding a node moves only the queues for which the new node now has the highest
/// weight, and removing a node moves only the queues it had, so membership changes disturb as
/// few calls in progress as possible.
///
/// The weight must be the same in every process and on every platform, because the manager
/// that places queues and the operator tools that explain placement may run different builds.
/// Swift's `Hasher` is seeded per process, so it is not used: the weight is FNV-1a 64 over the
/// UTF-8 of `node + "\u{0}" + queue`, spread by the MurmurHash3 64-bit finaliser (FNV alone
/// mixes the last bytes poorly, and queue ids often differ only in their last characters).
public enum Rendezvous {
    /// The node that should own `queue` among `nodes`, or `nil` when `nodes` is empty.
    ///
    /// Equal weights (astronomically rare) go to the node with the smallest id, so that the
    /// answer never depends on the order of `nodes`. Duplicates in `nodes` are harmless.
    public static func owner(of queue: QueueID, among nodes: some Collection<MemberID>) -> MemberID? {
        var best: (node: MemberID, weight: UInt64)?
        for node in nodes {
            let weight = weight(of: node, for: queue)
            if let current = best {
                if weight > current.weight || (weight == current.weight && node < current.node) {
                    best = (node, weight)
                }
            } else {
                best = (node, weight)
            }
        }
        return best?.node
    }

    /// The stable weight of `node` for `queue`; the highest weight wins the queue.
    ///
    /// Exposed so that tools can explain a placement (for example the runner-up owner).
    public static func weight(of node: MemberID, for queue: QueueID) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        for byte in node.rawValue.utf8 { mix(byte) }
        // A separator that cannot be confused with text, so that ("ab", "c") and ("a", "bc")
        // do not hash the same bytes.
        mix(0)
        for byte in queue.rawValue.utf8 { mix(byte) }
        return finalise(hash)
    }

    /// MurmurHash3's fmix64: every input bit affects every output bit.
    private static func finalise(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}
