import Foundation

/// A child process whose standard output a benchmark reads line by line as it comes, on a thread of
/// its own (the reader never competes with the process for the concurrency pool). Stopped by its pid.
final class LineChild: @unchecked Sendable {
    // Invariant: `process` is only started in init and stopped in stop(); lines go to the handler only.
    private let process: Process
    /// The child's pid.
    var pid: Int32 { process.processIdentifier }

    /// Starts `executable` with `arguments`; `onLine` sees each line of its stdout (without the newline),
    /// and nil once the output ended. Stderr goes to `stderrPath` (nil: discarded).
    init(executable: String, arguments: [String], environment: [String: String]? = nil, stderrPath: String? = nil,
         onLine: @escaping @Sendable (String?) -> Void) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        process.standardOutput = out
        if let stderrPath, FileManager.default.createFile(atPath: stderrPath, contents: nil),
           let handle = FileHandle(forWritingAtPath: stderrPath) {
            process.standardError = handle
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        let fd = out.fileHandleForReading.fileDescriptor
        let handle = out.fileHandleForReading
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var pending: [UInt8] = []
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                var start = 0
                for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                    if pending.isEmpty {
                        onLine(String(decoding: buffer[start..<i], as: UTF8.self))
                    } else {
                        pending += buffer[start..<i]
                        onLine(String(decoding: pending, as: UTF8.self))
                        pending.removeAll(keepingCapacity: true)
                    }
                    start = i + 1
                }
                if start < n { pending += buffer[start..<n] }
            }
            if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
            onLine(nil)
            withExtendedLifetime(handle) {}
        }
    }

    /// True while the child runs.
    var isRunning: Bool { process.isRunning }

    /// Peak resident memory of the child so far, in MB (VmHWM), while it runs.
    var peakMB: Double? { ProcessMemory.peakMB(pid: pid) }

    /// CPU time the child has used so far (user + system), in seconds, while it runs.
    var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3, utime 14 and stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Stops the child by its pid: `signal` (SIGTERM), then SIGKILL after `grace`; waits for it.
    /// Returns its exit status (or the signal that ended it, negated).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async -> Int32 {
        if process.isRunning {
            kill(pid, signal)
            let deadline = ContinuousClock.now + grace
            while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }
}
