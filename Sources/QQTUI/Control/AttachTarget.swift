import Foundation

/// Where a console finds serve: its socket on this machine, or another machine through OpenSSH
/// (`ssh HOST qqtui attach --stdio`: no network listener and no authentication of qqtui's own).
enum AttachTarget: Sendable, CustomStringConvertible {
    case socket(String)
    case ssh(host: String, remoteConfig: String?)

    /// The ssh program (`QQTUI_SSH` overrides it, like git's `GIT_SSH`).
    static var sshProgram: String {
        let env = ProcessInfo.processInfo.environment["QQTUI_SSH"] ?? ""
        return env.isEmpty ? "ssh" : env
    }

    var description: String {
        switch self {
        case .socket(let path): return path
        case .ssh(let host, _): return "ssh " + host
        }
    }

    /// Opens a link and says hello; the answer is `welcome`, `refused` or `error`.
    func open(operatorName: String, role: String = "console", sshErrors: String? = nil) throws -> (ControlLink, ServerLine) {
        let link: ControlLink
        switch self {
        case .socket(let path):
            link = try ControlLink.connect(path: path)
        case .ssh(let host, let config):
            var argv = [Self.sshProgram, "-T", "-o", "ServerAliveInterval=15", host, "qqtui", "attach", "--stdio"]
            if let config { argv += ["--config", config] }
            link = try ControlLink.spawn(argv, stderrPath: sshErrors)
        }
        do {
            return (link, try link.handshake(.hello(operatorName: operatorName, role: role)))
        } catch {
            link.close()
            throw error
        }
    }
}
