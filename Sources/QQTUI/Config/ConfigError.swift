/// A configuration problem: which file, which key, what is wrong. Never contains a secret value.
struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The config file.
    var file: String
    /// The offending key, dotted (`bot.intents`), when there is one.
    var key: String?
    /// What is wrong and, where possible, how to fix it.
    var problem: String

    var description: String {
        if let key { return "config \(file): key \(key): \(problem)" }
        return "config \(file): \(problem)"
    }
}
