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
    }

    /// Runs until the operator quits or a signal; returns the exit code.
    static func run(session: Session, agentName: String?, options: Options,
                    alongside: (@Sendable () async -> Void)? = nil) async -> Int32 {
        let inbox = UIInbox()
        let gateway = session.status
        let makeState: @Sendable () -> ConsoleState = {
            var state = ConsoleState()
            state.agentName = agentName
            state.banner = options.banner
            state.settings = options.settings
            state.keys = options.keys
            state.canned = options.canned
            state.gateway = gateway
            return state
        }
        let (finished, finish) = AsyncStream.makeStream(of: Void.self)
        let runner = EffectRunner(session: session, store: session.store, inbox: inbox,
                                  notifier: Notifier(command: options.notifyCommand, environment: options.childEnvironment), onQuit: { finish.yield() })
        // The UI thread: curses lives and dies on it.
        let (uiResult, uiDone) = AsyncStream.makeStream(of: String?.self)
        let thread = Thread {
            var failure: String?
            do {
                let loop = ConsoleLoop(inbox: inbox, state: makeState(), routes: { session.route(for: $0) },
                                       perform: { runner.perform($0) })
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

        let forward = Task.detached {
            for await event in session.events { inbox.post(.session(event)) }
        }
        let signals = Task.detached {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sighup, .sigint) { inbox.post(.quit) }
        }
        if let store = session.store {
            Task.detached {
                do {
                    async let list = store.conversations(limit: 5000)
                    async let names = store.aliases()
                    inbox.post(.conversationsLoaded(try await list, aliases: try await names))
                } catch {
                    inbox.post(.storeFailed((error as? QQError)?.message ?? "\(error)"))
                }
            }
        }
        let extra = alongside.map { work in Task.detached { await work() } }
        await session.start()

        var waiter = finished.makeAsyncIterator()
        _ = await waiter.next()
        // The operator asked to quit (or the terminal failed): the UI thread restores the terminal first.
        inbox.post(.quit)
        var results = uiResult.makeAsyncIterator()
        let failure = await results.next() ?? nil
        winch.cancel()
        extra?.cancel()
        signals.cancel()
        await session.shutdown()
        await forward.value
        if let failure {
            StandardOutput.error("qqtui: \(failure)")
            return 1
        }
        return 0
    }
}
