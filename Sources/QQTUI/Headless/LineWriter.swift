import Foundation

/// Writes lines to a file descriptor from a thread of its own: a line is written as soon as it is
/// queued (a script reading the pipe sees it at once), and lines that arrive while a write is under
/// way go out together in the next one (one system call for a burst, not one per event). A reader
/// that falls behind holds the caller back once ``limit`` bytes wait, so memory stays bounded. A
/// closed pipe drops what is left.
final class LineWriter: @unchecked Sendable {
    // Invariant: `pending`, `finished` and `broken` are only touched with `condition` locked.
    private var pending: [UInt8] = []
    private var finished = false
    private var broken = false
    /// The thread sleeps for lines / a caller sleeps for room: only then is there anyone to wake.
    private var readerWaiting = false
    private var writersWaiting = 0
    private let condition = NSCondition()
    private let done = DispatchSemaphore(value: 0)
    private let fd: Int32
    /// Bytes queued beyond which ``write(_:)`` waits for the reader. A quarter of a MiB is four pipe
    /// buffers' worth, so the reader never waits on us; the two buffers (queued, being written) kept
    /// 1.4 MB of serve's peak at 1 MiB.
    static let limit = 1 << 18

    init(fd: Int32 = STDOUT_FILENO) {
        self.fd = fd
        let thread = Thread { [self] in run() }
        thread.name = "qqtui.stdout"
        thread.start()
    }

    /// Queues `line` and a newline.
    func write(_ line: String) {
        condition.lock()
        while pending.count > Self.limit, !broken {
            writersWaiting += 1
            condition.wait()
            writersWaiting -= 1
        }
        if !broken {
            pending.append(contentsOf: line.utf8)
            pending.append(UInt8(ascii: "\n"))
        }
        if readerWaiting { condition.broadcast() }
        condition.unlock()
    }

    /// Writes what is queued, then stops the thread; returns once everything is out.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
        done.wait()
    }

    /// A line that comes within this of the last write is part of a burst (nanoseconds).
    static let burstGap: UInt64 = 2_000_000
    /// How long the thread lets a burst's lines gather before it writes them (microseconds).
    static let gather: UInt32 = 500

    private func run() {
        var chunk: [UInt8] = []
        var lastWrite: UInt64 = 0
        while true {
            condition.lock()
            while pending.isEmpty, !finished {
                readerWaiting = true
                condition.wait()
                readerWaiting = false
            }
            // In a burst, half a millisecond lets the next lines join this write: one wake-up and one
            // system call for many events, where every event woke this thread (6 % of serve's CPU
            // while answering a burst). A line after a quiet spell goes out at once.
            if !finished, writersWaiting == 0, DispatchTime.now().uptimeNanoseconds &- lastWrite < Self.burstGap {
                condition.unlock()
                usleep(Self.gather)
                condition.lock()
            }
            let last = finished && pending.isEmpty
            swap(&chunk, &pending)
            let skip = broken
            if writersWaiting > 0 { condition.broadcast() }
            condition.unlock()
            if last { break }
            lastWrite = DispatchTime.now().uptimeNanoseconds
            if !skip, !Self.writeAll(fd, chunk) {
                condition.lock()
                broken = true
                pending.removeAll()
                condition.broadcast()
                condition.unlock()
            }
            chunk.removeAll(keepingCapacity: true)
        }
        done.signal()
    }

    /// Writes all of `bytes`; false once the other end is gone.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
