/// Exponential backoff with jitter: `base · 2^(n-1)` capped at `max`, then randomised downward.
struct Backoff: Sendable {
    let base: Duration
    let max: Duration
    /// 0…1: the fraction of the delay that is random.
    let jitter: Double

    init(policy: ReconnectPolicy) {
        base = policy.baseDelay
        max = policy.maxDelay
        jitter = Swift.min(1, Swift.max(0, policy.jitter))
    }

    /// Delay after `failures` consecutive failures (1 = after the first), with `random` in 0…1.
    func delay(afterFailures failures: Int, random: Double) -> Duration {
        guard failures > 0 else { return .zero }
        let exponent = Swift.min(failures - 1, 30)
        let raw = base.seconds * Double(1 << exponent)
        let capped = Swift.min(raw, max.seconds)
        let factor = 1 - jitter * Swift.min(1, Swift.max(0, random))
        return .secondsDouble(capped * factor)
    }
}
