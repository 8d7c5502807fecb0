import Foundation
import QQSimulator
import QQSession

/// The real console loop (UI thread, inbox, coalesced frames, curses) drawing on a pseudo-terminal,
/// with every frame recorded: when it reached the terminal, how long it took, and a value the
/// benchmark reads from the state it drew.
final class ConsoleProbe: @unchecked Sendable {
    struct Frame: Sendable {
        /// Wall clock (ns) after the frame was written to the terminal.
        var at: Int64
        var build: Duration
        var present: Duration
        /// What `inspect` read from the state.
        var value: Int
    }

    let inbox: UIInbox
    private let pty: PseudoTerminal
    private let lock = NSLock()
    private var frames: [Frame] = []
    private let (finished, finish) = AsyncStream.makeStream(of: Void.self)

    /// Starts the loop on its own thread; nil when no pseudo-terminal can be opened.
    init?(rows: Int, cols: Int, inbox: UIInbox = UIInbox(), makeState: @escaping @Sendable () -> ConsoleState,
          perform: @escaping ConsoleLoop.Perform = { _ in }, inspect: @escaping @Sendable (ConsoleState) -> Int) {
        guard let pty = PseudoTerminal(rows: rows, cols: cols) else { return nil }
        self.pty = pty
        self.inbox = inbox
        if ProcessInfo.processInfo.environment["TERM"].map({ $0.isEmpty || $0 == "dumb" }) ?? true {
            setenv("TERM", "xterm-256color", 1)
        }
        TextWidth.ensureUTF8Locale()
        let thread = Thread { [self] in
            let loop = ConsoleLoop(inbox: inbox, state: makeState(), routes: { _ in nil }, perform: perform,
                                   openTerminal: { try Terminal.open(inputFD: pty.slave, outputFD: pty.slave) },
                                   onFrame: { [self] state, build, present in
                                       record(Frame(at: SimPlatform.wallNanoseconds(), build: build, present: present, value: inspect(state)))
                                   })
            try? loop.run()
            finish.yield()
            finish.finish()
        }
        thread.name = "qqtui-bench-ui"
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func record(_ frame: Frame) {
        lock.lock()
        frames.append(frame)
        lock.unlock()
    }

    /// Frames drawn so far.
    var recorded: [Frame] {
        lock.lock()
        defer { lock.unlock() }
        return frames
    }

    var bytesWritten: Int { pty.bytesWritten }

    /// Waits (bounded) until a frame shows `value` or more.
    func waitForValue(_ value: Int, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let last = recorded.last, last.value >= value { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// Quits the loop, waits for its thread (5 s at most) and closes the pty.
    func stop() async {
        inbox.post(.quit)
        _ = await withTimeout(seconds: 5) { [finished] in
            var iterator = finished.makeAsyncIterator()
            _ = await iterator.next()
        }
        pty.close()
    }
}
