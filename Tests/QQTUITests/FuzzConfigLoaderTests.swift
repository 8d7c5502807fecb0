import Foundation
import FuzzSupport
@testable import QQTUI
import Testing

/// Seeded random mutations of the example config (values of the wrong type or out of range, typos,
/// duplicates, stray lines, broken bytes, deep nesting) through the loader: a config or a
/// ConfigError naming the key or the line, never a trap, never the secret in a message.
@Suite("Fuzz: config loader", Fuzz.backstop)
struct FuzzConfigLoaderTests {
    static let secret = "FuzzSecret-7c1e9a44d0b2"
    static let environment = ["QQTUI_APP_SECRET": secret, "OPENAI_API_KEY": "sk-fuzz-" + secret]

    /// The example config, with the secret inline or from the environment, the agent section on or off.
    static func base<R: RandomNumberGenerator>(_ rng: inout R) -> [String] {
        var text = ExampleConfig.text
        if rng.chance(0.5) {
            text = text.replacingOccurrences(of: #"app_secret_env = "QQTUI_APP_SECRET""#, with: #"app_secret = "\#(secret)""#)
        }
        if rng.chance(0.4) {
            let backend = rng.pick(["command", "openai", "acp", "echo", "demo"])
            text = text.replacingOccurrences(of: #"# [agent]"#, with: "[agent]")
                .replacingOccurrences(of: #"# backend = "command""#, with: #"backend = "\#(backend)""#)
        }
        return text.components(separatedBy: "\n")
    }

    /// A TOML value of any type, often of the wrong one, sometimes broken.
    static func value<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        switch Int.random(in: 0..<12, using: &rng) {
        case 0: return tomlString(Hostile.string(&rng))
        case 1: return "'" + Hostile.string(&rng).filter { $0 != "'" && $0 != "\n" && $0 != "\r" } + "'"
        case 2: return rng.pick(Hostile.numbers)
        case 3: return String(Int.random(in: .min ... .max, using: &rng))
        case 4: return rng.pick(["1.5", "-0.0", "inf", "-inf", "nan", "1e400", "6.02e23", "1_000", "0x7FFF_FFFF_FFFF_FFFF", "0o777", "0b1"])
        case 5: return rng.pick(["true", "false", "True", "yes"])
        case 6: return rng.pick(["1979-05-27T07:32:00Z", "1979-05-27", "07:32:00", "1979-05-27T00:32:00.999999-07:00"])
        case 7: return "[" + (0..<rng.small(0...3)).map { _ in value(&rng) }.joined(separator: ", ") + "]"
        case 8: return "{ a = \(value(&rng)), \(tomlString(Hostile.string(&rng, maxLength: 5))) = 1 }"
        case 9: return String(repeating: "[", count: rng.small(1...3000)) + String(repeating: "]", count: rng.small(0...3000))
        case 10: return "\"\"\"\n" + Hostile.string(&rng).replacingOccurrences(of: "\"", with: "'") + "\n\"\"\""
        default: return tomlString(String(repeating: "长", count: rng.small(1...100_000)))
        }
    }

    /// A TOML basic string.
    static func tomlString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F:
                out += String(format: "\\u%04X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One structural edit of the config's lines. The `app_secret` line is left alone: every secret
    /// loaded is registered for redaction for the life of the process, and a random one ("      ",
    /// "aaaaaa") would scrub text from every other test running beside this one.
    static func edit<R: RandomNumberGenerator>(_ lines: inout [String], _ rng: inout R) {
        let assignments = lines.indices.filter {
            lines[$0].range(of: #"^\s*[a-z_]+\s*="#, options: .regularExpression) != nil && !lines[$0].hasPrefix("app_secret =")
        }
        let i = rng.pick(assignments)
        let key = lines[i].components(separatedBy: "=")[0].trimmingCharacters(in: .whitespaces)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0, 1, 2: lines[i] = "\(key) = \(value(&rng))"
        case 3: lines[i] = lines[i].replacingOccurrences(of: key, with: rng.pick([key + "s", String(key.dropLast()), key.uppercased(), "x" + key]))
        case 4: lines.insert(lines[i], at: i)
        case 5: lines.insert(rng.pick(["[bot]", "[gateway]", "[[bot]]", "[agent]", "[unknown]", "bot = 1", "[bot.extra]", "[log", "="]),
                             at: Int.random(in: 0...lines.count, using: &rng))
        case 6: lines.remove(at: i)
        default:
            let commented = lines.indices.filter { lines[$0].hasPrefix("# ") && lines[$0].contains("=") }
            if let j = commented.isEmpty ? nil : rng.pick(commented) { lines[j] = String(lines[j].dropFirst(2)) }
        }
    }

    /// Problems every error must meet: the key or the line is named, the secret is not.
    static func checkError(_ error: any Error, secretMayShow: Bool, _ c: inout FuzzCase) {
        guard let e = error as? ConfigError else { return c.check(false, "threw \(type(of: error)), not a ConfigError: \(error)") }
        c.check(e.key != nil || e.problem.contains("line "), "names neither a key nor a line: \(e)")
        c.check(!e.problem.isEmpty, "no problem stated")
        if !secretMayShow { c.check(!e.description.contains(secret), "the secret is in the message: \(e)") }
    }

    @Test("structural edits: a config or a ConfigError that names the key or line; the secret never in the message")
    func structural() async {
        let report = await Fuzz.run("config-structural", iterations: 400) { c in
            var lines = Self.base(&c.rng)
            for _ in 0..<c.rng.small(1...4) { Self.edit(&lines, &c.rng) }
            let text = lines.joined(separator: "\n")
            c.input = text
            do {
                let config = try ConfigLoader.parse(text, file: "fuzz.toml", environment: Self.environment)
                let inline = lines.contains("app_secret = \"\(Self.secret)\"")
                let fromEnvironment = lines.contains { $0.hasPrefix("app_secret_env = \"QQTUI_APP_SECRET\"") }
                if inline != fromEnvironment {   // untouched by the edits
                    c.check(config.session.appSecret.exposedValue == Self.secret, "the secret changed")
                    c.check(config.secretInFile == inline, "secretInFile is \(config.secretInFile)")
                }
            } catch {
                Self.checkError(error, secretMayShow: false, &c)
            }
        }
        #expect(report.passed, "\(report)")
    }

    @Test("broken bytes and plain random text: a config or a ConfigError, never a trap")
    func bytes() async {
        let report = await Fuzz.run("config-bytes", iterations: 600) { c in
            let source = c.rng.chance(0.2) ? Hostile.bytes(&c.rng, maxLength: 300) : Array(Self.base(&c.rng).joined(separator: "\n").utf8)
            let text = String(decoding: c.rng.chance(0.2) ? source : Hostile.mutate(source, &c.rng), as: UTF8.self)
            c.input = text
            do {
                _ = try ConfigLoader.parse(text, file: "fuzz.toml", environment: Self.environment)
            } catch {
                // Edited bytes can move the secret into another key, whose value may be quoted.
                Self.checkError(error, secretMayShow: true, &c)
            }
        }
        #expect(report.passed, "\(report)")
    }

    /// The value of a TOML integer literal (decimal with `_`, `0x`, `0o`, `0b`), nil for anything else.
    static func tomlInteger(_ raw: String) -> Int? {
        let forms: [(pattern: String, radix: Int, prefix: Int)] = [
            (#"^[+-]?(0|[1-9](_?[0-9])*)$"#, 10, 0), (#"^0x[0-9A-Fa-f](_?[0-9A-Fa-f])*$"#, 16, 2),
            (#"^0o[0-7](_?[0-7])*$"#, 8, 2), (#"^0b[01](_?[01])*$"#, 2, 2),
        ]
        for form in forms where raw.range(of: form.pattern, options: .regularExpression) != nil {
            return Int(raw.dropFirst(form.prefix).replacingOccurrences(of: "_", with: ""), radix: form.radix)
        }
        return nil
    }

    @Test("a number setting given any value: accepted exactly when it is an integer in range, else refused naming that key")
    func ranges() async {
        let settings: [(section: String, key: String, range: ClosedRange<Int>)] = [
            ("replies", "budget", 1...100), ("replies", "retries", 0...10), ("stream", "interval_ms", 100...60_000),
            ("stream", "max_frame_length", 16...10_000), ("inbound", "dedup_window_s", 1...604_800),
            ("gateway", "hello_timeout_s", 1...600), ("handoff", "history_messages", 0...1000),
        ]
        let report = await Fuzz.run("config-ranges", iterations: 500) { c in
            let setting = c.rng.pick(settings)
            let raw = c.rng.chance(0.5) ? String(c.rng.small(-1000...1_000_000) * (c.rng.chance(0.2) ? -1 : 1)) : Self.value(&c.rng)
            let text = "[bot]\napp_id = \"1\"\napp_secret = \"\(Self.secret)\"\n[\(setting.section)]\n\(setting.key) = \(raw)\n"
            c.input = text
            let expected = Self.tomlInteger(raw).map { setting.range.contains($0) }
            do {
                _ = try ConfigLoader.parse(text, file: "fuzz.toml")
                c.check(expected == true, "\(raw) was accepted for \(setting.key)")
            } catch let e as ConfigError {
                if expected != nil || e.key != nil {
                    c.check(e.key == "\(setting.section).\(setting.key)", "refused naming \(e.key ?? "no key"): \(e)")
                    c.check(expected != true, "\(raw) is in range and was refused: \(e)")
                } else {
                    c.check(e.problem.contains("line "), "a syntax error without a line: \(e)")
                }
            } catch {
                c.check(false, "threw \(type(of: error))")
            }
        }
        #expect(report.passed, "\(report)")
    }
}
