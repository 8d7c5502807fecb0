import Foundation
import Logging
import QQSession
import UnixSignals

/// Runs the full-screen console over a session: the UI thread, the session's events into the
/// inbox, the effects out, signals into a clean quit. The terminal is restored before it returns.
enum ConsoleRunner {
    /// What the console starts with besides the session.
    struct Options: Sendable {
        var banner: String?
        var settings = ConsoleState.Settings()
        var notifyCommand: [String]?
        /// What the notify command inherits (nil: qqtui's whole environment).
        var childEnvironment: [String: String]?
        var keys = KeyBindings()
        var canned: [String: String] = [:]
        /// The operator's name (recorded on what they send; other consoles show it).
        var operatorName: String = ConsoleRunner.loginName
        /// Attached to a serve (nil: the console runs its own session).
        var attached: ConsoleState.Attach?
        /// The gateway status to show before the first event.
        var gateway: GatewayStatus?
    }

    /// The login name (the default operator name).
    static var loginName: String {
        if let name = ProcessInfo.processInfo.environment["USER"], !name.isEmpty { return name }
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "operator"
    }

    /// Runs the console over its own session until the operator quits or a signal; returns the exit code.
    static func run(session: Session, agentName: String?, options: Options,
                    alongside: (@Sendable () async -> Void)? = nil) async -> Int32 {
        var options = options
        if options.gateway == nil { options.gateway = session.status }
        return await run(backend: LocalBackend(session: session, operatorName: options.operatorName), agentName: agentName,
                         options: options, alongside: alongside)
    }

    /// Runs the console over `backend` until the operator quits or a signal; returns the exit code.
    static func run(backend: any ConsoleBackend, agentName: String?, options: Options,
                    alongside: (@Sendable () async -> Void)? = nil) async -> Int32 {
        let inbox = UIInbox()
        let makeState: @Sendable () -> ConsoleState = {
            var state = ConsoleState()
            state.agentName = agentName
            state.banner = options.banner
            state.settings = options.settings
            state.keys = options.keys
            state.canned = options.canned
            state.operatorName = options.operatorName
            state.attach = options.attached
            if let gateway = options.gateway { state.gateway = gateway }
            return state
        }
        let (finished, finish) = AsyncStream.makeStream(of: Void.self)
        let notifier = Notifier(command: options.notifyCommand, environment: options.childEnvironment)
        let perform: @Sendable (Effect) -> Void = { effect in
            switch effect {
            case .quit: finish.yield()
            case .notify(let title, let body): notifier?.notify(title: title, body: body, inbox: inbox)
            case .bell, .redraw: break
            default: backend.perform(effect)
            }
        }
        // The UI thread: curses lives and dies on it.
        let (uiResult, uiDone) = AsyncStream.makeStream(of: String?.self)
        let thread = Thread {
            var failure: String?
            do {
                let loop = ConsoleLoop(inbox: inbox, state: makeState(), routes: { backend.route(for: $0) }, perform: perform)
                try loop.run()
            } catch {
                failure = "\(error)"
            }
            uiDone.yield(failure)
            uiDone.finish()
            finish.yield()
        }
        thread.name = "qqtui-ui"
        thread.stackSize = 8 << 20
        signal(SIGWINCH, SIG_IGN)
        let winch = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        winch.setEventHandler { inbox.postResize() }
        winch.resume()
        thread.start()

        let signals = Task.detached {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sighup, .sigint) { inbox.post(.quit) }
        }
        let extra = alongside.map { work in Task.detached { await work() } }
        await backend.start(inbox: inbox)

        var waiter = finished.makeAsyncIterator()
        _ = await waiter.next()
        // The operator asked to quit (or the terminal failed): the UI thread restores the terminal first.
        inbox.post(.quit)
        var results = uiResult.makeAsyncIterator()
        let failure = await results.next() ?? nil
        winch.cancel()
        extra?.cancel()
        signals.cancel()
        await backend.stop()
        if let failure {
            StandardOutput.error("qqtui: \(failure)")
            return 1
        }
        return 0
    }
}
