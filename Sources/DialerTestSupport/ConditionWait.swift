/// Polls `condition` every `interval` until it holds or `timeout` passes, then asks once more;
/// returns whether it held. The deadline is there only to end a stuck test: callers give a
/// generous one and assert on the result, never on how long it took.
public func waitForCondition(
    timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    }
    return (try? await condition()) == true
}
