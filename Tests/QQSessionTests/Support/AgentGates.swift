import Foundation
import TestSupport
@testable import QQSession

/// Gates a shell agent waits at, opened by the test: the agent's steps happen when the test says, not
/// after a pause that a loaded machine may stretch. In the script, `gate NAME` blocks until the test
/// calls `open("NAME")` (a file appears; the agent polls for it).
struct AgentGates: Sendable {
    let directory: String

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qqtui-gates-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// The `gate` shell function, to put before a script.
    var prelude: String {
        "gate() { while [ ! -e '\(directory)/'\"$1\" ]; do sleep 0.01; done; }\n"
    }

    /// A command agent running `script` with `gate` defined.
    func agent(_ script: String, grace: Duration = .seconds(3)) -> CommandAgent {
        shellAgent(prelude + script, grace: grace)
    }

    /// Lets the agent past `gate name`.
    func open(_ name: String) {
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: nil)
    }
}

extension SimHarness {
    /// Waits until the agent router has taken in message `id` (it handles messages in arrival order).
    func routed(_ id: String, in conversation: ConversationID) async -> Bool {
        await eventually { await session.router.lastUserMessageID(in: conversation) == id }
    }

    /// True while an agent turn runs in the conversation.
    func busy(_ conversation: ConversationID) async -> Bool { await session.router.isBusy(conversation) }
}

extension EventRecorder {
    /// Turns started so far.
    var startedTurns: Int {
        activities.count { if case .started = $0.kind { return true }; return false }
    }

    /// Waits for `n` started turns.
    func waitForStarts(_ n: Int) async -> Bool {
        await wait { events in
            events.count { if case .agent(let a) = $0, case .started = a.kind { return true }; return false } >= n
        }
    }
}
