import Foundation

/// The environment qqtui's children (agents and the tools they run, the notify command) start from:
/// qqtui's own without any variable that holds a secret qqtui was given — by name (`app_secret_env`,
/// `api_key_env`) and by value (the app secret or an API key found in any other variable). What a
/// config gives a child explicitly (`[agent] env`) is added on top by the child's own configuration.
public enum ChildEnvironment {
    /// `environment` without the variables named in `names` or holding one of `values` (a value of
    /// eight characters or more is also found inside a longer one, e.g. `KEY=prefix:secret`).
    public static func withholding(_ names: Set<String>, values: [String],
                                   from environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        let secrets = values.filter { !$0.isEmpty }
        return environment.filter { name, value in
            guard !names.contains(name) else { return false }
            return !secrets.contains { value == $0 || ($0.count >= 8 && value.contains($0)) }
        }
    }
}
