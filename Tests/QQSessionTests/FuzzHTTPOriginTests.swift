import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// The API client's URL splitting against Foundation's URL parser, on seeded random URLs built from
/// the pieces real and broken URLs are made of. (`QQTUI_FUZZ_SEED`, `QQTUI_FUZZ_ITERATIONS`: see FuzzRun.)
@Suite("Fuzz: the API client's URL splitting agrees with Foundation", Fuzz.backstop)
struct FuzzHTTPOriginTests {
    static func url(_ rng: inout SplitMix64) -> String {
        var url = (rng.chance(0.8) ? rng.pick(["http", "https", "HTTP", "Https"]) : rng.pick(["ftp", "", "http:", "https:/"])) + "://"
        if rng.chance(0.05) { url += rng.pick(["u:p@", "u@", "@"]) }
        url += rng.pick(["api.bot.qq.com", "API.Bot.QQ.com", "127.0.0.1", "[::1]", "[2001:db8::1]", "localhost", "a-b.c", "", "[::1", "h]"])
        if rng.chance(0.5) { url += rng.pick([":80", ":443", ":8080", ":33173", ":1", ":65535", ":0", ":65536", ":x", ":", "::80"]) }
        for _ in 0..<rng.small(0...3) {
            url += "/" + (rng.chance(0.8) ? rng.pick(["v2", "users", "U1", "messages", "%E4%BD%A0", "a%20b", "a-b_c.d~e", "", "a:b", "a@b",
                                                      "a!$&'()*+,;=b"])
                                          : rng.pick(["é", "a b", "a\"b", "a<b", "a{b}", "a|b", "a\\b", "a^b", "a`b", "[x]", "a\tb", "%", "%4", "%G0"]))
        }
        if rng.chance(0.3) { url += "?" + rng.pick(["a=1", "", "a=1&b=%E4%BD%A0", "a b", "a#b", "x=[1]", "q=é"]) }
        if rng.chance(0.05) { url += "#" + rng.pick(["", "f"]) }
        if rng.chance(0.05) { url += Hostile.string(&rng, maxLength: 6) }
        return url
    }

    @Test("what the client accepts, Foundation reads the same: scheme, host, port, path and query; plain URLs are accepted")
    func agreesWithFoundation() async {
        var accepted = 0
        let report = await Fuzz.run("http-origin", iterations: 4000) { c in
            let url = Self.url(&c.rng)
            c.input = url
            guard let (origin, target) = HTTPOrigin.split(url) else { return }
            accepted += 1
            guard let parts = URLComponents(string: url) else {
                c.check(false, "accepted what Foundation refuses")
                return
            }
            c.check(parts.scheme?.lowercased() == (origin.secure ? "https" : "http"), "scheme \(parts.scheme ?? "nil")")
            let host = (parts.percentEncodedHost ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
            c.check(host == origin.host, "host: Foundation \(host), ours \(origin.host)")
            c.check((parts.port ?? (origin.secure ? 443 : 80)) == origin.port, "port: Foundation \(parts.port.map(String.init) ?? "none"), ours \(origin.port)")
            let path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
            let expected = path + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
            c.check(target == expected, "target: Foundation \(expected), ours \(target)")
        }
        #expect(report.passed, "\(report)")
        #expect(accepted > 4000 / 5, "accepted only \(accepted) of 4000")
    }
}
