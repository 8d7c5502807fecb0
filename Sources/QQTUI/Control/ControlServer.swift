import Foundation
import Logging
import NIOCore
import NIOPosix
import QQSession

/// `qqtui serve`'s control socket: a Unix domain socket, owner-only, where consoles attach
/// (``ControlLine``'s protocol). Each connection is served on its own task; nothing here can hold up
/// the session (``ServeHub`` only ever queues, boundedly).
struct ControlServer: Sendable {
    let hub: ServeHub
    let path: String
    let logger: Logger

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Binds the socket (mode 0600 in a 0700 folder). A socket left by a serve that died is replaced;
    /// one a live serve answers on is not.
    func bind() async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        guard path.utf8.count <= ControlSocketPath.maxLength else {
            throw Failure(description: "the control socket path \(path) is \(path.utf8.count) bytes long; the limit is \(ControlSocketPath.maxLength): set [serve] socket to a shorter path")
        }
        if let problem = ControlSocketPath.prepareFolder(of: path) { throw Failure(description: problem) }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw Failure(description: "\(path) exists and is not a socket: remove it or set [serve] socket")
            }
            if ControlLink.isAnswering(path) {
                throw Failure(description: "another qqtui serve listens on \(path)")
            }
            unlink(path)   // left by a serve that was killed
        }
        let maxLine = ControlProtocol.maxLine
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 32)
            .bind(unixDomainSocketPath: path) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: maxLine)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        guard chmod(path, 0o600) == 0 else {
            try? await channel.channel.close()
            throw Failure(description: "cannot make \(path) owner-only: \(String(cString: strerror(errno)))")
        }
        return channel
    }

    /// Serves connections until cancelled; the socket file is removed at the end.
    func run(_ channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async {
        defer { unlink(path) }
        await AcceptLoop.run(channel, logger: logger, what: "control socket") { await self.serve($0) }
    }

    /// One connection: `hello`, then a console's commands (or one `status` answer).
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        // A connection that says nothing is closed (it holds a file descriptor, not the session).
        let watchdog = Task {
            try await Task.sleep(for: ControlProtocol.helloTimeout)
            channel.close(promise: nil)
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var lines = inbound.makeAsyncIterator()
                func send(_ line: ServerLine) async throws {
                    try await outbound.write(ByteBuffer(data: ControlProtocol.line(line)))
                }
                guard let first = try await lines.next() else { return }
                watchdog.cancel()
                guard let hello = try? ControlProtocol.decoder.decode(ClientLine.self, from: Data(buffer: first)), hello.t == "hello" else {
                    try await send(.error("the first line must be a hello: {\"t\":\"hello\",\"protocol\":\(ControlProtocol.version),\"operator\":\"NAME\"}"))
                    return
                }
                guard hello.protocolVersion == ControlProtocol.version else {
                    let theirs = hello.protocolVersion.map(String.init) ?? "none"
                    try await send(.refused("this serve speaks control protocol \(ControlProtocol.version), the console speaks \(theirs): run the same qqtui version on both sides"))
                    return
                }
                if hello.role == "status" {
                    var line = ServerLine(t: "status")
                    line.status = await hub.status()
                    try await send(line)
                    return
                }
                let name = TextSanitizer.line(hello.operatorName ?? "").trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.count <= 64 else {
                    try await send(.refused("a console needs an operator name of 1 to 64 characters (--operator NAME)"))
                    return
                }
                let (id, queue) = hub.attach(operatorName: name)
                defer { hub.detach(id) }
                var welcome = ServerLine(t: "welcome")
                welcome.protocolVersion = ControlProtocol.version
                welcome.pid = getpid()
                welcome.console = id
                try await send(welcome)
                logger.info("console attached", metadata: ["console": "\(id)", "operator": "\(name)"])
                let writer = Task { await self.write(to: outbound, console: id, queue: queue) }
                defer { writer.cancel() }
                let commands = ConsoleCommands(hub: hub, console: id, operatorName: name, queue: queue)
                var number = 1
                var problem: String?
                do {
                    while problem == nil, let raw = try await lines.next() {
                        number += 1
                        problem = commands.handle(raw)
                    }
                } catch let tooLong as LineFrameDecoder.LineTooLong {
                    number += 1
                    problem = tooLong.description
                }
                if let problem {
                    // A console that speaks nonsense is told why and let go; the others are not touched.
                    writer.cancel()
                    queue.close()
                    try? await send(.error("line \(number): \(problem)"))
                    logger.warning("console sent a malformed line; closed", metadata: ["console": "\(id)", "problem": "\(problem)"])
                    return
                }
                logger.info("console detached", metadata: ["console": "\(id)"])
            }
        } catch {
            watchdog.cancel()
            if let tooLong = error as? LineFrameDecoder.LineTooLong {
                logger.warning("console closed", metadata: ["reason": "\(tooLong)"])
            } else {
                logger.debug("console connection ended", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Writes a console's queue as it fills: a snapshot first whenever it is due.
    private func write(to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, console id: Int, queue: ConsoleQueue) async {
        for await _ in queue.wakeups {
            while queue.hasLines && !Task.isCancelled {
                let (part, lines) = hub.next(for: id)
                do {
                    if let part {
                        var line = ServerLine(t: "snapshot")
                        line.snapshot = await hub.complete(part)
                        try await outbound.write(ByteBuffer(data: ControlProtocol.line(line)))
                    }
                    if !lines.isEmpty { try await outbound.write(contentsOf: lines.map { ByteBuffer(data: $0) }) }
                } catch {
                    return
                }
            }
        }
    }
}
