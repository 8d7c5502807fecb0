import Foundation
import QQSession

/// The UI thread: owns the terminal and the console state. It polls stdin and the inbox's wake
/// pipe, reads the terminal's bytes and decodes them into keys, applies events in batches, and draws at most 40 frames a second (25 ms apart); with
/// nothing happening it sleeps in `poll` (a tick a second only while a reply window counts down).
final class ConsoleLoop {
    /// Where the loop sends effects it does not handle itself (the runner performs them).
    typealias Perform = @Sendable (Effect) -> Void

    private let inbox: UIInbox
    private var state: ConsoleState
    private let perform: Perform
    private let routes: @Sendable (ConversationID) -> ReplyRoute?
    private var parser = TerminalInputParser()
    private var decoder = KeyDecoder()
    private let frame = Duration.milliseconds(25)
    private let openTerminal: () throws -> Terminal
    private let onFrame: FrameObserver?

    /// Told after each frame reached the terminal: the state drawn, and how long building and
    /// presenting it took (`qqtui bench` measures the console with it).
    typealias FrameObserver = (_ state: ConsoleState, _ build: Duration, _ present: Duration) -> Void

    init(inbox: UIInbox, state: ConsoleState, routes: @escaping @Sendable (ConversationID) -> ReplyRoute?, perform: @escaping Perform,
         openTerminal: @escaping () throws -> Terminal = { try Terminal.open() }, onFrame: FrameObserver? = nil) {
        self.inbox = inbox
        self.state = state
        self.routes = routes
        self.perform = perform
        self.openTerminal = openTerminal
        self.onFrame = onFrame
    }

    /// Runs until quit; the terminal is restored before it returns. Throws when the terminal cannot be opened.
    func run() throws {
        let terminal = try openTerminal()
        defer { terminal.close() }
        let size = terminal.size
        state.rows = size.rows
        state.cols = size.cols
        let clock = ContinuousClock()
        var lastFrame = clock.now - frame
        var dirty = true
        var countdown = false
        var lastTick = clock.now
        var heldSince: ContinuousClock.Instant?
        var pasteInputAt: ContinuousClock.Instant?
        var escapeSince: ContinuousClock.Instant?
        while !state.quitting {
            var timeout: Int32
            if dirty {
                timeout = Int32(max(0, ((lastFrame + frame - clock.now) / .milliseconds(1)).rounded(.up)))
            } else {
                timeout = countdown ? 1000 : -1
            }
            // Input that waits for more (a held line break, an open paste, an ESC): wake when its wait ends.
            let waits = [(heldSince, KeyDecoder.lineBreakHold), (pasteInputAt, KeyDecoder.pasteStall),
                         (escapeSince, TerminalInputParser.escapeWait)]
            for case let (since?, wait) in waits {
                let left = Int32(max(0, ((since + wait - clock.now) / .milliseconds(1)).rounded(.up)))
                timeout = timeout < 0 ? left : min(timeout, left)
            }
            var fds = [pollfd(fd: terminal.inputFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inbox.wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, timeout)
            if ready < 0, errno != EINTR { break }
            if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                // The terminal went away (the window was closed): leave as if told to.
                apply(.quit)
                break
            }
            let (events, resized) = inbox.drain()
            if resized, let size = terminal.resizeFromTTY() {
                // Applied at once, not through the decoder: a paste in progress would swallow it.
                terminal.invalidate()
                apply(.key(.resize(rows: size.rows, cols: size.cols)), terminal: terminal)
                dirty = true
            }
            var input: [RawInput] = []
            let bytes = terminal.read()
            if !bytes.isEmpty {
                input += parser.parse(bytes)
                escapeSince = parser.isWaitingForEscape ? clock.now : nil
            } else if let since = escapeSince, clock.now - since >= TerminalInputParser.escapeWait {
                // Nothing followed the ESC: it was the Esc key (or Alt with what came after it).
                input += parser.flush()
                escapeSince = nil
            }
            if !input.isEmpty {
                for key in decoder.decode(input) { apply(.key(key), terminal: terminal) }
                heldSince = decoder.holdsLineBreak ? clock.now : nil
                pasteInputAt = decoder.isPasting ? clock.now : nil
                dirty = true
            } else if !bytes.isEmpty {
                // Only the beginning of a character or a sequence came: a paste, bracketed or not, goes on.
                if pasteInputAt != nil { pasteInputAt = clock.now }
                if heldSince != nil { heldSince = clock.now }
            } else if let since = pasteInputAt, clock.now - since >= KeyDecoder.pasteStall {
                // A paste went quiet without its end marker: it ended; the keys are the operator's again.
                for key in decoder.endStalledPaste() { apply(.key(key), terminal: terminal) }
                pasteInputAt = nil
                dirty = true
            } else if let since = heldSince, clock.now - since >= KeyDecoder.lineBreakHold {
                // No more text came: the line break was the operator's Enter.
                for key in decoder.releaseHeldLineBreak() { apply(.key(key), terminal: terminal) }
                heldSince = nil
                dirty = true
            }
            if !events.isEmpty {
                for event in events { apply(event, terminal: terminal) }
                dirty = true
            }
            if let presence = state.presenceUpdate(now: Date()) { perform(presence) }
            if countdown, clock.now - lastTick >= .seconds(1) {
                lastTick = clock.now
                dirty = true
            }
            if dirty, clock.now - lastFrame >= frame {
                let now = Date()
                var sawPassive = false
                let started = clock.now
                let buffer = ConsoleView.render(state, now: now) { [routes] id in
                    let r = routes(id)
                    if r?.isPassive == true { sawPassive = true }
                    return r
                }
                let built = clock.now
                terminal.present(buffer)
                onFrame?(state, built - started, clock.now - built)
                // A shown status note or countdown needs a later frame even with nothing new.
                countdown = sawPassive || (state.note.map { $0.until > now } ?? false)
                lastFrame = clock.now
                dirty = false
            }
        }
    }

    private func apply(_ event: AppEvent, terminal: Terminal? = nil) {
        for effect in state.apply(event) {
            switch effect {
            case .bell: terminal?.bell()
            case .redraw: terminal?.invalidate()
            default: perform(effect)
            }
        }
    }
}
