import Foundation
import QQSession

/// A child process whose standard output a benchmark reads line by line as it comes, on a thread of
/// its own (the reader never competes with the process for the concurrency pool). Stopped by its pid.
final class LineChild: @unchecked Sendable {
    // Invariant: `process` is only started in init and stopped in stop(); lines go to the handler only.
    private let process: SpawnedProcess
    /// The child's pid.
    var pid: Int32 { process.pid }

    /// Starts `executable` with `arguments`; `onLine` sees each line of its stdout (without the newline),
    /// and nil once the output ended. Stderr goes to `stderrPath` (nil: discarded).
    init(executable: String, arguments: [String], environment: [String: String]? = nil, stderrPath: String? = nil,
         onLine: @escaping @Sendable (String?) -> Void) throws {
        let out = try SpawnedProcess.pipe()
        let errFD = stderrPath.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) } ?? -1
        defer {
            close(out.write)
            if errFD >= 0 { close(errFD) }
        }
        do {
            process = try SpawnedProcess([executable] + arguments, environment: environment, stdout: out.write,
                                         stderr: errFD >= 0 ? errFD : nil)
        } catch {
            close(out.read)
            throw error
        }
        let fd = out.read
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
            close(fd)
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
    /// Returns its exit code (128 + the signal that ended it).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async -> Int32 {
        await process.stop(signal: signal, grace: grace)
    }
}
