import Foundation
import FuzzSupport
@testable import QQSession
import Testing

/// Seeded random token endpoint answers: decoding never traps and the lifetime believed is always sane.
@Suite("Fuzz: token answers", Fuzz.backstop)
struct FuzzTokenResponseTests {
    @Test("any answer decodes or is refused; a lifetime is 1 s to a day; a valid token comes out as sent")
    func answers() async {
        let report = await Fuzz.run("token-response", iterations: 800) { c in
            let token = Hostile.string(&c.rng, maxLength: 40)
            let expires: JSONText = c.rng.pick([.raw(c.rng.pick(Hostile.numbers)), .string(c.rng.pick(Hostile.numbers)),
                                                 .int(Int.random(in: .min ... .max, using: &c.rng)), JSONText.random(&c.rng, depth: 1)])
            let valid = JSONText.object([("access_token", .string(token)), ("expires_in", expires)]).text
            let mangle = c.rng.chance(0.4)
            let body = mangle ? Hostile.mutate(Array(valid.utf8), &c.rng) : Array(valid.utf8)
            c.input = String(decoding: body, as: UTF8.self)
            guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body)) else { return }
            c.check((1...TokenResponse.maxLifetime).contains(decoded.lifetime), "lifetime \(decoded.lifetime)")
            if !mangle, (try? JSONDecoder().decode(JSONValue.self, from: Data(body))) != nil {
                c.check(decoded.accessToken.map { Array($0.unicodeScalars) } == Array(token.unicodeScalars), "the token changed")
            }
        }
        #expect(report.passed, "\(report)")
    }
}
