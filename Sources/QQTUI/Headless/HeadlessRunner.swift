import Foundation
import Logging
import NIOCore
import QQSession
import UnixSignals

/// Runs a session without a screen until SIGINT/SIGTERM (exit 0) or a permanent OFFLINE (exit 1).
enum HeadlessRunner {
    static func run(config: AppConfig, printer: EventPrinter, banner: String?) async throws -> Int32 {
        TextWidth.ensureUTF8Locale()
        signal(SIGPIPE, SIG_IGN)
        let sink = FileLogHandler.bootstrap(path: config.logFile, level: config.logLevel)
        if !sink.isOpen { StandardOutput.error("qqtui: warning: cannot write the log file \(config.logFile); logging is off") }
        if let banner { StandardOutput.write(banner) }
        let logger = Logger(label: "qqtui.session")
        let store = try CLI.openStore(config.storePath, mode: .session, logger: Logger(label: "qqtui.store"))
        let agent = config.agent?.make()
        let session = Session(configuration: config.session, store: store, agent: agent, logger: logger)
        // Consoles attach here (`qqtui attach`, or `qqtui` with the same config).
        let hub = ServeHub(session: session, socketPath: config.socketPath, storePath: config.storePath, agentName: agent?.name,
                           queueLimit: config.consoleQueueBytes)
        let server = ControlServer(hub: hub, path: config.socketPath, logger: Logger(label: "qqtui.control"))
        let listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            listener = try await server.bind()
        } catch {
            StandardOutput.error("qqtui: control socket: \(error)")
            _ = await CLI.closeStore(store)
            return 73
        }
        StandardOutput.error("qqtui: consoles attach at \(config.socketPath) (qqtui attach --config \(config.source))")
        let code = await run(session: session, printer: printer, exitWhenOffline: true, observe: { hub.publish($0) }) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await server.run(listener) }
                group.addTask {
                    // A passive window that ends turns the consoles' countdown into the next route.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        hub.refreshExpiredRoutes()
                    }
                }
            }
        }
        unlink(config.socketPath)   // consoles see serve gone at once, not a socket that refuses
        // Unsaved changes make the run a failure (EX_IOERR) even after a clean signal.
        return await CLI.closeStore(store) ? code : 74
    }

    /// Prints `session`'s events until a signal; `exitWhenOffline` ends with 1 on a permanent OFFLINE.
    static func run(session: Session, printer: EventPrinter, exitWhenOffline: Bool,
                    observe: (@Sendable (SessionEvent) -> Void)? = nil,
                    alongside: (@Sendable () async -> Void)? = nil) async -> Int32 {
        let (outcome, outcomeContinuation) = AsyncStream.makeStream(of: Int32.self)
        let output = LineWriter()
        let printing = Task {
            var lastPhase: GatewayStatus.Phase?
            for await event in session.events {
                observe?(event)
                // One line per state change: heartbeat RTT updates alone are not printed.
                if case .gateway(let status) = event {
                    if status.phase == lastPhase { continue }
                    lastPhase = status.phase
                }
                if let line = printer.line(for: event) { output.write(line) }
                if exitWhenOffline, case .gateway(let status) = event, case .offline(let reason) = status.phase {
                    StandardOutput.error("qqtui: offline: \(reason)")
                    outcomeContinuation.yield(1)
                }
            }
        }
        let signals = Task {
            let sequence = await UnixSignalsSequence(trapping: .sigint, .sigterm)
            for await _ in sequence {
                outcomeContinuation.yield(0)
                return
            }
        }
        let extra = alongside.map { work in Task { await work() } }
        await session.start()
        var iterator = outcome.makeAsyncIterator()
        let code = await iterator.next() ?? 0
        extra?.cancel()
        signals.cancel()
        await session.shutdown()
        await printing.value
        output.finish()
        return code
    }
}
