import Foundation
@testable import QQSession
import Testing

/// How one connection attempt is taken down, without I/O: events and instants in, actions out.
@Suite("Gateway attempt machine")
struct GatewayAttemptMachineTests {
    typealias Machine = GatewayAttemptMachine<SessionClock.Instant>

    func at(_ seconds: Double) -> SessionClock.Instant { SessionClock.Instant(offset: .secondsDouble(seconds)) }

    func machine() -> Machine { Machine(connectTimeout: .seconds(10), closeGrace: .seconds(1)) }

    /// A machine that started at 0 s and was upgraded.
    func openMachine() -> Machine {
        var m = machine()
        _ = m.start(now: at(0))
        _ = m.upgraded()
        return m
    }

    @Test("start arms the connect deadline; the upgrade disarms it")
    func startAndUpgrade() {
        var m = machine()
        #expect(m.start(now: at(5)) == [.armTimer(at(15))])
        #expect(m.state == .connecting(deadline: at(15)))
        #expect(m.start(now: at(6)).isEmpty, "started once")
        #expect(m.upgraded() == [.disarmTimer])
        #expect(m.state == .open)
        #expect(m.upgraded().isEmpty)
    }

    @Test("ended before the upgrade: the event loop is stopped (cancelling cannot stop a connect), once")
    func endedBeforeUpgrade() {
        var m = machine()
        _ = m.start(now: at(0))
        // The connect deadline gives way to the grace the socket has to report after the loop stopped.
        #expect(m.connectionEnded(.forced, now: at(2)) == [.shutDownEventLoop, .armTimer(at(3))])
        #expect(m.state == .aborting(.forced, deadline: at(3)))
        #expect(m.connectionEnded(.shutdown, now: at(2)).isEmpty)
        #expect(m.upgraded().isEmpty, "an upgrade that raced the end changes nothing")
        #expect(m.timerFired(now: at(2.5)).isEmpty)
        // The loop is already stopped: finishing does not stop it again; the first cause stands.
        #expect(m.socketFinished(.failed("connection aborted")) == [.finish(.forced)])
        #expect(m.state == .finished(.forced))
    }

    @Test("connect timeout: nothing before the deadline; at it the connection ends and the loop stops")
    func connectTimeout() {
        var m = machine()
        _ = m.start(now: at(0))
        #expect(m.timerFired(now: at(9.999)).isEmpty, "not due yet")
        let timedOut = GatewayEndCause.transportError("connect timed out after 10s")
        #expect(m.timerFired(now: at(10)) == [.endConnection(timedOut), .shutDownEventLoop, .armTimer(at(11))])
        #expect(m.state == .aborting(timedOut, deadline: at(11)))
        #expect(m.connectionEnded(timedOut, now: at(10)).isEmpty, "the gate's echo of our own end")
        #expect(m.socketFinished(.failed("connection aborted")) == [.finish(timedOut)])
    }

    @Test("a connect deadline that fires after the upgrade is stale")
    func staleConnectDeadline() {
        var m = openMachine()
        #expect(m.timerFired(now: at(10)).isEmpty)
        #expect(m.state == .open)
    }

    @Test("close handshake answered: a close frame and the grace, then the peer closes")
    func closeAnswered() {
        var m = openMachine()
        #expect(m.connectionEnded(.zombie, now: at(30)) == [.sendClose, .armTimer(at(31))])
        #expect(m.state == .closing(.zombie, deadline: at(31)))
        #expect(m.connectionEnded(.forced, now: at(30.5)).isEmpty, "the first cause stands")
        #expect(m.timerFired(now: at(30.5)).isEmpty)
        // The peer answered our 4000: the attempt ended for the reason we closed it.
        #expect(m.socketFinished(.closed(code: 4000)) == [.shutDownEventLoop, .finish(.zombie)])
        #expect(m.state == .finished(.zombie))
    }

    @Test("grace over on a dead peer: the socket is cancelled and a second grace armed")
    func graceOverOnDeadPeer() {
        var m = openMachine()
        _ = m.connectionEnded(.zombie, now: at(30))
        #expect(m.timerFired(now: at(31)) == [.cancelSocket, .armTimer(at(32))])
        #expect(m.state == .dropping(.zombie, deadline: at(32)))
        // Cancelling ended the socket: its loop is still running, so it is stopped now.
        #expect(m.socketFinished(.failed("connection aborted")) == [.shutDownEventLoop, .finish(.zombie)])
    }

    @Test("kill after a second grace: a socket that even cancelling did not end has its loop stopped")
    func killAfterSecondGrace() {
        var m = openMachine()
        _ = m.connectionEnded(.reconnectRequested, now: at(30))
        _ = m.timerFired(now: at(31))
        #expect(m.timerFired(now: at(31.5)).isEmpty, "not due yet")
        #expect(m.timerFired(now: at(32)) == [.shutDownEventLoop, .armTimer(at(33))])
        #expect(m.state == .aborting(.reconnectRequested, deadline: at(33)))
        #expect(m.timerFired(now: at(32.5)).isEmpty)
        #expect(m.socketFinished(.failed("connection aborted")) == [.finish(.reconnectRequested)])
    }

    @Test("a socket stranded on its stopped event loop is let go after a grace instead of holding the attempt")
    func strandedSocketLetGo() {
        var m = machine()
        _ = m.start(now: at(0))
        _ = m.connectionEnded(.shutdown, now: at(4))
        #expect(m.timerFired(now: at(4.999)).isEmpty, "not due yet")
        #expect(m.timerFired(now: at(5)) == [.abandonSocket, .finish(.shutdown)])
        #expect(m.state == .finished(.shutdown))
        #expect(m.socketFinished(.failed("connection aborted")).isEmpty, "a late report changes nothing")
        #expect(m.timerFired(now: at(9)).isEmpty)
    }

    @Test("how the socket finished becomes the cause when nothing else ended the connection", arguments: [
        (Machine.SocketEnd.closed(code: 4009), GatewayEndCause.serverClosed(code: 4009)),
        (.closed(code: nil), .serverClosed(code: nil)),
        (.failed("WebSocket upgrade failed"), .transportError("WebSocket upgrade failed")),
    ])
    func finishedResults(end: Machine.SocketEnd, cause: GatewayEndCause) {
        var open = openMachine()
        #expect(open.socketFinished(end) == [.shutDownEventLoop, .finish(cause)])
        var connecting = machine()
        _ = connecting.start(now: at(0))
        #expect(connecting.socketFinished(end) == [.shutDownEventLoop, .finish(cause)], "refused before the upgrade")
        #expect(connecting.socketFinished(end).isEmpty, "finished once")
        #expect(connecting.connectionEnded(.forced, now: at(1)).isEmpty)
        #expect(connecting.timerFired(now: at(99)).isEmpty)
    }
}
