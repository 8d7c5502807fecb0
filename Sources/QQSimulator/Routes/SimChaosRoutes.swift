import Foundation
import Hummingbird

/// The chaos control API: start a seeded fault schedule, read what it injected, stop it.
enum SimChaosRoutes {
    static func add(to router: Router<BasicRequestContext>, platform: SimPlatform) {
        router.post("/sim/chaos") { request, _ -> Response in
            let (json, _) = await SimRouter.body(request, limit: 64 * 1024)
            switch parse(json) {
            case .success(let chaos):
                await platform.startChaos(chaos)
                return SimJSON.response(await platform.chaosReport())
            case .failure(let problem):
                return SimControlRoutes.bad(problem.message)
            }
        }
        router.get("/sim/chaos") { _, _ -> Response in
            SimJSON.response(await platform.chaosReport() ?? SimChaosReport(seed: 0, meanGapMs: 0, running: false, injected: [:]))
        }
        router.delete("/sim/chaos") { _, _ -> Response in
            SimJSON.response(await platform.stopChaos() ?? SimChaosReport(seed: 0, meanGapMs: 0, running: false, injected: [:]))
        }
    }

    struct Problem: Error { var message: String }

    /// `{"seed": N, "mean_gap_ms"?: 500, "kinds"?: ["drop", …], "max_slow_ms"?, "max_refuse_seconds"?}`.
    static func parse(_ json: JSONBody?) -> Result<SimChaos, Problem> {
        guard let seedValue = json?["seed"], let seed = seedValue.int, seed >= 0 else {
            return .failure(Problem(message: "seed (a non-negative integer) is required"))
        }
        let gap = json?["mean_gap_ms"]?.int ?? 500
        guard gap >= 1 else { return .failure(Problem(message: "mean_gap_ms must be at least 1")) }
        var kinds = Set(SimChaos.Kind.allCases)
        if let names = json?["kinds"]?.array {
            let parsed = names.compactMap { $0.string.flatMap(SimChaos.Kind.init(rawValue:)) }
            guard parsed.count == names.count, !parsed.isEmpty else {
                return .failure(Problem(message: "kinds must be a non-empty list of: "
                                        + SimChaos.Kind.allCases.map(\.rawValue).joined(separator: ", ")))
            }
            kinds = Set(parsed)
        }
        var chaos = SimChaos(seed: UInt64(seed), meanGap: .milliseconds(gap), kinds: kinds)
        if let slow = json?["max_slow_ms"]?.int { chaos.maxSlowMs = max(100, slow) }
        if case .number(let seconds)? = json?["max_refuse_seconds"] { chaos.maxRefuseSeconds = max(0.1, seconds) }
        return .success(chaos)
    }
}
