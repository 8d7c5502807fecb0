import CNcurses
import Foundation

/// A pseudo-terminal of a fixed size whose output is counted and thrown away: the console draws to it
/// exactly as to a real terminal, so `qqtui bench` can measure frames and the bytes they cost.
final class PseudoTerminal: @unchecked Sendable {
    /// The terminal side: the console reads from and writes to it.
    let slave: Int32
    private let master: Int32
    private let lock = NSLock()
    private var bytes = 0
    private var reader: Thread?

    /// Opens a pty of `rows` × `cols`; nil when the system has none to give.
    init?(rows: Int, cols: Int) {
        var name = [CChar](repeating: 0, count: 256)
        let master = cn_open_pty(&name, name.count)
        guard master >= 0 else { return nil }
        let slave = Glibc.open(name, O_RDWR | O_NOCTTY)
        guard slave >= 0 else {
            Glibc.close(master)
            return nil
        }
        _ = cn_tty_set_size(slave, Int32(rows), Int32(cols))
        self.master = master
        self.slave = slave
        // Drain what the console writes, or its writes would block once the pty buffer is full.
        let thread = Thread { [master] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = Glibc.read(master, &buffer, buffer.count)
                if n <= 0 { break }
                self.add(n)
            }
        }
        thread.name = "qqtui-bench-pty"
        thread.start()
        reader = thread
    }

    private func add(_ n: Int) {
        lock.lock()
        bytes += n
        lock.unlock()
    }

    /// Bytes the console has written so far.
    var bytesWritten: Int {
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }

    /// Closes both sides (the reader thread ends).
    func close() {
        Glibc.close(slave)
        Glibc.close(master)
    }
}
