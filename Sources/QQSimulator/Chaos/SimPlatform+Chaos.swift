extension SimPlatform {
    /// Starts injecting faults on `chaos`'s schedule (replacing a schedule already running).
    public func startChaos(_ chaos: SimChaos) {
        chaosTask?.cancel()
        self.chaos = SimChaosReport(seed: chaos.seed, meanGapMs: Int((chaos.meanGap / .milliseconds(1)).rounded()),
                                    running: true, injected: [:])
        chaosTask = Task { [weak self, clock] in
            var schedule = chaos
            while !Task.isCancelled {
                let step = schedule.next()
                do { try await clock.sleep(step.gap) } catch { return }
                guard let self, await self.injectChaos(step) else { return }
            }
        }
    }

    /// Stops the schedule and undoes what lingers (refusals, stalled ACKs, queued odd answers, delays);
    /// returns what was injected. Sockets closed or frozen stay so: the client recovers from them.
    @discardableResult
    public func stopChaos() -> SimChaosReport? {
        chaosTask?.cancel()
        chaosTask = nil
        chaos?.running = false
        if chaos != nil { apply(.clear) }
        return chaos
    }

    /// What the current (or last) chaos run injected.
    public func chaosReport() -> SimChaosReport? { chaos }

    /// Applies one step unless the schedule was stopped meanwhile; false once it was.
    private func injectChaos(_ step: SimChaos.Step) -> Bool {
        guard !Task.isCancelled, !stopping, chaos?.running == true else { return false }
        for fault in step.faults { apply(fault) }
        chaos?.injected[step.kind.rawValue, default: 0] += 1
        return true
    }
}
